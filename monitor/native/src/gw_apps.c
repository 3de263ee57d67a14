/* The inspector's prefilter, row by row with the numpy code's exact reads: the first five
 * payload bytes at min(payload, len - 5) (so a short payload reads on into the next packet's
 * bytes, as the numpy gather does) and two at min(payload + 9, len - 2). */
#include "gw_apps.h"

static int in_set(uint32_t value, const uint32_t *set, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (set[i] == value) return 1;
    return 0;
}

static int upper_like(uint8_t c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

/* http.may_start_request over one row's five first bytes. */
static int may_start_request(const uint8_t *f, const gw_apps_rules *r) {
    if (in_set(gw_be32(f), r->method_prefixes, r->n_method_prefixes)) return 1;
    if (f[0] == '\r' || f[0] == '\n') return 1;
    for (int k = 0; k < 5; k++) {
        if (!upper_like(f[k])) return k > 0 && f[k] == ' ';
    }
    return 1; /* five method-like bytes */
}

/* gquic.maybe_gquic */
static int maybe_gquic(const uint8_t *f, const uint8_t *at9) {
    int public_header = (f[0] & 0x09) == 0x09 && at9[0] == 0x51 && at9[1] == 0x30;
    return public_header || ((f[0] & 0xC0) == 0xC0 && f[1] == 0x51 && f[2] == 0x30);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int select_row(const gw_apps_batch *b, const gw_apps_rules *r, size_t i, int64_t *kind) {
    int64_t row = b->rows[i], slot = b->slots[i];
    if (row < 0 || (uint64_t)row >= b->n_packets || slot < 0 || (uint64_t)slot >= b->n_slots) return -1;
    /* payload + 9 past INT64_MAX: numpy wraps it to a negative index; the numpy code decides. */
    if (b->payload[row] > INT64_MAX - 9) return -1;
    int64_t at = min64(b->payload[row], (int64_t)b->data_len - 5), at9 = min64(b->payload[row] + 9, (int64_t)b->data_len - 2);
    if (at < 0 || at9 < 0) return -1;
    const uint8_t *f = b->data + at;
    uint8_t proto = b->proto[row], mode = b->mode[slot];
    int tcp = b->in_order[i] && proto == r->proto_tcp;
    int udp = b->captured_len[row] > 0 && proto == r->proto_udp;
    int dns = (tcp || udp) && (b->sport[row] == r->dns_port || b->dport[row] == r->dns_port);
    int client = b->is_orig[i] && !dns, quic_mode = mode == r->mode_new || mode == r->mode_quic;
    *kind = 0;
    if (dns) {
        *kind = GW_KIND_DNS;
    } else if (udp && client && quic_mode && (f[0] & 0xC0) == 0xC0 &&
               in_set(gw_be32(f + 1), r->quic_versions, r->n_quic_versions)) {
        *kind = GW_KIND_QUIC;
    } else if (udp && client && quic_mode && maybe_gquic(f, b->data + at9)) {
        *kind = GW_KIND_GQUIC;
    } else if (tcp) {
        int midstream = !b->is_orig[i] && mode == r->mode_new && (b->flags[2 * slot] & r->syn) == 0;
        int wanted = mode == r->mode_new || mode == r->mode_tls || mode == r->mode_http_pending ||
                     (mode == r->mode_http && (b->moved[i] || may_start_request(f, r)));
        if ((client || midstream) && wanted) *kind = GW_KIND_TCP;
    }
    return 0;
}

int gw_apps_select(const gw_apps_batch *b, const gw_apps_rules *rules, int64_t *picked, int64_t *kinds, size_t *count) {
    *count = 0;
    if (b->data_len < 5 && b->n > 0) return GW_APPS_BAD_INDEX;
    for (size_t i = 0; i < b->n; i++) {
        int64_t kind;
        if (select_row(b, rules, i, &kind) != 0) return GW_APPS_BAD_INDEX;
        if (kind == 0) continue;
        picked[*count] = (int64_t)i;
        kinds[*count] = kind;
        (*count)++;
    }
    return GW_APPS_OK;
}
