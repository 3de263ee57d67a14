/* L2-L4 header parsing (see gw_headers.h): link layer, IP with its extension headers and
 * tunnels, transport. Each function mirrors the numpy step of the same name in headers.py or
 * tunnels.py, for one row. */
#include "gw_headers.h"

#include "gw_common.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_RAW_GUESS 0xFFFF
#define MAX_TAGS 16
#define MAX_MPLS 16
#define MAX_EXT 16
#define MAX_GTP_EXT 16
#define NO_ID (-1)

enum { KIND_NONE, KIND_GRE, KIND_ERSPAN1, KIND_ERSPAN2, KIND_ERSPAN3, KIND_VXLAN, KIND_GENEVE, KIND_IPIP, KIND_SIXIN4, KIND_GTPU };
enum { INNER_NONE, INNER_IPV4, INNER_IPV6, INNER_IP_BY_NIBBLE, INNER_ETHERNET, INNER_MPLS };

/* Reads as headers.py's _Reader: at past the buffer reads its last byte (the buffer always ends
 * with zero padding); nothing here bounds a read by the packet, the status rules do that. */
typedef struct {
    const uint8_t *data;
    int64_t last;
} reader;

static inline int64_t u8(const reader *r, int64_t at) {
    if (at > r->last)
        at = r->last;
    if (at < 0) /* never from a real batch; kept in bounds like numpy's negative index */
        at = at + r->last + 1 < 0 ? 0 : at + r->last + 1;
    return r->data[at];
}
static inline int64_t u16(const reader *r, int64_t at) { return (u8(r, at) << 8) | u8(r, at + 1); }
static inline int64_t u32(const reader *r, int64_t at) { return (u16(r, at) << 16) | u16(r, at + 2); }
static inline uint64_t u64(const reader *r, int64_t at) { return ((uint64_t)u32(r, at) << 32) | (uint64_t)u32(r, at + 4); }

static int is_ip(int64_t ethertype) { return ethertype == ETH_IPV4 || ethertype == ETH_IPV6; }
static int is_vlan_tpid(int64_t t) { return t == 0x8100 || t == 0x88A8 || t == 0x9100 || t == 0x9200; }
static int is_mpls(int64_t t) { return t == 0x8847 || t == 0x8848; }
static int is_ipv6_ext(int64_t nh) {
    return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

static int64_t by_version_nibble(const reader *r, int64_t at) {
    int64_t nibble = u8(r, at) >> 4;
    return nibble == 4 ? ETH_IPV4 : nibble == 6 ? ETH_IPV6 : 0;
}

/* One row's state as the passes of parse_headers leave it. */
typedef struct {
    int64_t end, wire_end; /* captured end; end the IP length is checked against */
    int64_t l3, ethertype;
    int cut;
} row_state;

/* ---------------------------------------------------------------- link layer */

/* Labels to the bottom of the stack; sets *cut when more than MAX_MPLS. Returns the payload. */
static int64_t mpls(const reader *r, int64_t at, int *cut) {
    int inside = 1;
    for (int i = 0; i < MAX_MPLS && inside; i++) {
        int bottom = (int)(u8(r, at + 2) & 1);
        at += 4;
        inside = !bottom;
    }
    *cut = inside;
    return at;
}

static void ethernet(const reader *r, int64_t start, row_state *s, uint32_t *vlan) {
    int64_t at = start + 12, ethertype = u16(r, at);
    uint32_t tags = 0;
    for (int i = 0; i < MAX_TAGS && is_vlan_tpid(ethertype); i++) {
        uint32_t tag = (uint32_t)(u16(r, at + 2) & 0xFFF);
        if (tags < 4096)
            tags = (tags << 12) | tag;
        at += 4;
        ethertype = u16(r, at);
    }
    int cut = is_vlan_tpid(ethertype);
    at += 2;
    if (ethertype == 0x8864) { /* PPPoE session; PPP protocol field compressed when odd */
        int64_t first = u8(r, at + 6);
        int compressed = (first & 1) == 1;
        int64_t ppp = compressed ? first : u16(r, at + 6);
        ethertype = ppp == 0x21 ? ETH_IPV4 : ppp == 0x57 ? ETH_IPV6 : ppp == 0x281 ? 0x8847 : 0;
        at += 6 + (compressed ? 1 : 2);
    }
    if (is_mpls(ethertype)) {
        int mpls_cut;
        at = mpls(r, at, &mpls_cut);
        ethertype = by_version_nibble(r, at);
        cut |= mpls_cut;
    }
    s->l3 = at;
    s->ethertype = ethertype;
    s->cut = cut;
    if (vlan)
        *vlan = tags;
}

static int64_t bsd_family(const reader *r, int64_t start) {
    int64_t first = u8(r, start), last = u8(r, start + 3);
    int64_t family = first > last ? first : last;
    if (family == 2)
        return ETH_IPV4;
    return (family == 10 || family == 24 || family == 28 || family == 30) ? ETH_IPV6 : 0;
}

static int link_status(const row_state *s) {
    if (s->cut)
        return GW_DEPTH_LIMIT;
    if (s->l3 > s->end)
        return GW_TRUNCATED;
    return is_ip(s->ethertype) ? GW_OK : GW_NOT_IP;
}

static int link_layer(const reader *r, int linktype, int64_t start, row_state *s, uint32_t *vlan) {
    s->l3 = start;
    s->ethertype = 0;
    s->cut = 0;
    *vlan = 0;
    switch (linktype) {
    case 1: ethernet(r, start, s, vlan); break;
    case 113: s->l3 = start + 16; s->ethertype = u16(r, start + 14); break; /* Linux SLL */
    case 276: s->l3 = start + 20; s->ethertype = u16(r, start); break;      /* SLL2 */
    case 0: case 108: s->l3 = start + 4; s->ethertype = bsd_family(r, start); break;
    case 101: case 12: case 14: s->ethertype = ETH_RAW_GUESS; break;
    case 228: s->ethertype = ETH_IPV4; break;
    case 229: s->ethertype = ETH_IPV6; break;
    default: return GW_UNSUPPORTED_LINK;
    }
    if (s->ethertype == ETH_RAW_GUESS) /* also a link header that says 0xFFFF */
        s->ethertype = by_version_nibble(r, s->l3);
    return link_status(s);
}

/* ---------------------------------------------------------------- IP layer */

static int ip_status(int bad, int truncated, int cut, const gw_headers_columns *o, int64_t i) {
    if (bad)
        return GW_BAD_IP;
    if (truncated)
        return GW_TRUNCATED;
    if (cut)
        return GW_DEPTH_LIMIT;
    return (o->frag_more[i] || o->frag_offset[i] > 0) ? GW_FRAGMENT : GW_OK;
}

static int ipv4(const reader *r, const row_state *s, gw_headers_columns *o, int64_t i) {
    int64_t at = s->l3, first = u8(r, at), ihl = (first & 0xF) * 4;
    int64_t total = u16(r, at + 2), flags_frag = u16(r, at + 6);
    o->version[i] = 4;
    o->proto[i] = (uint8_t)u8(r, at + 9);
    o->src[2 * i + 1] = (uint64_t)u32(r, at + 12);
    o->dst[2 * i + 1] = (uint64_t)u32(r, at + 16);
    o->ip_bytes[i] = total;
    o->frag_id[i] = (uint32_t)u16(r, at + 4);
    o->frag_offset[i] = (flags_frag & 0x1FFF) * 8;
    o->frag_more[i] = (flags_frag & 0x2000) != 0;
    o->payload[i] = at + ihl; /* the L4 header, until the transport layer moves it past that */
    o->payload_len[i] = total - ihl;
    int bad = (first >> 4) != 4 || ihl < 20 || total < ihl;
    int truncated = !bad && (at + ihl > s->end || at + total > s->wire_end);
    return ip_status(bad, truncated, 0, o, i);
}

static int ipv6(const reader *r, const row_state *s, gw_headers_columns *o, int64_t i) {
    int64_t at = s->l3, total = 40 + u16(r, at + 4), end = s->end;
    o->version[i] = 6;
    o->src[2 * i] = u64(r, at + 8);
    o->src[2 * i + 1] = u64(r, at + 16);
    o->dst[2 * i] = u64(r, at + 24);
    o->dst[2 * i + 1] = u64(r, at + 32);
    o->ip_bytes[i] = total;
    int64_t nh = u8(r, at + 6), cursor = at + 40, frag_off = 0, frag_id = 0;
    int frag_more = 0, is_frag = 0;
    /* After a fragment header the bytes belong to the fragmentable part: stop there; past the
     * captured bytes there is nothing to follow. */
    for (int k = 0; k < MAX_EXT && !is_frag && cursor < end; k++) {
        int frag = nh == 44;
        if (!frag && !is_ipv6_ext(nh))
            break;
        int64_t length = nh == 51 ? (u8(r, cursor + 1) + 2) * 4 : (u8(r, cursor + 1) + 1) * 8;
        if (frag) {
            int64_t word = u16(r, cursor + 2);
            frag_off = word & 0xFFF8;
            frag_more = (word & 1) != 0;
            frag_id = u32(r, cursor + 4);
            is_frag = 1;
            length = 8;
        }
        nh = u8(r, cursor);
        cursor += length;
    }
    o->proto[i] = (uint8_t)nh;
    o->payload[i] = cursor;
    o->payload_len[i] = at + total - cursor;
    o->frag_id[i] = (uint32_t)frag_id;
    o->frag_offset[i] = is_frag ? frag_off : 0;
    o->frag_more[i] = (uint8_t)frag_more;
    int bad = (u8(r, at) >> 4) != 6 || cursor > at + total;
    int chain = (is_ipv6_ext(nh) || nh == 44) && !is_frag;
    int truncated = !bad && (at + 40 > end || at + total > s->wire_end || cursor > end || (chain && cursor >= end));
    int cut = !bad && !truncated && chain; /* still inside the chain after MAX_EXT headers */
    return ip_status(bad, truncated, cut, o, i);
}

/* ---------------------------------------------------------------- tunnels */

typedef struct {
    int kind, inner, cut;
    int64_t ident, start;
} tunnel_step;

static void set_step(tunnel_step *t, int kind, int64_t start, int inner, int64_t ident) {
    t->kind = kind;
    t->start = start;
    t->inner = inner;
    t->ident = ident;
}

/* GRE version 0 (RFC 2784/2890), ERSPAN I, II and III inside it. */
static void gre(const reader *r, int64_t at, tunnel_step *t) {
    int64_t flags = u16(r, at), ptype = u16(r, at + 2);
    int64_t checksum = (flags >> 15) & 1, key = (flags >> 13) & 1, seq = (flags >> 12) & 1;
    if ((flags & 0x4007) != 0) /* routing or version 1 (PPTP): left a GRE flow */
        return;
    int64_t body = at + 4 + 4 * (checksum + key + seq);
    int64_t gre_key = key ? u32(r, at + 4 + 4 * checksum) : NO_ID;
    int64_t session = u16(r, body + 2) & 0x3FF;
    if (ptype == ETH_IPV4)
        set_step(t, KIND_GRE, body, INNER_IPV4, gre_key);
    else if (ptype == ETH_IPV6)
        set_step(t, KIND_GRE, body, INNER_IPV6, gre_key);
    else if (ptype == 0x6558)
        set_step(t, KIND_GRE, body, INNER_ETHERNET, gre_key);
    else if (is_mpls(ptype))
        set_step(t, KIND_GRE, body, INNER_MPLS, gre_key);
    else if (ptype == 0x88BE && seq == 0)
        set_step(t, KIND_ERSPAN1, body, INNER_ETHERNET, NO_ID);
    else if (ptype == 0x88BE && (u8(r, body) >> 4) == 1)
        set_step(t, KIND_ERSPAN2, body + 8, INNER_ETHERNET, session);
    else if (ptype == 0x22EB && (u8(r, body) >> 4) == 2) {
        int64_t frame_type = (u8(r, body + 10) >> 2) & 0x1F;
        int64_t start = body + 12 + 8 * (u8(r, body + 11) & 1);
        if (frame_type == 0)
            set_step(t, KIND_ERSPAN3, start, INNER_ETHERNET, session);
        else if (frame_type == 2)
            set_step(t, KIND_ERSPAN3, start, INNER_IP_BY_NIBBLE, session);
    }
}

static void vxlan(const reader *r, int64_t at, tunnel_step *t) {
    if (u8(r, at) & 0x08)
        set_step(t, KIND_VXLAN, at + 8, INNER_ETHERNET, u32(r, at + 4) >> 8);
}

static void geneve(const reader *r, int64_t at, tunnel_step *t) {
    int64_t first = u8(r, at), ptype = u16(r, at + 2);
    if ((first >> 6) != 0)
        return;
    int64_t start = at + 8 + (first & 0x3F) * 4, vni = u32(r, at + 4) >> 8;
    if (ptype == 0x6558)
        set_step(t, KIND_GENEVE, start, INNER_ETHERNET, vni);
    else if (ptype == ETH_IPV4)
        set_step(t, KIND_GENEVE, start, INNER_IPV4, vni);
    else if (ptype == ETH_IPV6)
        set_step(t, KIND_GENEVE, start, INNER_IPV6, vni);
}

/* GTP-U G-PDU whose length matches the UDP payload; extension headers followed to MAX_GTP_EXT. */
static void gtpu(const reader *r, int64_t at, int64_t udp_payload, tunnel_step *t) {
    int64_t first = u8(r, at);
    if ((first >> 5) != 1 || !(first & 0x10) || u8(r, at + 1) != 0xFF || u16(r, at + 2) + 8 != udp_payload)
        return;
    int64_t cursor = at + ((first & 0x07) ? 12 : 8);
    int64_t following = (first & 0x04) ? u8(r, at + 11) : 0;
    for (int k = 0; k < MAX_GTP_EXT && following != 0; k++) {
        int64_t length = u8(r, cursor) * 4; /* 4-octet units, length and next-type bytes included */
        if (length == 0)
            return; /* broken: not a tunnel */
        following = u8(r, cursor + length - 1);
        cursor += length;
    }
    set_step(t, KIND_GTPU, cursor, INNER_IP_BY_NIBBLE, u32(r, at + 4));
    t->cut = following != 0;
}

/* tunnels.recognise for one parsed row: 1 and *t filled when it carries a tunnel. */
static int recognise(const reader *r, const row_state *s, const gw_headers_columns *o, int64_t i, tunnel_step *t) {
    int64_t proto = o->proto[i], at = o->payload[i];
    int64_t sport = u16(r, at), dport = u16(r, at + 2);
    int ip_tunnel = proto == 4 || proto == 41 || proto == 47;
    int udp = proto == 17 && (dport == 4789 || dport == 6081 || dport == 2152 || sport == 2152);
    if (!ip_tunnel && !udp)
        return 0;
    t->kind = KIND_NONE;
    t->inner = INNER_NONE;
    t->cut = 0;
    t->ident = NO_ID;
    t->start = at;
    int64_t ip_end = s->l3 + o->ip_bytes[i];
    if (proto == 4)
        set_step(t, KIND_IPIP, at, INNER_IPV4, NO_ID);
    else if (proto == 41)
        set_step(t, KIND_SIXIN4, at, INNER_IPV6, NO_ID);
    else if (proto == 47)
        gre(r, at, t);
    else if (at + 8 <= s->end && at + 8 <= ip_end) { /* UDP with its header captured */
        if (dport == 4789)
            vxlan(r, at + 8, t);
        else if (dport == 6081)
            geneve(r, at + 8, t);
        else
            gtpu(r, at + 8, u16(r, at + 4) - 8, t);
    }
    /* A tunnel header that runs past the datagram is no tunnel: the outer flow keeps the packet. */
    return t->kind != KIND_NONE && t->start <= ip_end;
}

static void note_layer(gw_headers_columns *o, int64_t i, int depth, const tunnel_step *t) {
    if (!o->tunnel_kind)
        return;
    o->tunnel_kind[i * GW_MAX_TUNNELS + depth] = (uint8_t)t->kind;
    o->tunnel_ident[i * GW_MAX_TUNNELS + depth] = t->ident;
    if (depth == 0) { /* the outermost addresses, before the inner parse replaces them */
        o->outer_version[i] = o->version[i];
        for (int k = 0; k < 2; k++) {
            o->outer_src[2 * i + k] = o->src[2 * i + k];
            o->outer_dst[2 * i + k] = o->dst[2 * i + k];
        }
    }
}

/* headers._unwrap for one row: the inner link layer; returns the row's new status. */
static int unwrap(const reader *r, row_state *s, gw_headers_columns *o, int64_t i, const tunnel_step *t) {
    s->l3 = t->start;
    s->ethertype = 0;
    s->cut = 0;
    switch (t->inner) {
    case INNER_IPV4: s->ethertype = ETH_IPV4; break;
    case INNER_IPV6: s->ethertype = ETH_IPV6; break;
    case INNER_IP_BY_NIBBLE: s->ethertype = by_version_nibble(r, t->start); break;
    case INNER_ETHERNET: ethernet(r, t->start, s, NULL); break;
    case INNER_MPLS:
        s->l3 = mpls(r, t->start, &s->cut);
        s->ethertype = by_version_nibble(r, s->l3);
        break;
    default: break;
    }
    o->l3[i] = s->l3;
    o->src[2 * i] = o->src[2 * i + 1] = o->dst[2 * i] = o->dst[2 * i + 1] = 0;
    return link_status(s);
}

/* ---------------------------------------------------------------- transport layer */

static int set_payload(const row_state *s, gw_headers_columns *o, int64_t i, int64_t start, int64_t end, int malformed) {
    int64_t captured = (end < s->end ? end : s->end) - start;
    o->payload[i] = start;
    o->payload_len[i] = end - start > 0 ? end - start : 0;
    o->captured_len[i] = captured > 0 ? captured : 0;
    return (malformed || start > s->end) ? GW_TRUNCATED : GW_OK;
}

static int transport(const reader *r, const row_state *s, gw_headers_columns *o, int64_t i) {
    int64_t proto = o->proto[i], at = o->payload[i], ip_end = o->l3[i] + o->ip_bytes[i];
    if (proto == 6) {
        o->sport[i] = (uint16_t)u16(r, at);
        o->dport[i] = (uint16_t)u16(r, at + 2);
        o->tcp_seq[i] = (uint32_t)u32(r, at + 4);
        o->tcp_flags[i] = (uint8_t)u8(r, at + 13);
        int64_t offset = (u8(r, at + 12) >> 4) * 4;
        return set_payload(s, o, i, at + offset, ip_end, offset < 20 || at + offset > ip_end);
    }
    if (proto == 17) {
        o->sport[i] = (uint16_t)u16(r, at);
        o->dport[i] = (uint16_t)u16(r, at + 2);
        int64_t udp_end = at + u16(r, at + 4);
        return set_payload(s, o, i, at + 8, udp_end < ip_end ? udp_end : ip_end, at + 8 > ip_end);
    }
    if (proto == 1 || proto == 58) {
        o->sport[i] = (uint16_t)u8(r, at);
        o->dport[i] = (uint16_t)u8(r, at + 1);
        return set_payload(s, o, i, at + 4, ip_end, at + 4 > ip_end);
    }
    int64_t captured = (ip_end < s->end ? ip_end : s->end) - at;
    o->captured_len[i] = captured > 0 ? captured : 0;
    return GW_OK;
}

/* ---------------------------------------------------------------- one row */

static void clear_row(gw_headers_columns *o, int64_t i) {
    o->version[i] = o->proto[i] = o->tcp_flags[i] = o->frag_more[i] = o->depth[i] = 0;
    o->src[2 * i] = o->src[2 * i + 1] = o->dst[2 * i] = o->dst[2 * i + 1] = 0;
    o->ip_bytes[i] = o->payload[i] = o->payload_len[i] = o->captured_len[i] = o->frag_offset[i] = 0;
    o->sport[i] = o->dport[i] = 0;
    o->tcp_seq[i] = o->frag_id[i] = 0;
}

/* Returns 1 when the row carries a tunnel layer. */
static int parse_row(const reader *r, const gw_headers_batch *b, gw_headers_columns *o, int64_t i) {
    row_state s;
    int64_t start = b->offset[i];
    s.end = start + b->caplen[i];
    s.wire_end = start + (b->strict_length ? b->caplen[i] : b->wirelen[i]);
    clear_row(o, i);
    int status = link_layer(r, b->linktype[i], start, &s, &o->vlan[i]);
    o->l3[i] = s.l3;
    int tunnelled = 0;
    for (int depth = 0; status == GW_OK; depth++) {
        status = s.ethertype == ETH_IPV4 ? ipv4(r, &s, o, i) : ipv6(r, &s, o, i);
        tunnel_step t;
        if (status != GW_OK || !recognise(r, &s, o, i, &t))
            break;
        tunnelled = 1;
        if (depth == GW_MAX_TUNNELS) {
            status = GW_DEPTH_LIMIT;
            break;
        }
        note_layer(o, i, depth, &t);
        o->depth[i] = (uint8_t)(depth + 1);
        status = t.cut ? GW_DEPTH_LIMIT : unwrap(r, &s, o, i, &t);
    }
    if (status == GW_OK)
        status = transport(r, &s, o, i);
    o->status[i] = (uint8_t)status;
    return tunnelled;
}

int64_t gw_parse_headers(const gw_headers_batch *batch, gw_headers_columns *out) {
    reader r = {batch->data, batch->size - 1};
    int64_t tunnelled = 0;
    for (int64_t i = 0; i < batch->rows; i++)
        tunnelled += parse_row(&r, batch, out, i);
    return tunnelled;
}
