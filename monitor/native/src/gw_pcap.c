/* The classic pcap record walk (see gw_pcap.h). */
#include "gw_pcap.h"

#include "gw_common.h"

static uint32_t field32(const uint8_t *p, int big_endian) { return big_endian ? gw_be32(p) : gw_le32(p); }

int gw_pcap_walk(const uint8_t *buf, int64_t len, int64_t pos, const gw_pcap_format *format,
                 gw_pcap_columns *out, int64_t *rows, int64_t *stop) {
    int64_t n = 0;
    int reason = GW_PCAP_NEED_MORE;
    const int big = format->big_endian;
    while (pos >= 0 && pos <= len - 16) {
        const uint8_t *header = buf + pos;
        uint32_t caplen = field32(header + 8, big);
        if (caplen > format->limit) {
            reason = GW_PCAP_DAMAGED;
            break;
        }
        /* pos <= len - 16 and caplen < 2^32: no int64 overflow here. */
        int64_t following = pos + 16 + (int64_t)caplen;
        if (following > len)
            break;
        if (n == out->capacity) {
            reason = GW_PCAP_FULL;
            break;
        }
        uint32_t wirelen = field32(header + 12, big);
        int64_t sec = field32(header, big), frac = field32(header + 4, big);
        out->offset[n] = pos + 16;
        /* int32 columns: the numpy code casts the same way (values above 2^31 wrap). */
        out->caplen[n] = (int32_t)caplen;
        out->wirelen[n] = (int32_t)(wirelen > caplen ? wirelen : caplen);
        out->ts_ns[n] = sec * 1000000000 + frac * format->ns_per_tick;
        n++;
        pos = following;
    }
    *rows = n;
    *stop = pos;
    return reason;
}
