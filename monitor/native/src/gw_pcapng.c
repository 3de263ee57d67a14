/* The pcapng packet-block walk (see gw_pcapng.h); limits as in pcapng.py. */
#include "gw_pcapng.h"

#include "gw_common.h"

#define SHB 0x0A0D0D0Au
#define IDB 1u
#define PB 2u
#define SPB 3u
#define EPB 6u
#define MAX_BLOCK (16 << 20)
#define MAX_RAW ((int64_t)(((uint64_t)1 << 62) - 1))

static uint32_t field32(const uint8_t *p, int big) { return big ? gw_be32(p) : gw_le32(p); }
static uint32_t field16(const uint8_t *p, int big) { return big ? gw_be16(p) : gw_le16(p); }

static uint32_t min_block(uint32_t type) {
    switch (type) {
    case SHB: return 28;
    case IDB: return 20;
    case EPB: case PB: return 32;
    case SPB: return 16;
    default: return 12;
    }
}

static int64_t raw_time(uint32_t high, uint32_t low) {
    uint64_t raw = ((uint64_t)high << 32) | low;
    return raw > (uint64_t)MAX_RAW ? GW_PCAPNG_OUT_OF_RANGE : (int64_t)raw;
}

static void put_row(int64_t *row, int64_t data, int64_t caplen, int64_t wirelen, int64_t raw, int64_t iface) {
    row[0] = data, row[1] = caplen, row[2] = wirelen, row[3] = raw, row[4] = iface;
}

/* One packet block into *row: 1, or 0 when it is damaged (the Python walk says so). */
static int packet_block(const uint8_t *b, uint32_t type, uint32_t blen, int64_t pos, const gw_pcapng_state *s, int64_t *row) {
    const int big = s->big_endian;
    if (type == SPB) {
        if (s->section_base >= s->interfaces)
            return 0;
        int64_t wirelen = field32(b + 8, big), room = (int64_t)blen - 16;
        put_row(row, pos + 12, wirelen < room ? wirelen : room, wirelen, -1, s->section_base);
        return 1;
    }
    int64_t ifid, caplen, wirelen, raw;
    if (type == EPB) {
        ifid = field32(b + 8, big);
        raw = raw_time(field32(b + 12, big), field32(b + 16, big));
    } else { /* PB: 16-bit interface id, 16-bit drops count */
        ifid = field16(b + 8, big);
        raw = raw_time(field32(b + 12, big), field32(b + 16, big));
    }
    caplen = field32(b + 20, big);
    wirelen = field32(b + 24, big);
    if (28 + caplen > (int64_t)blen || ifid + s->section_base >= s->interfaces)
        return 0;
    put_row(row, pos + 28, caplen, wirelen, raw, s->section_base + ifid);
    return 1;
}

int gw_pcapng_walk(const uint8_t *buf, int64_t len, int64_t pos, const gw_pcapng_state *s,
                   int64_t *rows, int64_t capacity, int64_t *count, int64_t *stop) {
    int64_t n = 0;
    int reason = GW_PCAPNG_NEED_MORE;
    while (pos >= 0 && pos <= len - 12) {
        const uint8_t *b = buf + pos;
        uint32_t type = field32(b, s->big_endian), blen = field32(b + 4, s->big_endian);
        int damaged = blen < min_block(type) || blen % 4 || blen > MAX_BLOCK || s->file_pos + pos + blen > s->file_size;
        if (type == SHB || type == IDB || damaged) {
            reason = GW_PCAPNG_HANDOFF;
            break;
        }
        if (pos + (int64_t)blen > len)
            break;
        if (type == EPB || type == SPB || type == PB) {
            if (n == capacity) {
                reason = GW_PCAPNG_FULL;
                break;
            }
            if (!packet_block(b, type, blen, pos, s, rows + n * GW_PCAPNG_ROW)) {
                reason = GW_PCAPNG_HANDOFF;
                break;
            }
            n++;
        }
        pos += blen;
    }
    *count = n;
    *stop = pos;
    return reason;
}
