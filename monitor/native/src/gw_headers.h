/* L2-L4 header parsing of a packet batch, one row at a time, into the columns of
 * monitor.net.headers.Headers (and tunnels.TunnelColumns). The numpy code in headers.py and
 * tunnels.py is the reference: every rule here mirrors one of its vectorised steps, including
 * how it reads bytes (a read past the buffer repeats its last byte; a read past a packet's
 * captured end sees the bytes after it, which the status rules then discount). */
#ifndef GW_HEADERS_H
#define GW_HEADERS_H
#include <stdint.h>

#define GW_MAX_TUNNELS 8 /* tunnels.MAX_TUNNELS: layers per row */

/* headers.Status */
enum { GW_OK = 0, GW_NOT_IP = 1, GW_UNSUPPORTED_LINK = 2, GW_TRUNCATED = 3, GW_BAD_IP = 4, GW_FRAGMENT = 5, GW_DEPTH_LIMIT = 6 };

typedef struct {
    const uint8_t *data; /* the batch's byte buffer */
    int64_t size;        /* its length (> 0) */
    const int64_t *offset;
    const int32_t *caplen;
    const int32_t *wirelen;
    const uint16_t *linktype;
    int64_t rows;
    int strict_length; /* IP datagrams must be captured whole (Suricata's rule) */
} gw_headers_batch;

typedef struct {
    uint8_t *status;
    uint32_t *vlan;
    int64_t *l3;
    uint8_t *version;
    uint8_t *proto;
    uint64_t *src; /* [rows][2]: high, low 64 bits */
    uint64_t *dst;
    int64_t *ip_bytes;
    uint16_t *sport;
    uint16_t *dport;
    uint8_t *tcp_flags;
    uint32_t *tcp_seq;
    int64_t *payload;
    int64_t *payload_len;
    int64_t *captured_len;
    uint32_t *frag_id;
    int64_t *frag_offset;
    uint8_t *frag_more; /* numpy bool: 0 or 1 */
    uint8_t *depth;
    /* TunnelColumns, or all NULL: then layers are not recorded (the count still is). The
     * caller fills kind with 0 and ident with -1 beforehand; only tunnelled rows are written. */
    uint8_t *tunnel_kind;   /* [rows][GW_MAX_TUNNELS] */
    int64_t *tunnel_ident;  /* [rows][GW_MAX_TUNNELS] */
    uint8_t *outer_version; /* [rows] */
    uint64_t *outer_src;    /* [rows][2] */
    uint64_t *outer_dst;
} gw_headers_columns;

/* Parse every row; every column of every row is written (no need to zero them first). Returns
 * how many rows carry at least one tunnel layer (headers.py sets Headers.tunnel only then). */
int64_t gw_parse_headers(const gw_headers_batch *batch, gw_headers_columns *out);

#endif
