/* gw_candump alone: line bounds with blanks stripped, and template lines parsed or refused. */
#include <string.h>

#include "gw_candump.h"
#include "gw_test.h"

static int64_t lines_of(const char *text, uint8_t *buf, int64_t *starts, int64_t *ends, int64_t *index, int64_t *kept) {
    size_t len = strlen(text);
    memset(buf, 0, 8 + len + 1 + 64);
    memcpy(buf + 8, text, len);
    buf[8 + len] = '\n';
    return gw_candump_lines(buf, (int64_t)(8 + len + 1 + 64), 8, (int64_t)(8 + len + 1), starts, ends, index, kept, 16);
}

/* The general parser: every kind of frame, and one line per reason. */
static void test_general(void) {
    uint8_t buf[1024];
    int64_t starts[16], ends[16], index[16], kept = 0;
    const char *text = "(1.5) can1 123##31122 R\n(2.5) vcan0 1#r4 T\n(3.5) c 20000080#00\n"
                       "1.5) can0 1#\n(1.5)can0 1#\n(x.5) can0 1#\n(1.5) can0 123\n(1.5) can0 123456789#\n"
                       "(1.5) can0 1##G\n(1.5) can0 1#R12\n(1.5) can0 1#123\n(1.5) can0 1#001122334455667788\n"
                       "(1.5) can0 1#0g\n(1.5) can0 1#00 X\n(.5) can0 1#00";
    CHECK_EQ(lines_of(text, buf, starts, ends, index, &kept), 15);
    enum { N = 15 };
    double ts[N];
    uint32_t ids[N];
    uint8_t ext[N], rtr[N], err[N], fd[N], brs[N], esi[N], rx[N], dlc[N], data[N * 64], error[N], located[N], slow[N];
    int64_t ch_start[N], ch_end[N];
    memset(data, 0, sizeof data);
    gw_candump_general out = {ts, ids, ext, rtr, err, fd, brs, esi, rx, dlc, data, error, located, slow, ch_start, ch_end};
    CHECK_EQ(gw_candump_general_lines(buf, (int64_t)sizeof buf, starts, ends, kept, &out), 4);
    CHECK_EQ(error[0], 0);
    CHECK_EQ(fd[0], 1);
    CHECK_EQ(brs[0], 1);
    CHECK_EQ(esi[0], 1);
    CHECK_EQ(dlc[0], 2);
    CHECK_EQ(data[0], 0x11);
    CHECK_EQ(rx[0], 1);
    CHECK_EQ(ch_end[0] - ch_start[0], 4);
    CHECK_EQ(error[1], 0);
    CHECK_EQ(rtr[1], 1);
    CHECK_EQ(dlc[1], 4);
    CHECK_EQ(rx[1], 0);
    CHECK_EQ(error[2], 0);
    CHECK_EQ(err[2], 1);
    CHECK_EQ(ids[2], 0x80);
    CHECK_EQ(ext[2], 1);
    const uint8_t reasons[] = {GW_CANDUMP_E_OPEN, GW_CANDUMP_E_CHANNEL, GW_CANDUMP_E_TS, GW_CANDUMP_E_HASH, GW_CANDUMP_E_ID,
                               GW_CANDUMP_E_FD, GW_CANDUMP_E_RTR, GW_CANDUMP_E_ODD, GW_CANDUMP_E_LEN, GW_CANDUMP_E_HEX,
                               GW_CANDUMP_E_TAIL};
    for (int k = 0; k < 11; k++) CHECK_EQ(error[3 + k], reasons[k]);
    CHECK_EQ(error[14], 0); /* no integer digits: Python's float() decides */
    CHECK_EQ(slow[14], 1);
    int64_t far[1] = {1023};
    CHECK_EQ(gw_candump_general_lines(buf, (int64_t)sizeof buf, starts, far, 1, &out), -1);
}

int main(void) {
    uint8_t buf[512];
    int64_t starts[16], ends[16], index[16], kept = 0;
    const char *text = "(1.5) can0 123#11\n\n  \t(2.25) can0 12345678#A0B1  \r\n(3.5) can0 12#11\n"
                       "(4.5) can0 123#\x10\x19\n(5.5) can0 123#1G\n(6.5) can1 123#11";
    CHECK_EQ(lines_of(text, buf, starts, ends, index, &kept), 7);
    CHECK_EQ(gw_candump_count_lines(buf, (int64_t)sizeof buf, 8, 8 + (int64_t)strlen(text) + 1), 7);
    CHECK_EQ(gw_candump_count_lines(buf, 10, 0, 20), -1);
    CHECK_EQ(kept, 6);
    CHECK_EQ(index[1], 2);                   /* the blank line is counted, not kept */
    CHECK_EQ(buf[starts[1]], '(');           /* leading blanks stripped */
    CHECK_EQ(buf[ends[1] - 1], '1');         /* trailing blanks and CR stripped */

    double ts[6];
    uint32_t ids[6];
    uint8_t ext[6], err[6], dlc[6], data[6 * 64], mask[6];
    memset(data, 0, sizeof data);
    gw_candump_template tpl = {1, 1, (const uint8_t *)"can0", 4};
    gw_candump_columns out = {ts, ids, ext, err, dlc, data, mask};
    CHECK_EQ(gw_candump_template_lines(buf, (int64_t)sizeof buf, starts, ends, kept, &tpl, &out), 2);
    CHECK_EQ(mask[0], 1);
    CHECK(ts[0] == 1.5);
    CHECK_EQ(ids[0], 0x123);
    CHECK_EQ(ext[0], 0);
    CHECK_EQ(dlc[0], 1);
    CHECK_EQ(data[0], 0x11);
    CHECK_EQ(mask[1], 0); /* two fraction digits: off the template */
    CHECK_EQ(mask[2], 0); /* two-digit id */
    CHECK_EQ(mask[3], 1); /* bytes 0x10..0x19 are hex digits to the reference's SWAR test */
    CHECK_EQ(data[3 * 64], 0x09);
    CHECK_EQ(mask[4], 0); /* 'G' */
    CHECK_EQ(mask[5], 0); /* another channel */

    gw_candump_template wide = {1, 2, (const uint8_t *)"can0", 4};
    CHECK_EQ(gw_candump_template_lines(buf, (int64_t)sizeof buf, starts, ends, kept, &wide, &out), 1);
    CHECK_EQ(mask[1], 1);
    CHECK(ts[1] == 2.25);
    CHECK_EQ(ids[1], 0x12345678);
    CHECK_EQ(ext[1], 1);
    CHECK_EQ(dlc[1], 2);
    CHECK_EQ(data[64], 0xA0);
    CHECK_EQ(data[65], 0xB1);

    /* refused: a malformed template, bounds outside the buffer, more lines than room */
    gw_candump_template bad = {11, 1, (const uint8_t *)"can0", 4};
    CHECK_EQ(gw_candump_template_lines(buf, (int64_t)sizeof buf, starts, ends, kept, &bad, &out), -1);
    int64_t far_end[1] = {1000};
    CHECK_EQ(gw_candump_template_lines(buf, (int64_t)sizeof buf, starts, far_end, 1, &tpl, &out), -1);
    CHECK_EQ(gw_candump_lines(buf, 10, 0, 20, starts, ends, index, &kept, 16), -1);
    CHECK_EQ(gw_candump_lines(buf, (int64_t)sizeof buf, 8, 200, starts, ends, index, &kept, 2), -1);
    test_general();
    return GW_TEST_END();
}
