/* The inspector's first-byte prefilter: the C twin of AppInspector._select
 * (monitor/net/app/inspect.py). One pass over a batch's parsed rows says which packets are
 * worth Python's time (DNS, QUIC, Google QUIC, TCP client bytes) from ports, flow modes and the
 * first payload bytes, read exactly as the numpy code reads them. */
#ifndef GW_APPS_H
#define GW_APPS_H
#include "gw_common.h"

enum { GW_APPS_OK = 0, GW_APPS_BAD_INDEX = 1 /* an index outside its column: use the numpy code */ };
enum { GW_KIND_DNS = 1, GW_KIND_QUIC = 2, GW_KIND_TCP = 3, GW_KIND_GQUIC = 4 };

/* The flow modes (flowrecord.py) and constants the selection tests against. */
typedef struct {
    uint8_t mode_new, mode_tls, mode_http, mode_http_pending, mode_quic;
    uint8_t proto_tcp, proto_udp, syn;
    uint16_t dns_port;
    const uint32_t *quic_versions;
    size_t n_quic_versions;
    const uint32_t *method_prefixes; /* the first four bytes of each known method and a space */
    size_t n_method_prefixes;
} gw_apps_rules;

typedef struct {
    const uint8_t *data;
    size_t data_len;
    /* per packet of the batch (indexed by rows[i]) */
    const uint8_t *proto;
    const int64_t *captured_len, *payload;
    const uint16_t *sport, *dport;
    size_t n_packets;
    /* per selected row i */
    const int64_t *rows, *slots;
    const uint8_t *is_orig, *in_order, *moved;
    size_t n;
    /* per flow slot */
    const uint8_t *mode;
    const uint8_t *flags; /* (slot, 2): the originator's TCP flags at 2 * slot */
    size_t n_slots;
} gw_apps_batch;

/* picked (n capacity): indexes into rows of the packets to inspect, kinds: their handler. */
int gw_apps_select(const gw_apps_batch *b, const gw_apps_rules *rules, int64_t *picked, int64_t *kinds, size_t *count);
#endif
