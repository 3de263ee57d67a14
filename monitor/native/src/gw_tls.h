/* TLS ClientHello extractor: the C twin of monitor/net/app/tls.py (client_hello_from_records
 * and parse_client_hello), same limits, same verdicts. Bounded by the sizes it is given. */
#ifndef GW_TLS_H
#define GW_TLS_H
#include "gw_common.h"

/* Verdicts; each error maps to one NotTls message on the Python side. */
enum {
    GW_TLS_HELLO = 0,          /* a ClientHello: *out is filled */
    GW_TLS_NEED_MORE = 1,      /* a valid prefix */
    GW_TLS_NOT_RECORD = 2,     /* "not a TLS handshake record" */
    GW_TLS_NOT_HELLO_FIRST = 3,/* "first handshake message is not a ClientHello" */
    GW_TLS_NOT_HELLO = 4,      /* "not a ClientHello" */
    GW_TLS_PAST_END = 5,       /* "field runs past the end of the ClientHello" */
    GW_TLS_TOO_MANY_ALPN = 6,  /* valid, but more ALPN names than out can hold: read it in Python */
    GW_TLS_BAD_ARGS = 7        /* scratch smaller than the stream */
};

#define GW_TLS_MAX_HELLO (1 << 16)
#define GW_TLS_MAX_RECORD 18432
#define GW_TLS_MAX_ALPN 64

typedef struct {
    int32_t version;
    int32_t sni_off, sni_len;  /* sni_off < 0: no server name */
    int32_t alpn_count;
    int32_t alpn_off[GW_TLS_MAX_ALPN], alpn_len[GW_TLS_MAX_ALPN];
} gw_tls_hello;

/* A whole handshake message (type, 3-byte length, body) of n bytes. Offsets in *out are
 * into msg. */
int gw_tls_parse_client_hello(const uint8_t *msg, size_t n, gw_tls_hello *out);

/* The first bytes a client sent (TLS records). The handshake bytes are gathered into scratch
 * (cap >= n); offsets in *out are into scratch. */
int gw_tls_hello_from_records(const uint8_t *stream, size_t n, uint8_t *scratch, size_t cap,
                              gw_tls_hello *out);
#endif
