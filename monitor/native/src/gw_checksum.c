/* TCP checksum verdicts: the same decisions as reassembly.py's _checksum and checksum_state.
 *
 * A ones'-complement sum is the number its words spell modulo 0xFFFF (2^16 is 1 modulo
 * 0xFFFF), so plain 64-bit word sums reduced modulo 0xFFFF give the Python's big-integer
 * remainders. Any row whose reads would leave the buffer (where numpy would clip a slice or
 * raise) is handed back as GW_CSUM_FALLBACK for the Python to decide, so verdicts never differ. */
#include "gw_checksum.h"

#define GW_FOLD 0xFFFFu

uint64_t gw_checksum_words(const uint8_t *p, int64_t n) {
    uint64_t sum = 0;
    int64_t i = 0;
    for (; i + 1 < n; i += 2)
        sum += gw_be16(p + i);
    if (i < n)
        sum += (uint64_t)p[i] << 8;
    return sum;
}

/* Where the TCP header starts; -1 when it cannot be told, -2 when a read leaves the buffer. */
static int64_t tcp_header_start(const uint8_t *data, int64_t len, int64_t l3, uint8_t version, int64_t payload) {
    if (version == 4)
        return l3 + (int64_t)(data[l3] & 0xF) * 4;
    if (l3 + 6 >= len)
        return -2;
    if (data[l3 + 6] == 6)
        return l3 + 40;
    /* IPv6 with extension headers: the one data offset k that reads back as k from the payload. */
    int64_t found = -1;
    int hits = 0;
    for (int64_t k = 5; k < 16; k++) {
        int64_t at = payload - 4 * k;
        if (at < l3 + 40)
            continue;
        if (at + 12 >= len)
            return -2;
        if (data[at + 12] >> 4 == k) {
            found = at;
            hits++;
        }
    }
    return hits == 1 ? found : -1;
}

uint8_t gw_checksum_verdict(const uint8_t *data, int64_t len, int64_t l3, uint8_t version, int64_t payload,
                            int64_t payload_len, int64_t captured_len, int64_t ip_bytes) {
    if (captured_len < payload_len)
        return GW_CSUM_UNVERIFIABLE;
    int64_t addr_end = version == 4 ? 20 : 40;
    if (l3 < 0 || l3 > len - addr_end || payload < 0 || payload > len)
        return GW_CSUM_FALLBACK;
    int64_t tcp = tcp_header_start(data, len, l3, version, payload);
    if (tcp == -2)
        return GW_CSUM_FALLBACK;
    if (tcp < 0)
        return GW_CSUM_UNVERIFIABLE;
    if (ip_bytes < 0 || ip_bytes > len - l3)
        return GW_CSUM_FALLBACK;
    int64_t ip_end = l3 + ip_bytes, length = ip_end - tcp;
    if (tcp > len || length < 18)
        return GW_CSUM_FALLBACK; /* the Python reads the field out of a short or clipped segment */
    const uint8_t *addresses = version == 4 ? data + l3 + 12 : data + l3 + 8;
    uint64_t pseudo = gw_checksum_words(addresses, version == 4 ? 8 : 32) % GW_FOLD + 6 + (uint64_t)length;
    if ((pseudo + gw_checksum_words(data + tcp, length)) % GW_FOLD == 0)
        return GW_CSUM_GOOD;
    uint64_t field = gw_be16(data + tcp + 16), bare = pseudo % GW_FOLD;
    return field == 0 || field == (bare ? bare : GW_FOLD) ? GW_CSUM_OFFLOADED : GW_CSUM_BAD;
}

void gw_checksum_verdicts(const uint8_t *data, int64_t len, const gw_checksum_rows *rows, int64_t n, uint8_t *out) {
    for (int64_t i = 0; i < n; i++)
        out[i] = gw_checksum_verdict(data, len, rows->l3[i], rows->version[i], rows->payload[i],
                                     rows->payload_len[i], rows->captured_len[i], rows->ip_bytes[i]);
}
