/* The request-head reader on pipelined requests, heads cut by the end of the stream, odd
 * request lines, and Content-Length values as Python's int() reads them. */
#include <string.h>

#include "gw_http.h"
#include "gw_test.h"

static gw_http_request out[8];
static size_t count, consumed;

static int parse(const char *s) {
    return gw_http_parse_requests((const uint8_t *)s, strlen(s), out, 8, &count, &consumed, 4300);
}

static int span_is(const char *s, gw_span sp, const char *want) {
    return sp.off >= 0 && (size_t)sp.len == strlen(want) && memcmp(s + sp.off, want, (size_t)sp.len) == 0;
}

static void test_pipelined(void) {
    const char *s = "\r\nGET /a HTTP/1.1\r\nhOsT :  a.example \r\nContent-Length: 2\r\nHost: b\r\n\r\n{}"
                    "\r\nPOST /b HTTP/1.0\nContent-Type: x/y\n\nPUT /c";
    CHECK_EQ(parse(s), GW_HTTP_OK);
    CHECK_EQ(count, 2);
    CHECK(span_is(s, out[0].method, "GET"));
    CHECK(span_is(s, out[0].host, "a.example"));
    CHECK(span_is(s, out[1].content_type, "x/y"));
    CHECK_EQ(out[1].host.off, -1);
    CHECK_EQ(consumed, strlen(s) - 6); /* the cut head waits for more */
    CHECK_EQ(gw_http_parse_requests((const uint8_t *)s, strlen(s), out, 1, &count, &consumed, 0), GW_HTTP_FULL);
}

static void test_request_lines(void) {
    CHECK(gw_http_starts_request((const uint8_t *)"GET ", 4));
    CHECK(!gw_http_starts_request((const uint8_t *)"GET", 3));
    CHECK(gw_http_starts_request((const uint8_t *)"FOO /x RTSP/1.0\r\n", 17));
    CHECK(!gw_http_starts_request((const uint8_t *)"FOO HTTP/1.0\r\n", 14));
    CHECK(!gw_http_starts_request((const uint8_t *)"FOO /x HTTP/1.0 \r\n", 18));
    CHECK(!gw_http_starts_request((const uint8_t *)"get / HTTP/1.1", 14));
    CHECK_EQ(parse("GET\r\n\r\n"), GW_HTTP_OK);
    CHECK_EQ(count, 0);
    CHECK_EQ(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), GW_HTTP_OK);
    CHECK_EQ(count, 0);
    const char *s = "GET /only\r\n\r\n";
    CHECK_EQ(parse(s), GW_HTTP_OK);
    CHECK_EQ(count, 1);
    CHECK(span_is(s, out[0].uri, "/only"));
    CHECK_EQ(out[0].version.len, 0);
}

static void test_content_lengths(void) {
    static const struct {
        const char *value;
        size_t consumed_after_head;
    } cases[] = {{"3", 3}, {"+3", 3}, {"1_0", 5}, {"_3", 0}, {"3_", 0}, {"1__0", 0}, {"-3", 0}, {"0x3", 0},
                 {"\xa0 3\x85", 3}, {"99999999999999999999999", 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char s[128];
        size_t head = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\nContent-Length:%s\r\n\r\n", cases[i].value);
        memcpy(s + head, "abcde", 6);
        CHECK_EQ(parse(s), GW_HTTP_OK);
        CHECK_EQ(consumed, head + cases[i].consumed_after_head);
    }
}

int main(void) {
    test_pipelined();
    test_request_lines();
    test_content_lengths();
    return GW_TEST_END();
}
