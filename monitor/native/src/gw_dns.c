/* DNS messages, read in the same order and with the same checks as dns.py, so a hostile
 * message fails here exactly where it fails there. Loops are bounded by the message size and
 * the pointer limit. */
#include "gw_dns.h"

#define NAME_TEXT_MAX 256 /* a name under the octet limit is at most 253 text bytes */

typedef struct {
    const uint8_t *data;
    size_t n;
    uint8_t *text;
    size_t text_cap, text_used;
    int32_t *parts;
    size_t parts_cap, parts_used;
} ctx;

/* dns.py read_name: the dotted name at pos into text (when under the octet limit); *end is
 * where the name ends in the record (also for GW_DNS_NAME_TOO_LONG). */
static int read_name(ctx *c, size_t pos, int32_t *off, int32_t *len, size_t *end) {
    const uint8_t *d = c->data;
    size_t n = c->n, octets = 1, after = 0, written = 0;
    int pointed = 0, pointers = 0;
    uint8_t *out = c->text + c->text_used;
    if (c->text_cap - c->text_used < NAME_TEXT_MAX) return GW_DNS_FULL;
    for (;;) {
        if (pos >= n) return GW_DNS_NAME_PAST;
        size_t size = d[pos];
        if (size == 0) {
            pos += 1;
            break;
        }
        if ((size & 0xC0) == 0xC0) {
            if (pos + 1 >= n) return GW_DNS_POINTER_CUT;
            size_t target = ((size & 0x3F) << 8) | d[pos + 1];
            if (!pointed) after = pos + 2, pointed = 1;
            pointers++;
            if (target >= n) return GW_DNS_POINTER_PAST;
            if (pointers > GW_DNS_MAX_POINTERS) return GW_DNS_POINTER_LOOP;
            pos = target;
            continue;
        }
        if (size & 0xC0) return (size >> 6) == 1 ? GW_DNS_LABEL_TYPE_1 : GW_DNS_LABEL_TYPE_2;
        if (size + 1 > n - pos) return GW_DNS_LABEL_PAST;
        octets += 1 + size;
        if (octets > GW_DNS_MAX_NAME && pointed) {
            *end = after;
            return GW_DNS_NAME_TOO_LONG;
        }
        if (octets <= GW_DNS_MAX_NAME) { /* past the limit the name is dropped: keep walking only */
            if (written) out[written++] = '.';
            memcpy(out + written, d + pos + 1, size);
            written += size;
        }
        pos += 1 + size;
    }
    *end = pointed ? after : pos;
    if (octets > GW_DNS_MAX_NAME) return GW_DNS_NAME_TOO_LONG;
    *off = (int32_t)c->text_used;
    *len = (int32_t)written;
    c->text_used += written;
    return GW_DNS_OK;
}

static size_t hex_hextet(uint8_t *out, unsigned v) {
    static const char digits[] = "0123456789abcdef";
    size_t k = 0;
    for (int shift = 12; shift >= 0; shift -= 4)
        if ((v >> shift) || shift == 0 || k) out[k++] = (uint8_t)digits[(v >> shift) & 0xF];
    return k;
}

/* IPv6 text as Python's ipaddress writes it: lower-case hextets, the first longest run of two
 * or more zero hextets as "::". */
static size_t ipv6_text(const uint8_t *a, uint8_t *out) {
    unsigned h[8];
    int best = -1, best_len = 0, run = 0;
    size_t k = 0;
    for (int i = 0; i < 8; i++) {
        h[i] = gw_be16(a + 2 * i);
        run = h[i] == 0 ? run + 1 : 0;
        if (run > best_len) best_len = run, best = i - run + 1;
    }
    if (best_len < 2) best = -1;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            out[k++] = ':';
            if (i == 0) out[k++] = ':';
            i += best_len - 1;
            continue;
        }
        k += hex_hextet(out + k, h[i]);
        if (i < 7) out[k++] = ':';
    }
    return k;
}

static size_t ipv4_text(const uint8_t *a, uint8_t *out) {
    size_t k = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100) out[k++] = (uint8_t)('0' + v / 100);
        if (v >= 10) out[k++] = (uint8_t)('0' + v / 10 % 10);
        out[k++] = (uint8_t)('0' + v % 10);
        if (i < 3) out[k++] = '.';
    }
    return k;
}

/* dns.py _rdata_text: a bad name inside the rdata leaves it None, it does not fail the record. */
static int rdata_text(ctx *c, uint32_t rtype, size_t pos, size_t end, gw_dns_item *item) {
    size_t length = end - pos, name_end;
    item->rdata_kind = GW_RDATA_NONE;
    if ((rtype == 1 && length == 4) || (rtype == 28 && length == 16)) {
        if (c->text_cap - c->text_used < 40) return GW_DNS_FULL;
        uint8_t *out = c->text + c->text_used;
        size_t k = rtype == 1 ? ipv4_text(c->data + pos, out) : ipv6_text(c->data + pos, out);
        item->rdata_kind = GW_RDATA_TEXT, item->rdata_off = (int32_t)c->text_used, item->rdata_len = (int32_t)k;
        c->text_used += k;
    } else if (rtype == 2 || rtype == 5 || rtype == 12 || (rtype == 15 && length >= 3)) {
        int verdict = read_name(c, rtype == 15 ? pos + 2 : pos, &item->rdata_off, &item->rdata_len, &name_end);
        if (verdict == GW_DNS_FULL) return verdict;
        if (verdict == GW_DNS_OK) item->rdata_kind = GW_RDATA_TEXT;
    } else if (rtype == 16) {
        item->rdata_kind = GW_RDATA_STRINGS, item->rdata_off = (int32_t)c->parts_used, item->rdata_len = 0;
        for (size_t cursor = pos; cursor < end; cursor += 1 + (size_t)c->data[cursor]) {
            if (c->parts_used == c->parts_cap) return GW_DNS_FULL;
            size_t start = cursor + 1, stop = start + c->data[cursor];
            if (stop > end) stop = end;
            c->parts[2 * c->parts_used] = (int32_t)start;
            c->parts[2 * c->parts_used + 1] = (int32_t)(stop > start ? stop - start : 0);
            c->parts_used++, item->rdata_len++;
        }
    }
    return GW_DNS_OK;
}

/* A question's or record's owner name: too long is not an error (*dropped), others are. */
static int owner_name(ctx *c, size_t *pos, gw_dns_item *item, int *dropped) {
    size_t end = 0;
    int verdict = read_name(c, *pos, &item->name_off, &item->name_len, &end);
    *dropped = verdict == GW_DNS_NAME_TOO_LONG;
    if (verdict != GW_DNS_OK && !*dropped) return verdict;
    *pos = end;
    return GW_DNS_OK;
}

static int read_record(ctx *c, size_t *pos, gw_dns_item *item, int *dropped) {
    int verdict = owner_name(c, pos, item, dropped);
    if (verdict != GW_DNS_OK) return verdict;
    if (10 > c->n - *pos) return GW_DNS_HEADER_PAST;
    const uint8_t *p = c->data + *pos;
    item->type = gw_be16(p);
    item->klass_or_ttl = gw_be32(p + 4);
    size_t rdlength = gw_be16(p + 8);
    *pos += 10;
    if (rdlength > c->n - *pos) return GW_DNS_RDATA_PAST;
    size_t start = *pos;
    *pos += rdlength;
    if (*dropped) return GW_DNS_OK;
    return rdata_text(c, item->type, start, *pos, item);
}

int gw_dns_parse(const uint8_t *data, size_t n, gw_dns_message *msg, gw_dns_item *items, size_t items_cap,
                 uint8_t *text, size_t text_cap, int32_t *parts, size_t parts_cap) {
    ctx c = {data, n, text, text_cap, 0, parts, parts_cap, 0};
    size_t pos = 12, used = 0;
    int dropped, verdict;
    memset(msg, 0, sizeof *msg);
    if (n < 12) return GW_DNS_SHORT;
    msg->id = gw_be16(data);
    msg->is_response = (data[2] & 0x80) != 0;
    msg->rcode = data[3] & 0xF;
    unsigned qdcount = gw_be16(data + 4), ancount = gw_be16(data + 6);
    for (unsigned q = 0; q < qdcount; q++) {
        if (used == items_cap) return GW_DNS_FULL;
        gw_dns_item *item = &items[used];
        if ((verdict = owner_name(&c, &pos, item, &dropped)) != GW_DNS_OK) return verdict;
        if (4 > n - pos) return GW_DNS_QUESTION_PAST;
        item->type = gw_be16(data + pos);
        item->klass_or_ttl = gw_be16(data + pos + 2);
        item->rdata_kind = GW_RDATA_NONE;
        pos += 4;
        if (dropped) msg->malformed++;
        else used++, msg->questions++;
    }
    for (unsigned a = 0; a < ancount; a++) {
        if (used == items_cap) return GW_DNS_FULL;
        if ((verdict = read_record(&c, &pos, &items[used], &dropped)) != GW_DNS_OK) return verdict;
        if (dropped) msg->malformed++;
        else used++, msg->answers++;
    }
    return GW_DNS_OK;
}
