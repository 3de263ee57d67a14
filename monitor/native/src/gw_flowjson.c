/* Finished-flow records as JSON lines from columns (see gw_flowjson.h). */
#include "gw_flowjson.h"

#include <math.h>
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

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

static int within(u128 x, u128 low, u128 high, int inclusive) {
    return inclusive ? (x >= low && x <= high) : (x > low && x < high);
}

/* The shortest digits of value exactly, in 128-bit integers, where they fit: value = m 2^e
 * with e <= 0, scaled by 10^q (q <= 20) to 17 integer digits. A p-digit number reads back as
 * value if it lies inside the interval of
 * reals that round to value (the midpoints to its neighbours, included when m is even): one
 * of the two p-digit numbers around value does, if any p-digit number does, and the nearer is
 * taken. The shortest such p is found by bisection: if p digits read back, so do p + 1. Returns 0 when
 * value is out of this range (the caller then uses printf and strtod). */
static int exact_digits(double value, char *digits, int *exponent) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    int biased = (int)((bits >> 52) & 0x7ff);
    uint64_t m = bits & ((1ULL << 52) - 1);
    if (biased == 0 || biased == 0x7ff)
        return 0;
    m |= 1ULL << 52;
    int e = biased - 1075;
    if (e > 0 || e < -120)
        return 0;
    int q = 16 - (int)floor(log10(value));
    if (q < 0 || q > 20)
        return 0;
    u128 pow10[22];
    pow10[0] = 1;
    for (int i = 1; i < 22; i++)
        pow10[i] = pow10[i - 1] * 10;
    u128 den = (u128)1 << (-e + 2); /* quarter units of 2^e: value = 4m, its neighbours' midpoints 4m -+ 2 */
    u128 low = 4 * (u128)m - ((m == 1ULL << 52 && biased > 1) ? 1 : 2), high = 4 * (u128)m + 2;
    u128 scaled = 4 * (u128)m * pow10[q]; /* value 10^q, times den */
    if (scaled < pow10[16] * den) /* log10 was one too low or high: 17 integer digits exactly */
        q++, scaled *= 10;
    else if (scaled >= pow10[17] * den)
        q--, scaled /= 10; /* exact: a factor of 10 was just multiplied in */
    if (q < 0 || q > 20)
        return 0;
    int inclusive = (m & 1) == 0;
    u128 lo_bound = low * pow10[q], hi_bound = high * pow10[q];
    uint64_t best = 0;
    int best_p = 0, lo_p = 1, hi_p = 17;
    while (lo_p <= hi_p) {
        int p = (lo_p + hi_p) / 2;
        u128 unit = den * pow10[17 - p];
        u128 below = scaled / unit, rest = scaled % unit;
        /* of the two p-digit neighbours of value, those inside; the nearer (ties: the even) */
        int below_in = within(below * unit, lo_bound, hi_bound, inclusive);
        int above_in = rest && within((below + 1) * unit, lo_bound, hi_bound, inclusive);
        int take_above = above_in && (!below_in || rest * 2 > unit || (rest * 2 == unit && (below & 1)));
        if (below_in || above_in)
            best = (uint64_t)(below + take_above), best_p = p, hi_p = p - 1;
        else
            lo_p = p + 1;
    }
    if (!best_p)
        return 0;
    *exponent = 16 - q;
    if (best == (uint64_t)pow10[best_p]) /* rounded up to a power of ten: one digit more, then dropped */
        (*exponent)++, best /= 10;
    int n = format_uint(best, digits);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    return n;
}
#endif

/* Adds one unit in the last digit of printf's "d.ddde+XX" (a carry out of the first digit
 * becomes "1.000" and the exponent one more). */
static void increment_digits(char *text, size_t size) {
    char *e = strchr(text, 'e');
    for (char *p = e - 1; p >= text; p--) {
        if (*p < '0' || *p > '9')
            continue;
        if (*p != '9') {
            (*p)++;
            return;
        }
        *p = '0';
    }
    text[0] = '1';
    snprintf(e, size - (size_t)(e - text), "e%+03d", atoi(e + 1) + 1);
}

/* A `precision`-digit form of value that reads back as value, in text; 0 if none does. The
 * nearer of the two p-digit numbers around value is printf's correctly rounded one; if it does
 * not read back but the one above does (value a power of two: the interval of reals rounding
 * to it is narrower below), that one. */
static int digits_reading_back(double value, int precision, char *text, size_t size) {
    snprintf(text, size, "%.*e", precision - 1, value);
    double back = strtod(text, NULL);
    if (back == value)
        return 1;
    if (back > value)
        return 0;
    increment_digits(text, size);
    return strtod(text, NULL) == value;
}

/* The shortest digits that read back as value (Python's repr), by printf and strtod. Some
 * p-digit number reads back if some p-digit number with fewer significant digits does, so 16
 * digits are tried first: times (int ns / 1e9) mostly need 17. Up to 15 digits every decimal
 * survives a normal double, so the only 15-digit form reading back, trailing zeros dropped, is
 * the shortest. Subnormals hold fewer digits: every precision is tried, from one. */
static int shortest_digits(double value, char *digits, int *exponent) {
    char text[48];
#ifdef __SIZEOF_INT128__
    int exact = exact_digits(value, digits, exponent);
    if (exact)
        return exact;
#endif
    if (value < 2.2250738585072014e-308) {
        int precision = 1;
        while (precision < 17 && !digits_reading_back(value, precision, text, sizeof text))
            precision++;
        if (precision == 17 && !digits_reading_back(value, 17, text, sizeof text))
            snprintf(text, sizeof text, "%.16e", value);
    } else if (!digits_reading_back(value, 16, text, sizeof text)) {
        if (!digits_reading_back(value, 17, text, sizeof text))
            snprintf(text, sizeof text, "%.16e", value); /* not reached: 17 digits always do */
    } else if (!digits_reading_back(value, 15, text, sizeof text)) {
        digits_reading_back(value, 16, text, sizeof text);
    }
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

/* A double written before in this line, written again by copying its text. */
typedef struct {
    const uint8_t *at;
    int len;
} written;

static written put_double_kept(writer *w, double value) {
    written text = {w->at, gw_format_double(value, (char *)w->at)};
    w->at += text.len;
    return text;
}

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
    double last = (double)c->last_ns[r] / 1e9;
    PUT_LITERAL(w, "{\"ts\": ");
    written first_text = put_double_kept(w, first); /* ts, then first_seen and maybe last_seen again */
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
    put(w, (const char *)first_text.at, (size_t)first_text.len);
    PUT_LITERAL(w, ", \"last_seen\": ");
    if (last == first)
        put(w, (const char *)first_text.at, (size_t)first_text.len);
    else
        put_double(w, last);
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
