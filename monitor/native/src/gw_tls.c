/* TLS ClientHello extractor, read exactly as monitor/net/app/tls.py reads it: every field
 * bounds-checked against the message, the last server_name and ALPN extensions win. */
#include "gw_tls.h"

#define CLIENT_HELLO 1
#define HANDSHAKE 22
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16

/* A cursor over [0, n): the Python _Reader, failing instead of raising. */
typedef struct {
    const uint8_t *data;
    size_t n, pos;
} reader;

static int take(reader *r, size_t count, size_t *at) {
    if (count > r->n - r->pos) return 0;
    *at = r->pos;
    r->pos += count;
    return 1;
}

static int u8(reader *r, uint32_t *v) {
    size_t at;
    if (!take(r, 1, &at)) return 0;
    *v = r->data[at];
    return 1;
}

static int u16(reader *r, uint32_t *v) {
    size_t at;
    if (!take(r, 2, &at)) return 0;
    *v = gw_be16(r->data + at);
    return 1;
}

/* The first host_name entry of a server_name extension body at [start, start + len). */
static int server_name(const uint8_t *msg, size_t start, size_t len, gw_tls_hello *out) {
    reader r = {msg + start, len, 0};
    uint32_t list_len, kind, name_len;
    size_t at;
    out->sni_off = -1;
    out->sni_len = 0;
    if (!u16(&r, &list_len)) return 0;
    size_t end = 2 + (size_t)list_len;
    while (r.pos + 3 <= end) {
        if (!u8(&r, &kind) || !u16(&r, &name_len) || !take(&r, name_len, &at)) return 0;
        if (kind == 0) {
            out->sni_off = (int32_t)(start + at);
            out->sni_len = (int32_t)name_len;
            return 1;
        }
    }
    return 1;
}

/* The protocol names of an ALPN extension body; *overflow when out cannot hold them all. */
static int alpn(const uint8_t *msg, size_t start, size_t len, gw_tls_hello *out, int *overflow) {
    reader r = {msg + start, len, 0};
    uint32_t list_len, name_len;
    size_t at;
    out->alpn_count = 0;
    *overflow = 0;
    if (!u16(&r, &list_len)) return 0;
    size_t end = 2 + (size_t)list_len;
    while (r.pos < end) {
        if (!u8(&r, &name_len) || !take(&r, name_len, &at)) return 0;
        if (out->alpn_count == GW_TLS_MAX_ALPN) {
            *overflow = 1;
            continue;
        }
        out->alpn_off[out->alpn_count] = (int32_t)(start + at);
        out->alpn_len[out->alpn_count] = (int32_t)name_len;
        out->alpn_count++;
    }
    return 1;
}

int gw_tls_parse_client_hello(const uint8_t *msg, size_t n, gw_tls_hello *out) {
    reader r = {msg, n, 0};
    uint32_t type, version, len, ext_type, ext_len;
    size_t at, ext_end;
    int overflow = 0;
    out->version = 0;
    out->sni_off = -1;
    out->sni_len = 0;
    out->alpn_count = 0;
    if (!u8(&r, &type)) return GW_TLS_PAST_END;
    if (type != CLIENT_HELLO) return GW_TLS_NOT_HELLO;
    if (!take(&r, 3, &at) || !u16(&r, &version)) return GW_TLS_PAST_END;
    out->version = (int32_t)version;
    if (!take(&r, 32, &at)) return GW_TLS_PAST_END;                    /* random */
    if (!u8(&r, &len) || !take(&r, len, &at)) return GW_TLS_PAST_END;  /* session id */
    if (!u16(&r, &len) || !take(&r, len, &at)) return GW_TLS_PAST_END; /* cipher suites */
    if (!u8(&r, &len) || !take(&r, len, &at)) return GW_TLS_PAST_END;  /* compression */
    if (r.n - r.pos < 2) return GW_TLS_HELLO;                            /* no extensions */
    /* tls.py reads `end = r.pos + r.u16()`: the position before the length field, so the
     * extensions are taken to end two bytes early. Mirrored, so both paths give one verdict. */
    ext_end = r.pos;
    if (!u16(&r, &len)) return GW_TLS_PAST_END;
    ext_end += len;
    while (r.pos + 4 <= ext_end) {
        if (!u16(&r, &ext_type) || !u16(&r, &ext_len) || !take(&r, ext_len, &at)) return GW_TLS_PAST_END;
        if (ext_type == EXT_SERVER_NAME && !server_name(msg, at, ext_len, out)) return GW_TLS_PAST_END;
        if (ext_type == EXT_ALPN && !alpn(msg, at, ext_len, out, &overflow)) return GW_TLS_PAST_END;
    }
    return overflow ? GW_TLS_TOO_MANY_ALPN : GW_TLS_HELLO;
}

/* The handshake message's verdict once its 4-byte header is in: a ClientHello within the
 * size limit, else not TLS. */
static int header_ok(const uint8_t *hs, size_t have) {
    if (have < 4) return 1;
    uint32_t length = ((uint32_t)hs[1] << 16) | ((uint32_t)hs[2] << 8) | hs[3];
    return hs[0] == CLIENT_HELLO && length <= GW_TLS_MAX_HELLO;
}

int gw_tls_hello_from_records(const uint8_t *stream, size_t n, uint8_t *scratch, size_t cap,
                              gw_tls_hello *out) {
    size_t have = 0, pos = 0;
    if (cap < n) return GW_TLS_BAD_ARGS;
    for (;;) {
        if (have >= 4) {
            if (!header_ok(scratch, have)) return GW_TLS_NOT_HELLO_FIRST;
            size_t length = ((size_t)scratch[1] << 16) | ((size_t)scratch[2] << 8) | scratch[3];
            if (have >= 4 + length) return gw_tls_parse_client_hello(scratch, 4 + length, out);
        }
        if (n - pos < 5) return GW_TLS_NEED_MORE;
        size_t record_len = gw_be16(stream + pos + 3);
        if (stream[pos] != HANDSHAKE || stream[pos + 1] != 3 || record_len > GW_TLS_MAX_RECORD)
            return GW_TLS_NOT_RECORD;
        if (record_len > n - pos - 5) { /* the record is cut: what there is of it */
            memcpy(scratch + have, stream + pos + 5, n - pos - 5);
            have += n - pos - 5;
            if (have >= 4 && scratch[0] != CLIENT_HELLO) return GW_TLS_NOT_HELLO_FIRST;
            return GW_TLS_NEED_MORE;
        }
        memcpy(scratch + have, stream + pos + 5, record_len);
        have += record_len;
        pos += 5 + record_len;
    }
}
