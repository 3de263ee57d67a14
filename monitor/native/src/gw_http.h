/* HTTP/1.x (and RTSP) request heads: the C twin of monitor/net/app/http.py parse_requests
 * (request line split on spaces, Host, Content-Type, Upgrade, Content-Length read as Python's
 * int() reads it), same limits (MAX_HEAD, MAX_LINE, MAX_METHOD). Spans index the stream. */
#ifndef GW_HTTP_H
#define GW_HTTP_H
#include "gw_common.h"

enum { GW_HTTP_OK = 0, GW_HTTP_FULL = 1 /* more requests than out holds: read in Python */ };

#define GW_HTTP_MAX_HEAD 16384
#define GW_HTTP_MAX_LINE 8192
#define GW_HTTP_MAX_METHOD 32

typedef struct {
    int32_t off, len; /* off < 0: absent (None) */
} gw_span;

typedef struct {
    gw_span method, uri, version, host, content_type, upgrade;
} gw_http_request;

/* Whether d[0, n) (n <= MAX_LINE is the caller's bound) starts a request line. */
int gw_http_starts_request(const uint8_t *d, size_t n);

/* Every complete request head in s[0, n): *count requests in out, *consumed bytes read.
 * max_digits: Python's int max str digits (0: no limit), for Content-Length. */
int gw_http_parse_requests(const uint8_t *s, size_t n, gw_http_request *out, size_t cap, size_t *count,
                           size_t *consumed, int64_t max_digits);
#endif
