/* gw_asc: frame lines read, other lines skipped, doubtful lines handed back, newlines as
 * Python's text mode cuts them, unfinished lines left for the next read. */
#include "canlog_test_frames.h"
#include "gw_asc.h"
#include "gw_test.h"

static int parse(test_frames *t, const char *text, int at_eof, size_t *pos, size_t *end, size_t *next) {
    gw_asc_options options = {16, 100.0, 1024};
    uint64_t lines = 0;
    return gw_asc_parse((const uint8_t *)text, strlen(text), at_eof, &options, &t->f, pos, end, next, &lines);
}

int main(void) {
    test_frames t;
    size_t pos = 0, end = 0, next = 0;
    test_frames_init(&t, 8);
    const char *text =
        "   0.015991 1  123             Rx   d 2 01 02\r\n"
        "// a comment\r"
        "   1.5 2  1FFFFFFFx   Tx   r 4\n"
        "   2.25 CANFD 1 Rx 7ff  name 1 0 9 12 1 2 3 4 5 6 7 8 9 a b c 0 0\n"
        "   3.0 1 ErrorFrame\n"
        "   4.0 Start of measurement\n";
    CHECK_EQ(parse(&t, text, 1, &pos, &end, &next), GW_ASC_DONE);
    CHECK_EQ(t.f.n, 4);
    CHECK(t.ts[0] == 0.015991 + 100.0);
    CHECK_EQ(t.id[0], 0x123);
    CHECK_EQ(t.dlc[0], 2);
    CHECK_EQ(t.data[1], 2);
    CHECK_EQ(t.rx[0], 1);
    CHECK_EQ(t.id[1], 0x1FFFFFFF);
    CHECK_EQ(t.ext[1], 1);
    CHECK_EQ(t.rtr[1], 1);
    CHECK_EQ(t.dlc[1], 4);
    CHECK_EQ(t.rx[1], 0);
    CHECK_EQ(t.ch[1], 1);
    CHECK_EQ(t.chans[1], 1); /* channel "2" is python-can's 1 */
    CHECK_EQ(t.fd[2], 1);
    CHECK_EQ(t.brs[2], 1);
    CHECK_EQ(t.dlc[2], 12);
    CHECK_EQ(t.data[2 * 64 + 11], 0xc);
    CHECK_EQ(t.err[3], 1);
    CHECK_EQ(t.ext[3], 1);

    /* a data byte python-can's int() would refuse goes back to the caller, whole line */
    test_frames_init(&t, 8);
    pos = 0;
    const char *bad = "0.1 1 123 Rx d 2 01 0G\nnext\n";
    CHECK_EQ(parse(&t, bad, 1, &pos, &end, &next), GW_ASC_LINE);
    CHECK_EQ(pos, 0);
    CHECK_EQ(end, 22);
    CHECK_EQ(next, 23);
    CHECK_EQ(t.f.n, 0);

    /* a DLC/length mismatch (python-can warns), non-ASCII, a trigger date: the caller's */
    const char *doubtful[] = {"0.1 CANFD 1 Rx 1 0 0 9 8 1 2 3 4 5 6 7 8\n", "0.1 1 123 Rx d 1 \xc3\xa4\n",
                              "Begin Triggerblock Sam Sep 30 15:06:13.191 2017\n", "0.1 1 0x12 Rx d 0\n"};
    for (size_t i = 0; i < sizeof doubtful / sizeof *doubtful; i++) {
        pos = 0;
        CHECK_EQ(parse(&t, doubtful[i], 1, &pos, &end, &next), GW_ASC_LINE);
    }

    /* an unfinished line ("\r" may be half of "\r\n") waits for more */
    test_frames_init(&t, 8);
    pos = 0;
    CHECK_EQ(parse(&t, "0.1 1 1 Rx d 0\r", 0, &pos, &end, &next), GW_ASC_MORE);
    CHECK_EQ(pos, 0);
    CHECK_EQ(parse(&t, "0.1 1 1 Rx d 0", 1, &pos, &end, &next), GW_ASC_DONE);
    CHECK_EQ(t.f.n, 1);

    /* full columns stop before the next line */
    test_frames_init(&t, 1);
    pos = 0;
    CHECK_EQ(parse(&t, "0.1 1 1 Rx d 0\n0.2 1 2 Rx d 0\n", 1, &pos, &end, &next), GW_ASC_FULL);
    CHECK_EQ(pos, 15);
    return GW_TEST_END();
}
