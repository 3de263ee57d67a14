/* gw_checksum: verdicts on hand-made IPv4/IPv6 TCP segments, offload values, short and cut rows. */
#include <string.h>
#include "gw_checksum.h"
#include "gw_test.h"

/* An IPv4 + 20-byte TCP header + 4 payload bytes, its checksum filled in (or not). */
static int64_t ipv4_segment(uint8_t *p, int fill) {
    memset(p, 0, 64);
    p[0] = 0x45;
    p[3] = 44; /* total length */
    p[9] = 6;
    p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
    uint8_t *tcp = p + 20;
    tcp[12] = 5 << 4;
    memcpy(tcp + 20, "abcd", 4);
    if (fill) {
        uint64_t sum = gw_checksum_words(p + 12, 8) + 6 + 24 + gw_checksum_words(tcp, 24);
        while (sum >> 16)
            sum = (sum & 0xFFFF) + (sum >> 16);
        uint16_t c = (uint16_t)~sum;
        tcp[16] = (uint8_t)(c >> 8), tcp[17] = (uint8_t)c;
    }
    return 44;
}

static uint8_t verdict(const uint8_t *p, int64_t len, uint8_t version, int64_t payload, int64_t plen, int64_t cap) {
    return gw_checksum_verdict(p, len, 0, version, payload, plen, cap, len);
}

int main(void) {
    uint8_t p[64];
    int64_t n = ipv4_segment(p, 1);
    CHECK_EQ(verdict(p, n, 4, 40, 4, 4), GW_CSUM_GOOD);
    p[41] ^= 1;
    CHECK_EQ(verdict(p, n, 4, 40, 4, 4), GW_CSUM_BAD);
    CHECK_EQ(verdict(p, n, 4, 40, 4, 3), GW_CSUM_UNVERIFIABLE); /* cut by the snap length */
    n = ipv4_segment(p, 0);
    CHECK_EQ(verdict(p, n, 4, 40, 4, 4), GW_CSUM_OFFLOADED); /* field 0 */
    uint64_t bare = (gw_checksum_words(p + 12, 8) % 0xFFFF) + 6 + 24;
    bare %= 0xFFFF;
    p[36] = (uint8_t)(bare >> 8), p[37] = (uint8_t)bare;
    CHECK_EQ(verdict(p, n, 4, 40, 4, 4), GW_CSUM_OFFLOADED); /* the bare pseudo-header sum */
    CHECK_EQ(verdict(p, 30, 4, 40, 4, 4), GW_CSUM_FALLBACK); /* the segment leaves the buffer */
    CHECK_EQ(verdict(p, 10, 4, 40, 4, 4), GW_CSUM_FALLBACK);
    /* IPv6 with a next header that is not TCP and no data offset that reads back: unverifiable. */
    uint8_t q[80];
    memset(q, 0, sizeof q);
    q[0] = 0x60, q[6] = 0;
    CHECK_EQ(gw_checksum_verdict(q, 80, 0, 6, 80, 0, 0, 80), GW_CSUM_UNVERIFIABLE);
    q[80 - 20 + 12] = 5 << 4; /* one data offset of 5 reads back */
    uint8_t v = gw_checksum_verdict(q, 80, 0, 6, 80, 0, 0, 80);
    CHECK(v == GW_CSUM_BAD || v == GW_CSUM_OFFLOADED || v == GW_CSUM_GOOD);
    CHECK_EQ(gw_checksum_words((const uint8_t *)"\x01\x02\x03", 3), 0x0102 + 0x0300);
    return GW_TEST_END();
}
