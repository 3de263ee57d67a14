/* HTTP request heads, read as http.py reads them: the same request-line test, the same head
 * boundaries, lines split as str.replace("\r\n", "\n").split("\n") splits them, header names
 * and values trimmed as str.strip() trims latin-1 text. */
#include "gw_http.h"

#define BIG_BODY ((int64_t)1 << 52) /* past any stream: a Content-Length above it ends the walk */

static const char *const METHODS[] = {
    "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "DESCRIBE", "SETUP",
    "PLAY", "PAUSE", "TEARDOWN", "ANNOUNCE", "RECORD", "GET_PARAMETER", "SET_PARAMETER", "REDIRECT",
    "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
    "LOCK", "UNLOCK"};

/* RFC 9110 tchar, as http.py's TOKEN class lists it. */
static int is_tchar(uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* str.isspace() over latin-1 text. */
static int is_space(uint8_t c) {
    return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int is_method(const uint8_t *d, size_t k) {
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (strlen(METHODS[i]) == k && memcmp(METHODS[i], d, k) == 0) return 1;
    return 0;
}

/* " HTTP/d.d" or " RTSP/d.d" at d[p, p + 9). */
static int version_at(const uint8_t *d, size_t p) {
    return d[p] == ' ' && (memcmp(d + p + 1, "HTTP/", 5) == 0 || memcmp(d + p + 1, "RTSP/", 5) == 0) &&
           is_digit(d[p + 6]) && d[p + 7] == '.' && is_digit(d[p + 8]);
}

int gw_http_starts_request(const uint8_t *d, size_t n) {
    size_t k = 0;
    while (k < n && k < GW_HTTP_MAX_METHOD && is_tchar(d[k])) k++;
    if (k == 0 || k >= n || d[k] != ' ') return 0;
    if (is_method(d, k)) return 1;
    size_t start = k + 1;
    const uint8_t *nl = memchr(d + start, '\n', n - start);
    if (nl == NULL) return 0;
    size_t line_end = (size_t)(nl - d);
    /* the version ends the line, optionally before one CR, and starts at or after start */
    if (line_end >= start + 9 && version_at(d, line_end - 9)) return 1;
    return line_end >= start + 10 && d[line_end - 1] == '\r' && version_at(d, line_end - 10);
}

/* The first place pat occurs wholly inside s[from, to), or -1. */
static int64_t find(const uint8_t *s, size_t from, size_t to, const char *pat, size_t len) {
    while (from + len <= to) {
        const uint8_t *hit = memchr(s + from, pat[0], to - from - len + 1);
        if (hit == NULL) return -1;
        from = (size_t)(hit - s);
        if (memcmp(hit, pat, len) == 0) return (int64_t)from;
        from++;
    }
    return -1;
}

static gw_span span(size_t a, size_t b) {
    gw_span out = {(int32_t)a, (int32_t)(b - a)};
    return out;
}

static gw_span trimmed(const uint8_t *s, size_t a, size_t b) {
    while (a < b && is_space(s[a])) a++;
    while (b > a && is_space(s[b - 1])) b--;
    return span(a, b);
}

static int name_is(const uint8_t *s, gw_span name, const char *want) {
    if ((size_t)name.len != strlen(want)) return 0;
    for (int32_t i = 0; i < name.len; i++) {
        uint8_t c = s[name.off + i];
        if (c >= 'A' && c <= 'Z') c = (uint8_t)(c + 32);
        if (c != (uint8_t)want[i]) return 0;
    }
    return 1;
}

/* Python's int(value) for a Content-Length (sign, digits, single underscores between digits,
 * at most max_digits digits); 0 where int() raises, and for negative values (max(body, 0)). */
static int64_t content_length(const uint8_t *v, size_t len, int64_t max_digits) {
    size_t i = 0;
    int negative = 0, after_digit = 0;
    int64_t value = 0, digits = 0;
    if (i < len && (v[i] == '+' || v[i] == '-')) negative = v[i++] == '-';
    if (i == len) return 0;
    for (; i < len; i++) {
        if (v[i] == '_' && after_digit) {
            after_digit = 0;
            continue;
        }
        if (!is_digit(v[i])) return 0;
        after_digit = 1;
        digits++;
        value = value > BIG_BODY ? BIG_BODY + 1 : value * 10 + (v[i] - '0');
    }
    if (!after_digit || (max_digits > 0 && digits > max_digits)) return 0;
    return negative ? 0 : value;
}

/* http.py _parse_head over s[a, b): 0 when the request line has no space (not a request). */
static int parse_head(const uint8_t *s, size_t a, size_t b, gw_http_request *r, int64_t *body, int64_t max_digits) {
    gw_span none = {-1, 0}, length = none;
    size_t line = a;
    r->host = r->content_type = r->upgrade = none;
    for (int first = 1; line <= b; first = 0) {
        const uint8_t *nl = memchr(s + line, '\n', b - line);
        size_t stop = nl ? (size_t)(nl - s) : b, next = stop + 1;
        if (nl && stop > line && s[stop - 1] == '\r') stop--; /* "\r\n" -> "\n" */
        if (first) {
            const uint8_t *sp1 = memchr(s + line, ' ', stop - line);
            if (sp1 == NULL) return 0;
            size_t m = (size_t)(sp1 - s), u = m + 1;
            const uint8_t *sp2 = memchr(s + u, ' ', stop - u);
            size_t ue = sp2 ? (size_t)(sp2 - s) : stop;
            r->method = span(line, m);
            r->uri = span(u, ue);
            if (sp2 == NULL) {
                r->version = span(stop, stop);
            } else {
                const uint8_t *sp3 = memchr(s + ue + 1, ' ', stop - ue - 1);
                r->version = span(ue + 1, sp3 ? (size_t)(sp3 - s) : stop);
            }
        } else {
            const uint8_t *colon = memchr(s + line, ':', stop - line);
            if (colon != NULL) {
                size_t c = (size_t)(colon - s);
                gw_span name = trimmed(s, line, c), value = trimmed(s, c + 1, stop);
                if (r->host.off < 0 && name_is(s, name, "host")) r->host = value;
                if (r->content_type.off < 0 && name_is(s, name, "content-type")) r->content_type = value;
                if (r->upgrade.off < 0 && name_is(s, name, "upgrade")) r->upgrade = value;
                if (length.off < 0 && name_is(s, name, "content-length")) length = value;
            }
        }
        if (nl == NULL) break;
        line = next;
    }
    *body = length.off < 0 ? 0 : content_length(s + length.off, (size_t)length.len, max_digits);
    return 1;
}

static size_t skip_blank_lines(const uint8_t *s, size_t n, size_t pos) {
    while (pos < n && (s[pos] == '\r' || s[pos] == '\n')) pos++;
    return pos;
}

int gw_http_parse_requests(const uint8_t *s, size_t n, gw_http_request *out, size_t cap, size_t *count,
                           size_t *consumed, int64_t max_digits) {
    size_t pos = skip_blank_lines(s, n, 0), sep;
    *count = 0;
    while (pos < n && gw_http_starts_request(s + pos, n - pos < GW_HTTP_MAX_LINE ? n - pos : GW_HTTP_MAX_LINE)) {
        if (n - pos >= 14 && memcmp(s + pos, "PRI * HTTP/2.0", 14) == 0) break; /* HTTP/2: h2.py reads it */
        size_t limit = n - pos < GW_HTTP_MAX_HEAD ? n : pos + GW_HTTP_MAX_HEAD;
        int64_t end = find(s, pos, limit, "\r\n\r\n", 4);
        sep = 4;
        if (end < 0) end = find(s, pos, limit, "\n\n", 2), sep = 2;
        if (end < 0) break;
        if (*count == cap) return GW_HTTP_FULL;
        int64_t body = 0;
        if (!parse_head(s, pos, (size_t)end, &out[*count], &body, max_digits)) break;
        (*count)++;
        if (body >= (int64_t)(n - (size_t)end - sep)) { /* the body runs to the end, or past it */
            pos = n;
            break;
        }
        pos = skip_blank_lines(s, n, (size_t)end + sep + (size_t)body);
    }
    *consumed = pos < n ? pos : n;
    return GW_HTTP_OK;
}
