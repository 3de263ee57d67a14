/* gw_pcap_walk alone: both byte orders, both time units, a record cut by the chunk end, a
 * damaged length, full columns. */
#include <string.h>

#include "gw_pcap.h"
#include "gw_test.h"

static void put32(uint8_t *p, uint32_t v, int big) {
    for (int i = 0; i < 4; i++)
        p[big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

/* A 16-byte record header then caplen bytes of 0xAB at buf+at; returns the next position. */
static int64_t record(uint8_t *buf, int64_t at, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen, int big) {
    put32(buf + at, sec, big);
    put32(buf + at + 4, frac, big);
    put32(buf + at + 8, caplen, big);
    put32(buf + at + 12, wirelen, big);
    memset(buf + at + 16, 0xAB, caplen);
    return at + 16 + caplen;
}

#define CAP 8
static int64_t offset[CAP], ts[CAP];
static int32_t caplen[CAP], wirelen[CAP];
static gw_pcap_columns columns(int64_t capacity) {
    gw_pcap_columns c = {offset, caplen, wirelen, ts, capacity};
    return c;
}

static void test_both_orders_and_units(void) {
    for (int big = 0; big < 2; big++) {
        uint8_t buf[256];
        int64_t end = record(buf, 0, 10, 5, 20, 60, big);
        end = record(buf, end, 11, 7, 3, 1, big); /* wirelen below caplen: raised to it */
        gw_pcap_format format = {big, 1000, 262144};
        gw_pcap_columns out = columns(CAP);
        int64_t rows = -1, stop = -1;
        CHECK_EQ(gw_pcap_walk(buf, end, 0, &format, &out, &rows, &stop), GW_PCAP_NEED_MORE);
        CHECK_EQ(rows, 2);
        CHECK_EQ(stop, end);
        CHECK_EQ(offset[0], 16);
        CHECK_EQ(offset[1], 52);
        CHECK_EQ(caplen[0], 20);
        CHECK_EQ(wirelen[0], 60);
        CHECK_EQ(wirelen[1], 3);
        CHECK_EQ(ts[0], 10000005000LL);
        format.ns_per_tick = 1;
        gw_pcap_walk(buf, end, 0, &format, &out, &rows, &stop);
        CHECK_EQ(ts[1], 11000000007LL);
    }
}

static void test_cut_record_waits_for_more(void) {
    uint8_t buf[128];
    int64_t end = record(buf, 0, 1, 0, 10, 10, 0);
    record(buf, end, 1, 0, 40, 40, 0);
    gw_pcap_format format = {0, 1000, 262144};
    gw_pcap_columns out = columns(CAP);
    int64_t rows, stop;
    /* The chunk ends inside the second record's bytes, then inside its header. */
    CHECK_EQ(gw_pcap_walk(buf, end + 30, 0, &format, &out, &rows, &stop), GW_PCAP_NEED_MORE);
    CHECK_EQ(rows, 1);
    CHECK_EQ(stop, end);
    CHECK_EQ(gw_pcap_walk(buf, end + 15, 0, &format, &out, &rows, &stop), GW_PCAP_NEED_MORE);
    CHECK_EQ(stop, end);
    CHECK_EQ(gw_pcap_walk(buf, 0, 0, &format, &out, &rows, &stop), GW_PCAP_NEED_MORE);
    CHECK_EQ(rows, 0);
}

static void test_damaged_length_and_full_columns(void) {
    uint8_t buf[128];
    int64_t end = record(buf, 0, 1, 0, 0, 0, 1); /* a zero-length record is a record */
    int64_t damaged = end;
    record(buf, end, 1, 0, 0, 0, 1);
    put32(buf + damaged + 8, 0xFFFFFFFFu, 1);
    gw_pcap_format format = {1, 1, 262144};
    gw_pcap_columns out = columns(CAP);
    int64_t rows, stop;
    CHECK_EQ(gw_pcap_walk(buf, damaged + 16, 0, &format, &out, &rows, &stop), GW_PCAP_DAMAGED);
    CHECK_EQ(rows, 1);
    CHECK_EQ(stop, damaged);
    out = columns(0);
    CHECK_EQ(gw_pcap_walk(buf, damaged, 0, &format, &out, &rows, &stop), GW_PCAP_FULL);
    CHECK_EQ(stop, 0);
}

int main(void) {
    test_both_orders_and_units();
    test_cut_record_waits_for_more();
    test_damaged_length_and_full_columns();
    return GW_TEST_END();
}
