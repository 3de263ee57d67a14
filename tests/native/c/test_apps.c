/* The inspector's prefilter on a hand-built batch: DNS by port, a QUIC Initial, a Google QUIC
 * public header, TCP client bytes by flow mode, a mid-stream responder, and bad indexes. */
#include <string.h>

#include "gw_apps.h"
#include "gw_test.h"

enum { NEW = 0, IGNORE = 1, TLS = 2, HTTP = 3, PENDING = 4, QUIC = 5, DONE = 6 };

static const uint32_t versions[] = {1, 0x6b3343cf};
static const uint32_t prefixes[] = {0x47455420 /* "GET " */, 0x504f5354 /* "POST" */};
static const gw_apps_rules rules = {NEW, TLS, HTTP, PENDING, QUIC, 6, 17, 2, 53, versions, 2, prefixes, 2};

int main(void) {
    uint8_t data[160] = {0};
    memcpy(data + 0, "\xc3\x00\x00\x00\x01", 5);      /* QUIC v1 long header */
    memcpy(data + 20, "\x09\x01\x02\x03\x04\x05\x06\x07\x08Q0", 11); /* gQUIC public header */
    memcpy(data + 40, "GET /", 5);
    memcpy(data + 60, "HELLO", 5);
    memcpy(data + 80, "hello", 5);
    const uint8_t proto[] = {17, 17, 6, 6, 6, 17, 6};
    const int64_t captured[] = {30, 20, 10, 10, 10, 40, 10};
    const int64_t payload[] = {0, 20, 40, 60, 80, 100, 155}; /* the last reads min(155, 155) */
    const uint16_t sport[] = {5000, 5001, 5002, 5003, 5004, 53, 5006}, dport[] = {443, 443, 80, 80, 80, 5005, 80};
    const int64_t rows[] = {0, 1, 2, 3, 4, 5, 6}, slots[] = {0, 1, 2, 3, 4, 5, 6};
    const uint8_t is_orig[] = {1, 1, 1, 1, 0, 0, 1}, in_order[] = {0, 0, 1, 1, 1, 0, 0}, moved[7] = {0};
    const uint8_t mode[] = {NEW, QUIC, HTTP, HTTP, NEW, NEW, NEW};
    const uint8_t flags[14] = {0};
    gw_apps_batch b = {data, sizeof data, proto, captured, payload, sport, dport, 7,
                       rows, slots, is_orig, in_order, moved, 7, mode, flags, 7};
    int64_t picked[7], kinds[7];
    size_t count;
    CHECK_EQ(gw_apps_select(&b, &rules, picked, kinds, &count), GW_APPS_OK);
    /* 0 QUIC, 1 gQUIC, 2 GET in an HTTP flow, 3 capitals in an HTTP flow, 4 a mid-stream
     * responder (no SYN), 5 DNS from port 53; 6 is TCP but not in order */
    CHECK_EQ(count, 6);
    const int64_t want[] = {GW_KIND_QUIC, GW_KIND_GQUIC, GW_KIND_TCP, GW_KIND_TCP, GW_KIND_TCP, GW_KIND_DNS};
    for (size_t i = 0; i < 6 && i < count; i++) {
        CHECK_EQ(picked[i], (int64_t)i);
        CHECK_EQ(kinds[i], want[i]);
    }
    uint8_t syn_flags[14] = {0};
    syn_flags[8] = 2; /* slot 4 saw its originator's SYN: its responder is not the client */
    b.flags = syn_flags;
    CHECK_EQ(gw_apps_select(&b, &rules, picked, kinds, &count), GW_APPS_OK);
    CHECK_EQ(count, 5);
    b.flags = flags;
    const int64_t bad_rows[] = {0, 1, 2, 3, 4, 5, 7};
    b.rows = bad_rows;
    CHECK_EQ(gw_apps_select(&b, &rules, picked, kinds, &count), GW_APPS_BAD_INDEX);
    b.rows = rows;
    b.data_len = 4;
    CHECK_EQ(gw_apps_select(&b, &rules, picked, kinds, &count), GW_APPS_BAD_INDEX);
    return GW_TEST_END();
}
