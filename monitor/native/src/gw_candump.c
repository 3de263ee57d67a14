/* candump -L lines on the file's template: see gw_candump.h. Each check mirrors one of the
 * numpy reference's (candump.py, swar.py), including its SWAR character classes: a hex digit
 * is any byte below 0x80 whose value with bit 5 set is '0'..'9' or 'a'..'f' (so bytes
 * 0x10..0x19 count as the digits 0..9, as they do there), a decimal digit exactly '0'..'9'. */
#include "gw_candump.h"

#include <string.h>

#include "gw_common.h"

#define CAN_ERR_FLAG 0x20000000u
#define EFF_MASK 0x1FFFFFFFu

static int blank(uint8_t c) { return c == 0 || c == 9 || c == 13 || c == 32; }

int64_t gw_candump_count_lines(const uint8_t *buf, int64_t buf_len, int64_t begin, int64_t limit) {
    if (begin < 0 || limit < begin || limit > buf_len) return -1;
    int64_t lines = 0;
    const uint8_t *at = buf + begin, *end = buf + limit;
    while (at < end && (at = memchr(at, '\n', (size_t)(end - at))) != NULL) {
        lines++;
        at++;
    }
    return lines;
}

int64_t gw_candump_lines(const uint8_t *buf, int64_t buf_len, int64_t begin, int64_t limit, int64_t *starts,
                         int64_t *ends, int64_t *line_index, int64_t *kept, int64_t cap) {
    if (begin < 0 || limit < begin || limit > buf_len) return -1;
    int64_t lines = 0, n_kept = 0, start = begin;
    const uint8_t *at = buf + begin, *end = buf + limit;
    while (at < end && (at = memchr(at, '\n', (size_t)(end - at))) != NULL) {
        int64_t i = at - buf;
        at++;
        if (lines >= cap) return -1;
        int64_t s = start, e = i;
        for (int round = 0; round < 8; round++) { /* both sides judged on the same bounds */
            if (e <= s) break;
            int trail = blank(buf[e - 1]), lead = blank(buf[s]);
            if (!trail && !lead) break;
            e -= trail;
            s += lead;
        }
        if (e > s) {
            starts[n_kept] = s;
            ends[n_kept] = e;
            line_index[n_kept] = lines;
            n_kept++;
        }
        lines++;
        start = i + 1;
    }
    *kept = n_kept;
    return lines;
}

static int hex_nibble(uint8_t c, uint8_t *nibble) {
    uint8_t lower = c | 0x20;
    *nibble = (uint8_t)((c & 0x0F) + 9 * ((c >> 6) & 1));
    return c < 0x80 && ((lower >= 0x30 && lower <= 0x39) || (lower >= 0x61 && lower <= 0x66));
}

static int decimal(const uint8_t *p, int digits, uint64_t *value) {
    uint64_t v = 0;
    for (int k = 0; k < digits; k++) {
        if (p[k] < '0' || p[k] > '9') return 0;
        v = v * 10 + (uint64_t)(p[k] - '0');
    }
    *value = v;
    return 1;
}

static int hex_value(const uint8_t *p, int digits, uint64_t *value) {
    uint64_t v = 0;
    for (int k = 0; k < digits; k++) {
        uint8_t nibble;
        if (!hex_nibble(p[k], &nibble)) return 0;
        v = (v << 4) | nibble;
    }
    *value = v;
    return 1;
}

static const double POW10[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* Whether the line at buf[s, e) has the template's punctuation and channel at their offsets,
 * an id of 3 or 8 digits then '#', and 0..16 data characters, an even number: *id_len and
 * *data_at say where the fields are. */
static int fits(const uint8_t *buf, int64_t buf_len, int64_t s, int64_t e, const gw_candump_template *t,
                int *id_len, int64_t *data_at) {
    int a = t->int_digits, f = t->frac_digits;
    int64_t id_at = a + f + 4 + t->channel_len + 1;
    if (e - s < id_at + 4) return 0;
    if (buf[s] != '(' || buf[s + 1 + a] != '.' || buf[s + 2 + a + f] != ')' || buf[s + 3 + a + f] != ' ') return 0;
    if (buf[s + id_at - 1] != ' ') return 0;
    for (int k = 0; k < t->channel_len; k++)
        if (buf[s + 4 + a + f + k] != t->channel[k]) return 0;
    int64_t at_std = s + id_at + 3, at_ext = s + id_at + 8;
    if (at_ext > buf_len - 1) at_ext = buf_len - 1; /* the reference clamps the same way */
    int hash_std = buf[at_std] == '#', hash_ext = buf[at_ext] == '#';
    if (!hash_std && !hash_ext) return 0;
    *id_len = hash_std ? 3 : 8;
    *data_at = s + id_at + *id_len + 1;
    int64_t nchars = e - *data_at;
    return nchars >= 0 && nchars <= 16 && nchars % 2 == 0;
}

int64_t gw_candump_template_lines(const uint8_t *buf, int64_t buf_len, const int64_t *starts, const int64_t *ends,
                                  int64_t n, const gw_candump_template *tpl, gw_candump_columns *out) {
    if (tpl->int_digits < 1 || tpl->int_digits > 10 || tpl->frac_digits < 1 || tpl->frac_digits > 9 ||
        tpl->channel_len < 1 || tpl->channel_len > 8)
        return -1;
    int64_t parsed = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t s = starts[i], e = ends[i];
        if (s < 0 || e < s || e > buf_len) return -1;
        out->template_line[i] = 0;
        int id_len;
        int64_t data_at;
        if (!fits(buf, buf_len, s, e, tpl, &id_len, &data_at)) continue;
        int a = tpl->int_digits, f = tpl->frac_digits;
        uint64_t whole, frac, ident;
        if (!decimal(buf + s + 1, a, &whole) || !decimal(buf + s + 2 + a, f, &frac)) continue;
        uint64_t total = whole * (uint64_t)POW10[f] + frac;
        if (total >= (1ull << 53)) continue; /* not exact as a double: the general parser rounds it */
        if (!hex_value(buf + s + a + f + 4 + tpl->channel_len + 1, id_len, &ident)) continue;
        int nbytes = (int)((e - data_at) / 2);
        uint8_t bytes[8] = {0};
        int ok = 1;
        for (int k = 0; k < nbytes && ok; k++) {
            uint8_t high, low;
            ok = hex_nibble(buf[data_at + 2 * k], &high) & hex_nibble(buf[data_at + 2 * k + 1], &low);
            bytes[k] = (uint8_t)((high << 4) | low);
        }
        if (!ok) continue;
        out->timestamp[i] = (double)total / POW10[f];
        out->arbitration_id[i] = (uint32_t)(ident & EFF_MASK);
        out->is_extended[i] = id_len == 8;
        out->is_error[i] = (ident & CAN_ERR_FLAG) != 0;
        out->dlc[i] = (uint8_t)nbytes;
        for (int k = 0; k < 8; k++) out->data[i * 64 + k] = bytes[k];
        out->template_line[i] = 1;
        parsed++;
    }
    return parsed;
}

/* -- the general parser: any layout, fields found by searching (candump_fields.LineFields) -- */

static int64_t first_at_or_after(const uint8_t *buf, uint8_t c, int64_t from, int64_t end) {
    for (int64_t i = from < 0 ? 0 : from; i < end; i++)
        if (buf[i] == c) return i;
    return -1;
}

static int strict_hex(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int fd_length_ok(int64_t n) {
    return (n >= 0 && n <= 8) || n == 12 || n == 16 || n == 20 || n == 24 || n == 32 || n == 48 || n == 64;
}

/* Where a line's fields are, and the first reason it is malformed found while locating them
 * (LineFields.locate, in its order). */
typedef struct {
    int64_t close, sp2, ch_start, hash, frame_end;
    int is_rx;
} line_fields;

static int locate(const uint8_t *buf, int64_t buf_len, int64_t s, int64_t e, line_fields *f) {
    if (buf[s] != '(') return GW_CANDUMP_E_OPEN;
    f->close = first_at_or_after(buf, ')', s, e);
    if (f->close < 0) return GW_CANDUMP_E_OPEN;
    int64_t sp1 = f->close + 1;
    if (sp1 >= e || buf[sp1 < buf_len ? sp1 : buf_len - 1] != ' ') return GW_CANDUMP_E_CHANNEL;
    f->sp2 = first_at_or_after(buf, ' ', sp1 + 1, e);
    if (f->sp2 < 0 || f->sp2 == sp1 + 1) return GW_CANDUMP_E_CHANNEL;
    f->ch_start = sp1 + 1;
    f->hash = first_at_or_after(buf, '#', f->sp2 + 1, e);
    if (f->hash < 0) return GW_CANDUMP_E_HASH;
    int64_t id_len = f->hash - f->sp2 - 1;
    if (id_len < 1 || id_len > 8) return GW_CANDUMP_E_ID;
    int64_t after = first_at_or_after(buf, ' ', f->hash + 1, e);
    f->frame_end = after >= 0 ? after : e;
    int64_t tail = e - f->frame_end;
    int64_t at = f->frame_end + 1 < buf_len ? f->frame_end + 1 : buf_len - 1;
    uint8_t tail_char = buf[at] | 0x20;
    f->is_rx = !(tail == 2 && tail_char == 't');
    if (tail != 0 && (tail != 2 || (tail_char != 'r' && tail_char != 't'))) return GW_CANDUMP_E_TAIL;
    return 0;
}

/* The timestamp between '(' and ')': 0 and *value, GW_CANDUMP_E_TS, or -1 where the reference
 * hands it to Python's float() (no integer digits, more than 18 digits, or not exact). */
static int timestamp(const uint8_t *buf, int64_t s, int64_t close, double *value) {
    int64_t begin = s + 1;
    int64_t dot = first_at_or_after(buf, '.', begin, close);
    if (dot < 0) dot = close;
    int64_t a = dot - begin, f = close - dot - 1;
    if (f < 0) f = 0;
    if (a == 0 || a + f > 18) return -1;
    uint64_t whole, frac;
    if (!decimal(buf + begin, (int)a, &whole) || !decimal(buf + s + 2 + a, (int)f, &frac)) return GW_CANDUMP_E_TS;
    uint64_t scale = 1;
    for (int64_t k = 0; k < f; k++) scale *= 10;
    uint64_t total = whole * scale + frac;
    if (total >= (1ull << 53)) return -1;
    *value = (double)total / (double)scale;
    return 0;
}

/* Id, FD flags, remote length, payload (LineFields.parse_values, in its order) of a located line. */
static int general_fields(const uint8_t *buf, int64_t buf_len, const line_fields *f, int64_t i,
                          gw_candump_general *out) {
    int64_t id_len = f->hash - f->sp2 - 1;
    uint64_t raw = 0;
    for (int64_t k = 0; k < id_len; k++) {
        int h = strict_hex(buf[f->sp2 + 1 + k]);
        if (h < 0) return GW_CANDUMP_E_ID;
        raw = (raw << 4) | (uint64_t)h;
    }
    out->arbitration_id[i] = (uint32_t)(raw & EFF_MASK);
    out->is_extended[i] = id_len > 3; /* python-can's rule: more than 3 digits = 29-bit */
    out->is_error[i] = (raw & CAN_ERR_FLAG) != 0;
    int64_t ds = f->hash + 1, fe = f->frame_end, last = buf_len - 1;
    int is_fd = ds < fe && buf[ds] == '#', flags = 0;
    if (is_fd) {
        if (ds + 1 >= fe) return GW_CANDUMP_E_FD;
        flags = strict_hex(buf[ds + 1 < last ? ds + 1 : last]);
        if (flags < 0) return GW_CANDUMP_E_FD;
        ds += 2;
    }
    int is_remote = ds < fe && (buf[ds] | 0x20) == 'r';
    int64_t rtr_chars = fe - ds - 1;
    uint8_t rtr_char = buf[ds + 1 < last ? ds + 1 : last];
    int rtr_digit = rtr_char >= '0' && rtr_char <= '9' ? rtr_char - '0' : -1;
    if (is_remote && (rtr_chars > 1 || (rtr_chars == 1 && rtr_digit < 0))) return GW_CANDUMP_E_RTR;
    int64_t nchars = is_remote ? 0 : fe - ds;
    if (nchars % 2 != 0) return GW_CANDUMP_E_ODD;
    int64_t nbytes = nchars / 2;
    if (is_fd ? (nbytes > 64 || !fd_length_ok(nbytes)) : nbytes > 8) return GW_CANDUMP_E_LEN;
    out->is_fd[i] = (uint8_t)is_fd;
    out->bitrate_switch[i] = (flags & 1) != 0;
    out->error_state_indicator[i] = (flags & 2) != 0;
    out->is_remote[i] = (uint8_t)is_remote;
    out->is_rx[i] = (uint8_t)f->is_rx;
    out->dlc[i] = (uint8_t)(is_remote ? (rtr_chars == 1 && rtr_digit >= 0 ? rtr_digit : 0) : nbytes);
    for (int64_t k = 0; k < nbytes; k++) {
        int high = strict_hex(buf[ds + 2 * k]), low = strict_hex(buf[ds + 2 * k + 1]);
        if (high < 0 || low < 0) return GW_CANDUMP_E_HEX;
        out->data[i * 64 + k] = (uint8_t)((high << 4) | low);
    }
    return 0;
}

int64_t gw_candump_general_lines(const uint8_t *buf, int64_t buf_len, const int64_t *starts, const int64_t *ends,
                                 int64_t n, gw_candump_general *out) {
    int64_t ok_lines = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t s = starts[i], e = ends[i];
        if (s < 0 || e <= s || e + 2 > buf_len) return -1; /* the tail character may be read past e */
        line_fields f;
        int error = locate(buf, buf_len, s, e, &f);
        out->located[i] = error == 0;
        out->slow_timestamp[i] = 0;
        out->ch_start[i] = error == 0 ? f.ch_start : 0;
        out->ch_end[i] = error == 0 ? f.sp2 : 0;
        if (error == 0) { /* a slow timestamp is Python's to judge: the other checks go on */
            int ts = timestamp(buf, s, f.close, &out->timestamp[i]);
            if (ts < 0) out->slow_timestamp[i] = 1; else error = ts;
        }
        if (error == 0) error = general_fields(buf, buf_len, &f, i, out);
        out->error[i] = (uint8_t)error;
        ok_lines += error == 0;
    }
    return ok_lines;
}
