/* gw_parse_headers alone: Ethernet + VLAN + IPv4 + TCP, an IPv6 fragment, a truncated frame,
 * an unsupported link type, IP-in-IP (tunnel columns), reads past the buffer clamped. */
#include <string.h>

#include "gw_headers.h"
#include "gw_test.h"

#define ROWS 4
static uint8_t status[ROWS], version[ROWS], proto[ROWS], tcp_flags[ROWS], frag_more[ROWS], depth[ROWS];
static uint32_t vlan[ROWS], tcp_seq[ROWS], frag_id[ROWS];
static int64_t l3[ROWS], ip_bytes[ROWS], payload[ROWS], payload_len[ROWS], captured_len[ROWS], frag_offset[ROWS];
static uint64_t src[ROWS * 2], dst[ROWS * 2], outer_src[ROWS * 2], outer_dst[ROWS * 2];
static uint16_t sport[ROWS], dport[ROWS];
static uint8_t tunnel_kind[ROWS * GW_MAX_TUNNELS], outer_version[ROWS];
static int64_t tunnel_ident[ROWS * GW_MAX_TUNNELS];

static gw_headers_columns columns(int with_tunnels) {
    gw_headers_columns c = {status, vlan, l3, version, proto, src, dst, ip_bytes, sport, dport, tcp_flags, tcp_seq,
                            payload, payload_len, captured_len, frag_id, frag_offset, frag_more, depth,
                            NULL, NULL, NULL, NULL, NULL};
    if (with_tunnels) {
        c.tunnel_kind = tunnel_kind;
        c.tunnel_ident = tunnel_ident;
        c.outer_version = outer_version;
        c.outer_src = outer_src;
        c.outer_dst = outer_dst;
    }
    return c;
}

static size_t ipv4(uint8_t *p, uint8_t proto_, uint16_t total, uint16_t flags_frag) {
    memset(p, 0, 20);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[6] = (uint8_t)(flags_frag >> 8);
    p[7] = (uint8_t)flags_frag;
    p[9] = proto_;
    p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
    return 20;
}

static void test_vlan_ipv4_tcp_and_truncation(void) {
    uint8_t buf[512] = {0};
    uint8_t *f = buf;
    f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 7; /* VLAN 7 */
    f[16] = 0x08, f[17] = 0x00;
    ipv4(f + 18, 6, 20 + 20 + 5, 0);
    uint8_t *tcp = f + 38;
    tcp[0] = 0x30, tcp[1] = 0x39, tcp[2] = 0x01, tcp[3] = 0xBB, tcp[7] = 9, tcp[12] = 0x50, tcp[13] = 0x12;
    int64_t offset[3] = {0, 0, 0};
    int32_t caplen[3] = {38 + 25, 30, 63}, wirelen[3] = {63, 63, 63};
    uint16_t linktype[3] = {1, 1, 147};
    gw_headers_batch b = {buf, sizeof buf, offset, caplen, wirelen, linktype, 3, 0};
    gw_headers_columns o = columns(0);
    CHECK_EQ(gw_parse_headers(&b, &o), 0);
    CHECK_EQ(status[0], GW_OK);
    CHECK_EQ(vlan[0], 7);
    CHECK_EQ(l3[0], 18);
    CHECK_EQ(version[0], 4);
    CHECK_EQ(sport[0], 12345);
    CHECK_EQ(dport[0], 443);
    CHECK_EQ(tcp_seq[0], 9);
    CHECK_EQ(tcp_flags[0], 0x12);
    CHECK_EQ(payload[0], 58);
    CHECK_EQ(payload_len[0], 5);
    CHECK_EQ(captured_len[0], 5);
    CHECK_EQ(src[1], 0x0A000001);
    CHECK_EQ(status[1], GW_TRUNCATED); /* the IP header runs past the 30 captured bytes */
    CHECK_EQ(status[2], GW_UNSUPPORTED_LINK);
    CHECK_EQ(l3[2], 0);
    b.strict_length = 1;
    caplen[0] = 60;
    gw_parse_headers(&b, &o);
    CHECK_EQ(status[0], GW_TRUNCATED); /* not captured whole */
}

static void test_ipv6_fragment(void) {
    uint8_t buf[300] = {0};
    uint8_t *ip = buf; /* raw IPv6 (link type 229) */
    ip[0] = 0x60, ip[5] = 8 + 8, ip[6] = 44;
    uint8_t *frag = ip + 40;
    frag[0] = 17, frag[2] = 0x00, frag[3] = 0x01, frag[7] = 99; /* offset 0, more fragments */
    int64_t offset[1] = {0};
    int32_t caplen[1] = {56}, wirelen[1] = {56};
    uint16_t linktype[1] = {229};
    gw_headers_batch b = {buf, sizeof buf, offset, caplen, wirelen, linktype, 1, 0};
    gw_headers_columns o = columns(0);
    gw_parse_headers(&b, &o);
    CHECK_EQ(status[0], GW_FRAGMENT);
    CHECK_EQ(proto[0], 17);
    CHECK_EQ(frag_id[0], 99);
    CHECK_EQ(frag_more[0], 1);
    CHECK_EQ(payload[0], 48);
}

static void test_ip_in_ip_and_reads_past_the_buffer(void) {
    uint8_t buf[64] = {0};
    ipv4(buf, 4, 40 + 8, 0);
    ipv4(buf + 20, 17, 28, 0);
    buf[20 + 20 + 1] = 53; /* UDP source port 53; the UDP length byte lies past the buffer end */
    int64_t offset[1] = {0};
    int32_t caplen[1] = {48}, wirelen[1] = {48};
    uint16_t linktype[1] = {228};
    memset(tunnel_kind, 0, sizeof tunnel_kind);
    gw_headers_batch b = {buf, 44, offset, caplen, wirelen, linktype, 1, 0};
    gw_headers_columns o = columns(0);
    CHECK_EQ(gw_parse_headers(&b, &o), 1);
    o = columns(1);
    CHECK_EQ(gw_parse_headers(&b, &o), 1);
    CHECK_EQ(depth[0], 1);
    CHECK_EQ(tunnel_kind[0], 7); /* ipip */
    CHECK_EQ(outer_version[0], 4);
    CHECK_EQ(l3[0], 20);
    CHECK_EQ(sport[0], 53);
    CHECK_EQ(status[0], GW_OK);
}

int main(void) {
    test_vlan_ipv4_tcp_and_truncation();
    test_ipv6_fragment();
    test_ip_in_ip_and_reads_past_the_buffer();
    return GW_TEST_END();
}
