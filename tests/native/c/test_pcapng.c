/* gw_pcapng_walk alone: packet blocks of both byte orders into rows, the raw-time bound,
 * hand-offs (section, interface, damage) and a block cut by the chunk end. */
#include <string.h>

#include "gw_pcapng.h"
#include "gw_test.h"

static void put32(uint8_t *p, uint32_t v, int big) {
    for (int i = 0; i < 4; i++)
        p[big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

/* An EPB of caplen bytes at buf+at on interface ifid; returns the next position. */
static int64_t epb(uint8_t *buf, int64_t at, uint32_t ifid, uint32_t hi, uint32_t lo, uint32_t caplen, int big) {
    uint32_t len = 32 + ((caplen + 3) & ~3u);
    memset(buf + at, 0, len);
    put32(buf + at, 6, big);
    put32(buf + at + 4, len, big);
    put32(buf + at + 8, ifid, big);
    put32(buf + at + 12, hi, big);
    put32(buf + at + 16, lo, big);
    put32(buf + at + 20, caplen, big);
    put32(buf + at + 24, caplen + 10, big);
    put32(buf + at + len - 4, len, big);
    return at + len;
}

static int64_t rows[8 * GW_PCAPNG_ROW];

static void test_packet_blocks_and_times(void) {
    for (int big = 0; big < 2; big++) {
        uint8_t buf[256];
        int64_t end = epb(buf, 0, 1, 0, 5, 6, big);
        end = epb(buf, end, 0, 0x3FFFFFFF, 0xFFFFFFFF, 0, big); /* 2^62 - 1: the largest kept */
        end = epb(buf, end, 0, 0x40000000, 0, 0, big);          /* 2^62: out of range */
        gw_pcapng_state s = {big, 0, 2, 0, 1 << 30};
        int64_t count, stop;
        CHECK_EQ(gw_pcapng_walk(buf, end, 0, &s, rows, 8, &count, &stop), GW_PCAPNG_NEED_MORE);
        CHECK_EQ(count, 3);
        CHECK_EQ(stop, end);
        CHECK_EQ(rows[0], 28);
        CHECK_EQ(rows[1], 6);
        CHECK_EQ(rows[2], 16);
        CHECK_EQ(rows[3], 5);
        CHECK_EQ(rows[4], 1);
        CHECK_EQ(rows[GW_PCAPNG_ROW + 3], ((int64_t)1 << 62) - 1);
        CHECK_EQ(rows[2 * GW_PCAPNG_ROW + 3], GW_PCAPNG_OUT_OF_RANGE);
    }
}

static void test_hand_offs_and_cuts(void) {
    uint8_t buf[256];
    int64_t first = epb(buf, 0, 0, 0, 1, 4, 0);
    int64_t end = epb(buf, first, 3, 0, 1, 4, 0); /* interface 3 of 2: damaged, for Python */
    gw_pcapng_state s = {0, 0, 2, 0, 1 << 30};
    int64_t count, stop;
    CHECK_EQ(gw_pcapng_walk(buf, end, 0, &s, rows, 8, &count, &stop), GW_PCAPNG_HANDOFF);
    CHECK_EQ(count, 1);
    CHECK_EQ(stop, first);
    /* Cut by the chunk end, it is waited for before it is read. */
    CHECK_EQ(gw_pcapng_walk(buf, end - 1, first, &s, rows, 8, &count, &stop), GW_PCAPNG_NEED_MORE);
    CHECK_EQ(stop, first);
    s.interfaces = 4;
    put32(buf + 4, 30, 0); /* a length that is no multiple of 4 */
    CHECK_EQ(gw_pcapng_walk(buf, end, 0, &s, rows, 8, &count, &stop), GW_PCAPNG_HANDOFF);
    CHECK_EQ(stop, 0);
    put32(buf + 4, (uint32_t)first, 0);
    put32(buf, 1, 0); /* an interface block */
    CHECK_EQ(gw_pcapng_walk(buf, end, 0, &s, rows, 8, &count, &stop), GW_PCAPNG_HANDOFF);
    put32(buf, 0x0BAD, 0); /* an unknown block is skipped */
    CHECK_EQ(gw_pcapng_walk(buf, end, 0, &s, rows, 8, &count, &stop), GW_PCAPNG_NEED_MORE);
    CHECK_EQ(count, 1);
    CHECK_EQ(rows[4], 3);
    s.file_size = end - 4; /* a block past the end of the file is damage */
    CHECK_EQ(gw_pcapng_walk(buf, end, 0, &s, rows, 8, &count, &stop), GW_PCAPNG_HANDOFF);
    CHECK_EQ(stop, first);
    s.file_size = 1 << 30;
    CHECK_EQ(gw_pcapng_walk(buf, end, first, &s, rows, 0, &count, &stop), GW_PCAPNG_FULL);
}

int main(void) {
    test_packet_blocks_and_times();
    test_hand_offs_and_cuts();
    return GW_TEST_END();
}
