/* gw_flowjson alone: Python's float repr, inet_ntop's text, and one whole line. */
#include <string.h>

#include "gw_flowjson.h"
#include "gw_test.h"

static int double_is(double value, const char *expected) {
    char out[GW_DOUBLE_MAX + 1];
    int n = gw_format_double(value, out);
    out[n] = 0;
    if (strcmp(out, expected))
        fprintf(stderr, "double: %s != %s\n", out, expected);
    return !strcmp(out, expected);
}

static int address_is(uint8_t version, uint64_t hi, uint64_t lo, const char *expected) {
    char out[GW_ADDRESS_MAX + 1];
    int n = gw_format_address(version, hi, lo, out);
    out[n] = 0;
    if (strcmp(out, expected))
        fprintf(stderr, "address: %s != %s\n", out, expected);
    return !strcmp(out, expected);
}

static void test_doubles(void) {
    CHECK(double_is(0.0, "0.0"));
    CHECK(double_is(1700000000.0, "1700000000.0"));
    CHECK(double_is(1700000000.123456789, "1700000000.1234567"));
    CHECK(double_is(0.1, "0.1"));
    CHECK(double_is(1e-06, "1e-06"));
    CHECK(double_is(0.0001, "0.0001"));
    CHECK(double_is(1e16, "1e+16"));
    CHECK(double_is(1234567890123456.0, "1234567890123456.0"));
    CHECK(double_is(-2.5, "-2.5"));
    CHECK(double_is(9.223372036854776e18, "9.223372036854776e+18"));
    CHECK(double_is(-9.223372036854776e9, "-9223372036.854776"));
    CHECK(double_is(5.9604644775390625e-08, "5.960464477539063e-08")); /* 2^-24: the 16 digits above */
    CHECK(double_is(5.684341886080801486968994140625e-14, "5.684341886080802e-14")); /* 2^-44 */
    CHECK(double_is(5e-324, "5e-324"));
    CHECK(double_is(1.7976931348623157e308, "1.7976931348623157e+308"));
}

static void test_addresses(void) {
    CHECK(address_is(4, 0, 0x0A000002, "10.0.0.2"));
    CHECK(address_is(4, 0, 0xFFFFFFFF, "255.255.255.255"));
    CHECK(address_is(6, 0, 1, "::1"));
    CHECK(address_is(6, 0, 0, "::"));
    CHECK(address_is(6, 0x20010db800000000ULL, 1, "2001:db8::1"));
    CHECK(address_is(6, 0, 0x0000ffff0a000001ULL, "::ffff:10.0.0.1"));
    CHECK(address_is(6, 0, 0x000000000a000001ULL, "::10.0.0.1"));
    CHECK(address_is(6, 0x0001000000000000ULL, 0x0000000000000001ULL, "1::1"));
    CHECK(address_is(6, 0x0001000000010000ULL, 0x0000000100000001ULL, "1:0:1::1:0:1"));
    CHECK(address_is(6, 0xfe80000000000000ULL, 0, "fe80::"));
}

static gw_text_column one_text(const char *text, const int64_t *offsets, const int64_t *index) {
    gw_text_column column = {(const uint8_t *)text, (int64_t)strlen(text), offsets, 1, index};
    return column;
}

static void test_line(void) {
    int64_t first = 1700000000000000000LL, last = 1700000001500000000LL, id = 7, port_o = 40000, port_r = 443;
    int64_t pkts = 3, bytes = 180, zero = 0, index = 0;
    uint8_t proto = 6, version = 4, flags_o = 0x1b, flags_r = 0x12;
    uint64_t hi = 0, orig = 0x0A000002, resp = 0x08080808;
    uint32_t vlan = 0;
    int64_t off_c[] = {0, 6}, off_d[] = {0, 10}, off_n[] = {0, 4}, off_e[] = {0, 0};
    gw_flow_columns c = {1, &first, &last, &id, &proto, &version, &hi, &orig, &hi, &resp, &port_o, &port_r, &vlan,
                         &pkts, &bytes, &zero, &zero, &pkts, &zero, &flags_o, &flags_r,
                         one_text("\"1:ab\"", off_c, &index), one_text("\"outbound\"", off_d, &index),
                         one_text("null", off_n, &index), one_text("[]  ", off_n, &index), one_text("", off_e, &index),
                         one_text("", off_e, &index), (const uint8_t *)"\"end\"", 5};
    c.names.offsets = (const int64_t[]){0, 2};
    CHECK_EQ(gw_text_column_check(&c.community, 1), 0);
    int64_t bad_index = 1;
    gw_text_column bad = one_text("x", off_c, &bad_index);
    CHECK(gw_text_column_check(&bad, 1) != 0);
    uint8_t out[2048];
    int64_t ends[1];
    CHECK_EQ(gw_flowjson_write(&c, out, 10, ends), -1);
    int64_t n = gw_flowjson_write(&c, out, sizeof out, ends);
    const char *expected =
        "{\"ts\": 1700000000.0, \"flow_id\": 7, \"community_id\": \"1:ab\", \"proto\": \"tcp\", \"orig_h\": \"10.0.0.2\", "
        "\"orig_p\": 40000, \"resp_h\": \"8.8.8.8\", \"resp_p\": 443, \"vlan\": null, \"direction\": \"outbound\", "
        "\"orig_pkts\": 3, \"orig_ip_bytes\": 180, \"resp_pkts\": 0, \"resp_ip_bytes\": 0, \"orig_bytes\": 3, "
        "\"resp_bytes\": 0, \"first_seen\": 1700000000.0, \"last_seen\": 1700000001.5, \"duration\": 1.5, "
        "\"app_proto\": null, \"names\": [], \"reason\": \"end\", \"tcp_flags_orig\": \"1b\", \"tcp_flags_resp\": \"12\"}\n";
    CHECK_EQ(n, (int64_t)strlen(expected));
    CHECK_EQ(ends[0], n);
    CHECK(n > 0 && memcmp(out, expected, (size_t)n) == 0);
}

int main(void) {
    test_doubles();
    test_addresses();
    test_line();
    return GW_TEST_END();
}
