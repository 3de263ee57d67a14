/* Finished-flow records as JSON lines from columns (see gw_flowjson.h). */
#include "gw_flowjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed text of a line, and the most bytes a row's numbers and addresses can take. */
#define INT_MAX_CHARS 20 /* -9223372036854775808 */
#define KEYS_MAX_CHARS 512
#define ROW_FIXED_MAX (KEYS_MAX_CHARS + 9 * INT_MAX_CHARS + 4 * GW_DOUBLE_MAX + 2 * GW_ADDRESS_MAX + 8 + 16)

static const char HEX[] = "0123456789abcdef";

int gw_text_column_check(const gw_text_column *column, int64_t n_rows) {
    if (column->n_entries < 0 || column->blob_len < 0 || column->offsets[0] != 0)
        return -1;
    for (int64_t i = 0; i < column->n_entries; i++)
        if (column->offsets[i + 1] < column->offsets[i])
            return -1;
    if (column->offsets[column->n_entries] > column->blob_len)
        return -1;
    for (int64_t r = 0; r < n_rows; r++)
        if (column->index[r] < 0 || column->index[r] >= column->n_entries)
            return -1;
    return 0;
}

static int64_t entry_len(const gw_text_column *column, int64_t row) {
    int64_t i = column->index[row];
    return column->offsets[i + 1] - column->offsets[i];
}

int64_t gw_flowjson_bound(const gw_flow_columns *c) {
    const gw_text_column *texts[] = {&c->community, &c->direction, &c->app_proto, &c->names, &c->tunnel, &c->suffix};
    int64_t per_row = ROW_FIXED_MAX + c->reason_len;
    if (c->reason_len < 0 || c->n < 0 || c->n > INT64_MAX / per_row)
        return -1;
    int64_t total = c->n * per_row;
    for (int64_t r = 0; r < c->n; r++)
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            int64_t len = entry_len(texts[t], r);
            if (total > INT64_MAX - len)
                return -1;
            total += len;
        }
    return total;
}

/* ------------------------------------------------------------ numbers */

static int format_uint(uint64_t value, char *out) {
    char digits[INT_MAX_CHARS];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (int i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    return n;
}

static int format_int(int64_t value, char *out) {
    if (value >= 0)
        return format_uint((uint64_t)value, out);
    out[0] = '-';
    return 1 + format_uint(0 - (uint64_t)value, out + 1);
}

/* The shortest digits that read back as value (Python's repr): the correctly rounded 15-, 16-
 * or 17-digit form, whichever is first to round-trip. Up to 15 digits every decimal survives
 * a (normal) double, so the 15-digit form with its trailing zeros dropped is then the shortest.
 * Subnormals hold fewer digits: every precision is tried, from one. */
static int shortest_digits(double value, char *digits, int *exponent) {
    char text[48];
    for (int precision = value < 2.2250738585072014e-308 ? 1 : 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*e", precision - 1, value);
        if (precision < 17 && strtod(text, NULL) != value)
            continue;
        char *e = strchr(text, 'e');
        int n = 0;
        for (char *p = text; p < e; p++)
            if (*p >= '0' && *p <= '9')
                digits[n++] = *p;
        while (n > 1 && digits[n - 1] == '0')
            n--;
        *exponent = atoi(e + 1);
        return n;
    }
    return 0; /* not reached */
}

int gw_format_double(double value, char *out) {
    int len = 0;
    if (value != value)
        return (int)(memcpy(out, "NaN", 3), 3);
    if (value < 0 || (value == 0 && 1 / value < 0)) {
        out[len++] = '-';
        value = -value;
    }
    if (value > 1.7976931348623157e308)
        return (memcpy(out + len, "Infinity", 8), len + 8);
    if (value == 0)
        return (memcpy(out + len, "0.0", 3), len + 3);
    char digits[20];
    int exponent;
    int n = shortest_digits(value, digits, &exponent);
    int point = exponent + 1; /* digits d1 d2 ... with the decimal point after `point` of them */
    if (point <= -4 || point > 16) { /* Python's repr switches to an exponent here */
        out[len++] = digits[0];
        if (n > 1) {
            out[len++] = '.';
            memcpy(out + len, digits + 1, (size_t)(n - 1));
            len += n - 1;
        }
        len += snprintf(out + len, 8, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
    } else if (point <= 0) {
        memcpy(out + len, "0.", 2);
        len += 2;
        memset(out + len, '0', (size_t)-point);
        len += -point;
        memcpy(out + len, digits, (size_t)n);
        len += n;
    } else if (point >= n) {
        memcpy(out + len, digits, (size_t)n);
        len += n;
        memset(out + len, '0', (size_t)(point - n));
        len += point - n;
        memcpy(out + len, ".0", 2);
        len += 2;
    } else {
        memcpy(out + len, digits, (size_t)point);
        len += point;
        out[len++] = '.';
        memcpy(out + len, digits + point, (size_t)(n - point));
        len += n - point;
    }
    return len;
}

/* ------------------------------------------------------------ addresses */

static int format_v4(uint32_t address, char *out) {
    int len = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        len += format_uint((address >> shift) & 255, out + len);
        if (shift)
            out[len++] = '.';
    }
    return len;
}

/* glibc's inet_ntop: the first longest run of two or more zero groups becomes "::", and an
 * address of six zero groups, or five and ffff, ends in dotted IPv4. */
static int format_v6(uint64_t hi, uint64_t lo, char *out) {
    uint16_t words[8];
    for (int i = 0; i < 4; i++) {
        words[i] = (uint16_t)(hi >> (48 - 16 * i));
        words[4 + i] = (uint16_t)(lo >> (48 - 16 * i));
    }
    int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        if (words[i] == 0) {
            if (cur_base < 0)
                cur_base = i, cur_len = 0;
            cur_len++;
            if (cur_len > best_len)
                best_base = cur_base, best_len = cur_len;
        } else {
            cur_base = -1;
        }
    }
    if (best_len < 2)
        best_base = -1;
    int len = 0;
    for (int i = 0; i < 8; i++) {
        if (best_base >= 0 && i >= best_base && i < best_base + best_len) {
            if (i == best_base)
                out[len++] = ':';
            continue;
        }
        if (i)
            out[len++] = ':';
        if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)))
            return len + format_v4((uint32_t)lo, out + len);
        len += snprintf(out + len, 5, "%x", words[i]);
    }
    if (best_base >= 0 && best_base + best_len == 8)
        out[len++] = ':';
    return len;
}

int gw_format_address(uint8_t version, uint64_t hi, uint64_t lo, char *out) {
    return version == 4 ? format_v4((uint32_t)lo, out) : format_v6(hi, lo, out);
}

/* ------------------------------------------------------------ lines */

typedef struct {
    uint8_t *at;
} writer;

static void put(writer *w, const char *text, size_t len) {
    memcpy(w->at, text, len);
    w->at += len;
}

#define PUT_LITERAL(w, text) put((w), (text), sizeof(text) - 1)

static void put_entry(writer *w, const gw_text_column *column, int64_t row) {
    int64_t i = column->index[row];
    put(w, (const char *)column->blob + column->offsets[i], (size_t)(column->offsets[i + 1] - column->offsets[i]));
}

static void put_int(writer *w, int64_t value) { w->at += format_int(value, (char *)w->at); }

static void put_double(writer *w, double value) { w->at += gw_format_double(value, (char *)w->at); }

static void put_address(writer *w, uint8_t version, uint64_t hi, uint64_t lo) {
    *w->at++ = '"';
    w->at += gw_format_address(version, hi, lo, (char *)w->at);
    *w->at++ = '"';
}

static const char *proto_name(uint8_t proto) {
    switch (proto) {
    case 1: return "icmp";
    case 2: return "igmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "ipv6-icmp";
    case 132: return "sctp";
    case 47: return "gre";
    case 50: return "esp";
    default: return NULL;
    }
}

static void put_proto(writer *w, uint8_t proto) {
    const char *name = proto_name(proto);
    *w->at++ = '"';
    if (name)
        put(w, name, strlen(name));
    else
        w->at += format_uint(proto, (char *)w->at);
    *w->at++ = '"';
}

static void put_flags(writer *w, uint8_t flags) {
    *w->at++ = (uint8_t)HEX[flags >> 4];
    *w->at++ = (uint8_t)HEX[flags & 15];
}

static void write_row(writer *w, const gw_flow_columns *c, int64_t r) {
    double first = (double)c->first_ns[r] / 1e9; /* as numpy's int64 / 1e9 */
    PUT_LITERAL(w, "{\"ts\": ");
    put_double(w, first);
    PUT_LITERAL(w, ", \"flow_id\": ");
    put_int(w, c->flow_id[r]);
    PUT_LITERAL(w, ", \"community_id\": ");
    put_entry(w, &c->community, r);
    PUT_LITERAL(w, ", \"proto\": ");
    put_proto(w, c->proto[r]);
    PUT_LITERAL(w, ", \"orig_h\": ");
    put_address(w, c->version[r], c->orig_hi[r], c->orig_lo[r]);
    PUT_LITERAL(w, ", \"orig_p\": ");
    put_int(w, c->orig_p[r]);
    PUT_LITERAL(w, ", \"resp_h\": ");
    put_address(w, c->version[r], c->resp_hi[r], c->resp_lo[r]);
    PUT_LITERAL(w, ", \"resp_p\": ");
    put_int(w, c->resp_p[r]);
    PUT_LITERAL(w, ", \"vlan\": ");
    if (c->vlan[r])
        w->at += format_uint(c->vlan[r], (char *)w->at);
    else
        PUT_LITERAL(w, "null");
    PUT_LITERAL(w, ", \"direction\": ");
    put_entry(w, &c->direction, r);
    PUT_LITERAL(w, ", \"orig_pkts\": ");
    put_int(w, c->orig_pkts[r]);
    PUT_LITERAL(w, ", \"orig_ip_bytes\": ");
    put_int(w, c->orig_ip_bytes[r]);
    PUT_LITERAL(w, ", \"resp_pkts\": ");
    put_int(w, c->resp_pkts[r]);
    PUT_LITERAL(w, ", \"resp_ip_bytes\": ");
    put_int(w, c->resp_ip_bytes[r]);
    PUT_LITERAL(w, ", \"orig_bytes\": ");
    put_int(w, c->orig_bytes[r]);
    PUT_LITERAL(w, ", \"resp_bytes\": ");
    put_int(w, c->resp_bytes[r]);
    PUT_LITERAL(w, ", \"first_seen\": ");
    put_double(w, first);
    PUT_LITERAL(w, ", \"last_seen\": ");
    put_double(w, (double)c->last_ns[r] / 1e9);
    PUT_LITERAL(w, ", \"duration\": ");
    /* as numpy: the int64 difference (wrapping), then / 1e9 */
    put_double(w, (double)(int64_t)((uint64_t)c->last_ns[r] - (uint64_t)c->first_ns[r]) / 1e9);
    PUT_LITERAL(w, ", \"app_proto\": ");
    put_entry(w, &c->app_proto, r);
    PUT_LITERAL(w, ", \"names\": ");
    put_entry(w, &c->names, r);
    PUT_LITERAL(w, ", \"reason\": ");
    put(w, (const char *)c->reason, (size_t)c->reason_len);
    put_entry(w, &c->tunnel, r);
    if (c->proto[r] == 6) {
        PUT_LITERAL(w, ", \"tcp_flags_orig\": \"");
        put_flags(w, c->flags_orig[r]);
        PUT_LITERAL(w, "\", \"tcp_flags_resp\": \"");
        put_flags(w, c->flags_resp[r]);
        *w->at++ = '"';
    }
    put_entry(w, &c->suffix, r);
    PUT_LITERAL(w, "}\n");
}

int64_t gw_flowjson_write(const gw_flow_columns *c, uint8_t *out, int64_t out_cap, int64_t *line_ends) {
    int64_t bound = gw_flowjson_bound(c);
    if (bound < 0 || bound > out_cap)
        return -1;
    writer w = {out};
    for (int64_t r = 0; r < c->n; r++) {
        write_row(&w, c, r);
        line_ends[r] = w.at - out;
    }
    return w.at - out;
}
