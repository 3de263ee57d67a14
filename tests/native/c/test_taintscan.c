/* The taint scan's inner loops: candidate offsets (padding included), range merging, words as
 * degrees in every encoding and byte order, the latitude test, hostile offsets. */
#include <math.h>
#include <string.h>

#include "gw_taintscan.h"
#include "gw_test.h"

static uint8_t first_map[256], second_map[256], table[65536];

static void want(unsigned pair_low_byte, unsigned pair_high_byte, uint8_t bit) {
    first_map[pair_low_byte] |= bit;
    second_map[pair_high_byte] |= bit;
    table[pair_low_byte | (pair_high_byte << 8)] |= bit;
}

static void test_candidates(void) {
    memset(first_map, 0, sizeof first_map), memset(second_map, 0, sizeof second_map), memset(table, 0, sizeof table);
    want(0x02, 0xE1, 1); /* 48 degrees x1e6 big-endian starts 02 DE..: any pair stands in here */
    want(0x00, 0x00, 4); /* a latitude near zero: zero bytes, the padding's too */
    first_map[0x02] |= 8; /* a map bit without a table entry: no candidate */
    second_map[0x05] |= 8;
    const uint8_t buf[11] = {0x02, 0xE1, 0x02, 0x05, 0x11, 0x00, 0x00, 0x33, 0x02, 0xE1, 0x00};
    int64_t at[32];
    uint8_t flags[32];
    int64_t n = gw_taint_candidates(buf, sizeof buf, first_map, second_map, table, at, flags, 32);
    /* 0 (02 E1), 5 (00 00), 8 (02 E1), 10 (00 + padding), 11..15 (padding up to 16) */
    CHECK_EQ(n, 9);
    CHECK(at[0] == 0 && flags[0] == 1);
    CHECK(at[1] == 5 && flags[1] == 4);
    CHECK(at[2] == 8 && flags[2] == 1);
    CHECK(at[3] == 10 && flags[3] == 4);
    CHECK(at[8] == 15);
    CHECK_EQ(gw_taint_candidates(buf, sizeof buf, first_map, second_map, table, at, flags, 2), 9); /* counted past capacity */
    CHECK_EQ(at[2], 8); /* untouched past the room given */
    CHECK_EQ(gw_taint_candidates(buf, 0, first_map, second_map, table, at, flags, 32), 8); /* empty: padding only */
}

static void test_merge(void) {
    double low[6] = {1.0, 1.5, 3.0, 4.0, NAN, 10.0}, high[6] = {2.0, 2.5, 2.0, 5.0, 1.0, 10.0};
    int64_t n = gw_taint_merge(low, high, 6);
    CHECK_EQ(n, 3);
    CHECK(low[0] == 1.0 && high[0] == 2.5);
    CHECK(low[1] == 4.0 && high[1] == 5.0);
    CHECK(low[2] == 10.0 && high[2] == 10.0);
    CHECK_EQ(gw_taint_merge(low, high, 0), 0);
}

static void test_degrees(void) {
    const uint8_t be[4] = {0x02, 0xDE, 0x34, 0x80}; /* 48.116864 x1e6 */
    const uint8_t le[4] = {0x80, 0x34, 0xDE, 0x02};
    CHECK(gw_taint_degrees(be, 4, 1, GW_TAINT_INT, 1e6) == 48116864 / 1e6);
    CHECK(gw_taint_degrees(le, 4, 0, GW_TAINT_INT, 1e6) == 48116864 / 1e6);
    const uint8_t negative[4] = {0xFF, 0xFF, 0xFF, 0xFE};
    CHECK(gw_taint_degrees(negative, 4, 1, GW_TAINT_INT, 1e7) == -2 / 1e7);
    CHECK(gw_taint_degrees(negative, 4, 1, GW_TAINT_MAG, 1e6) == 4294967294.0 / 1e6);
    CHECK(gw_taint_degrees(negative, 4, 1, GW_TAINT_J1939, 1e7) == 4294967294.0 * 1e-7 - 210.0);
    float f = -33.5f;
    uint8_t fbytes[4];
    memcpy(fbytes, &f, 4); /* host order: little-endian on every target the tests run on */
    uint8_t flip[4] = {fbytes[3], fbytes[2], fbytes[1], fbytes[0]};
    const uint16_t probe = 1;
    int little = *(const uint8_t *)&probe == 1;
    CHECK(gw_taint_degrees(little ? fbytes : flip, 4, 0, GW_TAINT_FLOAT, 1) == -33.5);
    CHECK(gw_taint_degrees(little ? flip : fbytes, 4, 1, GW_TAINT_FLOAT, 1) == -33.5);
    const uint8_t d_be[8] = {0x40, 0x66, 0x7F, 0xFF, 0xDE, 0x72, 0x6A, 0x1E}; /* about 179.99999 */
    uint8_t d_le[8];
    for (int i = 0; i < 8; i++)
        d_le[i] = d_be[7 - i];
    double from_be = gw_taint_degrees(d_be, 8, 1, GW_TAINT_FLOAT, 1);
    CHECK(from_be > 179.9 && from_be < 180.0);
    CHECK(gw_taint_degrees(d_le, 8, 0, GW_TAINT_FLOAT, 1) == from_be);
    const uint8_t nan_bits[4] = {0x7F, 0xC0, 0x00, 0x00};
    CHECK(isnan(gw_taint_degrees(nan_bits, 4, 1, GW_TAINT_FLOAT, 1)));
}

static void test_latitude_rows(void) {
    const uint8_t buf[12] = {0x02, 0xDE, 0x34, 0x80, 0xFF, 0xFF, 0xFF, 0xFE, 0x7F, 0xC0, 0x00, 0x00};
    double sorted_low[2] = {-0.001, 48.0}, sorted_high[2] = {0.0, 48.2};
    CHECK_EQ(gw_taint_merge(sorted_low, sorted_high, 2), 2);
    const int64_t at[7] = {0, 4, 8, 9, -1, 1 << 30, 1};
    int64_t rows[7];
    int64_t n = gw_taint_latitude_rows(buf, sizeof buf, at, 7, 4, 1, GW_TAINT_INT, 1e6, sorted_low, sorted_high, 2, rows);
    CHECK_EQ(n, 2); /* 48.116864 and -0.000002; 9 does not fit, -1 and 2^30 are outside */
    CHECK(rows[0] == 0 && rows[1] == 1);
    n = gw_taint_latitude_rows(buf, sizeof buf, at, 7, 4, 1, GW_TAINT_FLOAT, 1, sorted_low, sorted_high, 2, rows);
    CHECK_EQ(n, 0); /* the NaN at 8 is in no range */
    n = gw_taint_latitude_rows(buf, sizeof buf, at, 7, 8, 1, GW_TAINT_FLOAT, 1, sorted_low, sorted_high, 0, rows);
    CHECK_EQ(n, 0); /* no ranges */
}

static void test_text_windows(void) {
    const char *text = "1.23 xx.5 48.1371540,11.5761240 ....9.9 end 7.77";
    size_t size = strlen(text);
    int64_t start[8], end[8];
    int64_t n = gw_taint_text_windows((const uint8_t *)text, size, 12, 48, start, end, 8);
    /* dots with a digit before and two after: 1 (1.23), 12, 23, 45 (not 5 in xx.5, nor 9.9's: one digit after) */
    CHECK_EQ(n, 1); /* all within 48 bytes of each other: one window */
    CHECK(start[0] == 0 && end[0] == (int64_t)size);
    n = gw_taint_text_windows((const uint8_t *)text, size, 2, 3, start, end, 8);
    CHECK_EQ(n, 4); /* 1.23 | 48.137 | 11.576 | 7.77 (the last clipped at the end) */
    CHECK(start[0] == 0 && end[0] == 4);
    CHECK(start[1] == 10 && end[1] == 15);
    CHECK(start[2] == 21 && end[2] == 26);
    CHECK(start[3] == 43 && end[3] == (int64_t)size);
    CHECK_EQ(gw_taint_text_windows((const uint8_t *)text, size, 2, 3, start, end, 1), 4); /* counted past capacity */
    CHECK_EQ(gw_taint_text_windows((const uint8_t *)"1.23", 4, 12, 48, start, end, 8), 1); /* the dot at 1 <= size - 3 */
    CHECK(start[0] == 0 && end[0] == 4);
    CHECK_EQ(gw_taint_text_windows((const uint8_t *)"1.2", 3, 12, 48, start, end, 8), 0);
    CHECK_EQ(gw_taint_text_windows((const uint8_t *)"x1.23", 5, 12, 48, start, end, 8), 1);
    CHECK_EQ(gw_taint_text_windows((const uint8_t *)"..", 2, 12, 48, start, end, 8), 0);
}

int main(void) {
    test_candidates();
    test_merge();
    test_degrees();
    test_latitude_rows();
    test_text_windows();
    return GW_TEST_END();
}
