/* The ClientHello extractor on hand-built records: a hello whole and split over records, its
 * prefixes, and the hostile cases (lengths past the end, wrong types, oversized records). */
#include <string.h>

#include "gw_test.h"
#include "gw_tls.h"

/* A ClientHello with SNI "a.example" and ALPN h2, http/1.1, as one handshake message. */
static size_t build_hello(uint8_t *m) {
    static const uint8_t ext[] = {
        0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
        0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    size_t n = 0;
    m[n++] = 1;
    n += 3; /* length, set below */
    m[n++] = 3;
    m[n++] = 3;
    memset(m + n, 0x11, 32);
    n += 32;
    m[n++] = 0;                      /* session id */
    m[n++] = 0, m[n++] = 2;          /* cipher suites */
    m[n++] = 0x13, m[n++] = 0x01;
    m[n++] = 1, m[n++] = 0;          /* compression */
    m[n++] = 0, m[n++] = sizeof ext; /* extensions */
    memcpy(m + n, ext, sizeof ext);
    n += sizeof ext;
    m[1] = 0, m[2] = (uint8_t)((n - 4) >> 8), m[3] = (uint8_t)(n - 4);
    return n;
}

static size_t record(uint8_t *out, const uint8_t *body, size_t len) {
    out[0] = 22, out[1] = 3, out[2] = 1, out[3] = (uint8_t)(len >> 8), out[4] = (uint8_t)len;
    memcpy(out + 5, body, len);
    return 5 + len;
}

static void test_whole_and_split(void) {
    uint8_t hello[256], stream[512], scratch[512];
    gw_tls_hello out;
    size_t n = build_hello(hello);
    size_t s = record(stream, hello, n);
    CHECK_EQ(gw_tls_hello_from_records(stream, s, scratch, sizeof scratch, &out), GW_TLS_HELLO);
    CHECK_EQ(out.version, 0x0303);
    CHECK_EQ(out.sni_len, 9);
    CHECK(memcmp(scratch + out.sni_off, "a.example", 9) == 0);
    CHECK_EQ(out.alpn_count, 2);
    CHECK(memcmp(scratch + out.alpn_off[1], "http/1.1", 8) == 0);
    /* the same hello over two records, and every prefix of it needs more */
    s = record(stream, hello, 10);
    s += record(stream + s, hello + 10, n - 10);
    CHECK_EQ(gw_tls_hello_from_records(stream, s, scratch, sizeof scratch, &out), GW_TLS_HELLO);
    CHECK_EQ(out.sni_len, 9);
    for (size_t cut = 0; cut < s; cut++)
        CHECK_EQ(gw_tls_hello_from_records(stream, cut, scratch, sizeof scratch, &out), GW_TLS_NEED_MORE);
    CHECK_EQ(gw_tls_hello_from_records(stream, s, scratch, s - 1, &out), GW_TLS_BAD_ARGS);
}

static void test_hostile(void) {
    uint8_t hello[256], stream[512], scratch[512];
    gw_tls_hello out;
    size_t n = build_hello(hello);
    size_t s = record(stream, hello, n);
    stream[0] = 23;
    CHECK_EQ(gw_tls_hello_from_records(stream, s, scratch, sizeof scratch, &out), GW_TLS_NOT_RECORD);
    stream[0] = 22, stream[3] = 0x48, stream[4] = 0x01; /* 18433 bytes: over the record limit */
    CHECK_EQ(gw_tls_hello_from_records(stream, s, scratch, sizeof scratch, &out), GW_TLS_NOT_RECORD);
    s = record(stream, hello, n);
    stream[5] = 2;
    CHECK_EQ(gw_tls_hello_from_records(stream, s, scratch, sizeof scratch, &out), GW_TLS_NOT_HELLO_FIRST);
    CHECK_EQ(gw_tls_hello_from_records(stream, 9, scratch, sizeof scratch, &out), GW_TLS_NOT_HELLO_FIRST);
    CHECK_EQ(gw_tls_parse_client_hello(hello + 0, 0, &out), GW_TLS_PAST_END);
    hello[0] = 2;
    CHECK_EQ(gw_tls_parse_client_hello(hello, n, &out), GW_TLS_NOT_HELLO);
    hello[0] = 1;
    /* every truncation of the message itself runs past its end, or stops before extensions */
    for (size_t cut = 1; cut < n; cut++) {
        int verdict = gw_tls_parse_client_hello(hello, cut, &out);
        CHECK(verdict == GW_TLS_PAST_END || verdict == GW_TLS_HELLO);
    }
    hello[n - 28] = 0xff; /* the SNI name length past the extension's end */
    CHECK_EQ(gw_tls_parse_client_hello(hello, n, &out), GW_TLS_PAST_END);
}

static void test_many_alpn_names(void) {
    uint8_t m[1024];
    gw_tls_hello out;
    size_t n = build_hello(m);
    size_t names = GW_TLS_MAX_ALPN + 1, list = 2 * names;
    size_t e = n - 36; /* start of the extensions block */
    m[e - 2] = 0, m[e - 1] = (uint8_t)(4 + 2 + list);
    m[e] = 0, m[e + 1] = 16, m[e + 2] = 0, m[e + 3] = (uint8_t)(2 + list);
    m[e + 4] = 0, m[e + 5] = (uint8_t)list;
    for (size_t i = 0; i < names; i++) m[e + 6 + 2 * i] = 1, m[e + 7 + 2 * i] = 'x';
    n = e + 6 + list;
    m[2] = (uint8_t)((n - 4) >> 8), m[3] = (uint8_t)(n - 4);
    CHECK_EQ(gw_tls_parse_client_hello(m, n, &out), GW_TLS_TOO_MANY_ALPN);
}

int main(void) {
    test_whole_and_split();
    test_hostile();
    test_many_alpn_names();
    return GW_TEST_END();
}
