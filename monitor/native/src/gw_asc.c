/* Vector ASC frame lines, read exactly as python-can 4.6's ASCReader reads them (its regex
 * ASC_MESSAGE_REGEX, str.split, int(token, base), float). A line of plain ASCII in the usual
 * shapes is read here; any other line (non-ASCII, an int() spelling such as "+1" or "0x1", a
 * token python-can would raise on, a DLC/length mismatch it warns about, a trigger block
 * date) is handed back, so the caller's python-can gives it the very same reading. */
#include "gw_asc.h"

enum { READ = 0, SKIP = 1, CALLER = 2 };

typedef struct { const uint8_t *p, *end; } span;

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_word(uint8_t c) {
    return is_digit(c) || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }
static int hex_value(uint8_t c) {
    if (is_digit(c)) return c - '0';
    c = lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static void skip_spaces(span *s) {
    while (s->p < s->end && is_space(*s->p)) s->p++;
}

/* The next whitespace-separated token (str.split's), or 0 when none is left. */
static int token(span *s, span *tok) {
    skip_spaces(s);
    if (s->p >= s->end) return 0;
    tok->p = s->p;
    while (s->p < s->end && !is_space(*s->p)) s->p++;
    tok->end = s->p;
    return 1;
}

/* What str.split(None, k) leaves as its last field: the rest after the spaces, or 0 if empty. */
static int rest(span *s, span *out) {
    skip_spaces(s);
    if (s->p >= s->end) return 0;
    *out = *s;
    return 1;
}

static int prefix_nocase(span s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s.end - s.p) < n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s.p[i]) != (uint8_t)word[i]) return 0;
    return 1;
}

static int equals(span s, const char *word) {
    size_t n = strlen(word);
    return (size_t)(s.end - s.p) == n && memcmp(s.p, word, n) == 0;
}

static int all_digits(span s) {
    if (s.p >= s.end) return 0;
    for (const uint8_t *c = s.p; c < s.end; c++)
        if (!is_digit(*c)) return 0;
    return 1;
}

/* int(token, base) for plain digits only (no sign, "_", "0x", spaces): 0 when the token is
 * another spelling or too long to be sure of in 64 bits; the caller's Python decides those. */
static int parse_uint(span s, int base, uint64_t *value) {
    size_t n = (size_t)(s.end - s.p);
    if (n == 0 || n > (base == 16 ? 15u : 18u)) return 0;
    uint64_t v = 0;
    for (const uint8_t *c = s.p; c < s.end; c++) {
        int d = base == 16 ? hex_value(*c) : (is_digit(*c) ? *c - '0' : -1);
        if (d < 0) return 0;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *value = v;
    return 1;
}

/* float() of "digits.digits" where it is exact in one IEEE division (Clinger's fast path:
 * a mantissa up to 2^53 over a power of ten up to 1e22, correctly rounded like Python's). */
static int parse_seconds(span s, double *seconds) {
    static const double tens[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t mantissa = 0;
    int fraction = -1, digits = 0;
    for (const uint8_t *c = s.p; c < s.end; c++) {
        if (*c == '.') {
            fraction = 0;
            continue;
        }
        if (mantissa > 0 || *c != '0') digits++;
        if (digits > 16) return 0;
        mantissa = mantissa * 10 + (uint64_t)(*c - '0');
        if (fraction >= 0) fraction++;
    }
    if (fraction < 0 || fraction > 22 || mantissa > (1ull << 53)) return 0;
    *seconds = (double)mantissa / tens[fraction];
    return 1;
}

/* A CAN id token: "123" or "123x" (extended), read in base. */
static int parse_id(span s, int base, uint32_t *id, uint8_t *extended) {
    *extended = 0;
    if (s.end > s.p && lower(s.end[-1]) == 'x') {
        *extended = 1;
        s.end--;
    }
    uint64_t value;
    if (!parse_uint(s, base, &value)) return 0;
    *id = (uint32_t)(value & 0x1FFFFFFFu);
    return 1;
}

/* The first `wanted` data byte tokens into out; their count in *got. */
static int parse_data(span s, int base, uint64_t wanted, uint8_t out[GW_CANLOG_MAX_DATA], uint32_t *got) {
    span tok;
    uint64_t n = 0;
    while (n < wanted && token(&s, &tok)) {
        uint64_t value;
        if (!parse_uint(tok, base, &value) || value > 255) return 0;
        if (n < GW_CANLOG_MAX_DATA) out[n] = (uint8_t)value;
        n++;
    }
    *got = (uint32_t)(n < GW_CANLOG_MAX_DATA ? n : GW_CANLOG_MAX_DATA);
    return 1;
}

/* A line's parsed frame, written to the columns only once the whole line has been read. */
typedef struct {
    double timestamp;
    int64_t channel;
    uint32_t id;
    uint8_t extended, remote, error, fd, brs, esi, rx, dlc;
    uint8_t data[GW_CANLOG_MAX_DATA];
} frame;

static int channel_number(span s, int64_t *channel) {
    uint64_t value;
    if (!all_digits(s) || (size_t)(s.end - s.p) > 9 || !parse_uint(s, 10, &value)) return 0;
    *channel = (int64_t)value - 1; /* python-can: channel "1" is 0 */
    return 1;
}

/* _process_classic_can_frame on "id dir d|r dlc bytes..." (or "ErrorFrame ..."). */
static int classic_frame(span s, int base, frame *fr) {
    if (prefix_nocase(s, "errorframe")) {
        fr->error = 1;
        fr->extended = 1; /* python-can's Message default */
        return READ;
    }
    span id, dir, more, kind, dlc_tok;
    if (!token(&s, &id) || !token(&s, &dir) || !rest(&s, &more)) return CALLER; /* ValueError */
    fr->rx = equals(dir, "Rx");
    if (!parse_id(id, base, &fr->id, &fr->extended)) return CALLER;
    if (lower(*more.p) == 'r') {
        fr->remote = 1;
        token(&more, &kind);
        if (token(&more, &dlc_tok) && all_digits(dlc_tok)) {
            uint64_t dlc;
            if (!parse_uint(dlc_tok, base, &dlc)) return CALLER;
            fr->dlc = (uint8_t)(dlc < GW_CANLOG_MAX_DATA ? dlc : GW_CANLOG_MAX_DATA);
        }
        return READ;
    }
    uint64_t dlc;
    uint32_t got;
    token(&more, &kind);
    if (!token(&more, &dlc_tok)) return CALLER; /* python-can's second split raises */
    if (!parse_uint(dlc_tok, base, &dlc)) return CALLER;
    uint32_t length = gw_canlog_dlc2len(dlc);
    if (!parse_data(more, base, length < 8 ? length : 8, fr->data, &got)) return CALLER;
    fr->dlc = (uint8_t)got;
    return READ;
}

/* _process_fd_can_frame on "channel dir id [name] brs esi dlc length bytes...". */
static int fd_frame(span s, int base, frame *fr) {
    span ch, dir, more, id, second, brs, esi, dlc_tok, length_tok, data;
    fr->fd = 1;
    if (!token(&s, &ch) || !token(&s, &dir) || !rest(&s, &more)) return CALLER;
    if (!channel_number(ch, &fr->channel)) return CALLER;
    fr->rx = equals(dir, "Rx");
    if (prefix_nocase(more, "errorframe")) {
        fr->error = 1;
        fr->extended = 1;
        return READ;
    }
    if (!token(&more, &id) || !token(&more, &second) || !rest(&more, &more)) return CALLER;
    if (all_digits(second)) {
        brs = second;
    } else if (!token(&more, &brs)) {
        return CALLER;
    }
    if (!token(&more, &esi) || !token(&more, &dlc_tok) || !token(&more, &length_tok) || !rest(&more, &data))
        return CALLER;
    uint64_t dlc, length;
    if (!parse_id(id, base, &fr->id, &fr->extended) || !parse_uint(dlc_tok, base, &dlc)) return CALLER;
    if (!all_digits(length_tok) || !parse_uint(length_tok, 10, &length)) return CALLER;
    fr->brs = equals(brs, "1");
    fr->esi = equals(esi, "1");
    if (length == 0) {
        fr->remote = 1;
        fr->dlc = (uint8_t)(dlc < GW_CANLOG_MAX_DATA ? dlc : GW_CANLOG_MAX_DATA);
        return READ;
    }
    if (gw_canlog_dlc2len(dlc) != length) return CALLER; /* python-can logs a warning */
    uint32_t got;
    if (!parse_data(data, base, length, fr->data, &got)) return CALLER;
    fr->dlc = (uint8_t)got;
    return READ;
}

/* "\d+\.\d+\s+": the timestamp token python-can's regexes start with; s moves past it. */
static int timestamp_token(span *s, span *tok) {
    const uint8_t *c = s->p;
    tok->p = c;
    while (c < s->end && is_digit(*c)) c++;
    if (c == tok->p || c >= s->end || *c != '.') return 0;
    const uint8_t *fraction = ++c;
    while (c < s->end && is_digit(*c)) c++;
    if (c == fraction || c >= s->end || !is_space(*c)) return 0;
    tok->end = c;
    s->p = c;
    skip_spaces(s);
    return 1;
}

/* ASC_MESSAGE_REGEX after the timestamp: "\d+\s+(\w+\s+(Tx|Rx)|ErrorFrame)" or "CANFD". */
static int message_shape(span s) {
    if (prefix_nocase(s, "canfd")) return 1;
    const uint8_t *c = s.p;
    while (c < s.end && is_digit(*c)) c++;
    if (c == s.p || c >= s.end || !is_space(*c)) return 0;
    while (c < s.end && is_space(*c)) c++;
    span after = {c, s.end};
    if (prefix_nocase(after, "errorframe")) return 1;
    const uint8_t *word = c;
    while (c < s.end && is_word(*c)) c++;
    if (c == word || c >= s.end || !is_space(*c)) return 0;
    while (c < s.end && is_space(*c)) c++;
    span dir = {c, s.end};
    return prefix_nocase(dir, "tx") || prefix_nocase(dir, "rx");
}

/* One line (stripped of its newline): READ with *fr filled, SKIP, or CALLER. */
static int parse_line(span line, const gw_asc_options *options, frame *fr) {
    for (const uint8_t *c = line.p; c < line.end; c++)
        if (*c > 0x7e || (*c < 0x20 && !is_space(*c))) return CALLER; /* str.strip/split differ */
    skip_spaces(&line);
    while (line.end > line.p && is_space(line.end[-1])) line.end--;
    if (prefix_nocase(line, "begin")) return CALLER; /* a trigger block's date: strptime */
    span time_tok, channel, body;
    if (line.p >= line.end || !timestamp_token(&line, &time_tok)) return SKIP;
    if (line.end - line.p >= 20 && memcmp(line.p, "Start of measurement", 20) == 0) return SKIP;
    if (!message_shape(line)) return SKIP;
    if (!token(&line, &channel) || !rest(&line, &body)) return SKIP; /* too few fields: skipped */
    if (!parse_seconds(time_tok, &fr->timestamp)) return CALLER;
    fr->timestamp += options->start_time;
    if (equals(channel, "CANFD")) return fd_frame(body, options->base, fr);
    if (!all_digits(channel)) return SKIP; /* "statistic", J1939TP, ... */
    if (!channel_number(channel, &fr->channel)) return CALLER;
    return classic_frame(body, options->base, fr);
}

static int store(gw_frames *f, const frame *fr) {
    int32_t code = gw_canlog_channel(f, fr->channel);
    if (code < 0) return 0;
    size_t i = gw_canlog_row(f, fr->timestamp, (uint16_t)code);
    f->arbitration_id[i] = fr->id;
    f->is_extended[i] = fr->extended;
    f->is_remote[i] = fr->remote;
    f->is_error[i] = fr->error;
    f->is_fd[i] = fr->fd;
    f->bitrate_switch[i] = fr->brs;
    f->esi[i] = fr->esi;
    f->is_rx[i] = fr->rx;
    f->dlc[i] = fr->dlc;
    if (!fr->remote && fr->dlc) memcpy(f->data + i * GW_CANLOG_MAX_DATA, fr->data, fr->dlc);
    return 1;
}

/* The end of the line starting at p and where the next starts; 0 if it may not be complete. */
static int find_line(const uint8_t *buf, size_t len, size_t p, int at_eof, size_t *end, size_t *next) {
    size_t i = p;
    while (i < len && buf[i] != '\n' && buf[i] != '\r') i++;
    if (i == len) {
        if (!at_eof) return 0;
        *end = *next = len;
        return 1;
    }
    *end = i;
    if (buf[i] == '\r') {
        if (i + 1 == len && !at_eof) return 0; /* "\r\n" may be split across reads */
        *next = (i + 1 < len && buf[i + 1] == '\n') ? i + 2 : i + 1;
    } else {
        *next = i + 1;
    }
    return 1;
}

int gw_asc_parse(const uint8_t *buf, size_t len, int at_eof, const gw_asc_options *options,
                 gw_frames *f, size_t *pos, size_t *line_end, size_t *next, uint64_t *lines) {
    size_t p = *pos;
    while (p < len) {
        size_t end, after;
        if (f->n >= f->cap) {
            *pos = p;
            return GW_ASC_FULL;
        }
        if (!find_line(buf, len, p, at_eof, &end, &after)) {
            *pos = p;
            return GW_ASC_MORE;
        }
        ++*lines;
        size_t chars = end - p + (after > end ? 1 : 0);
        frame fr;
        memset(&fr, 0, sizeof fr);
        fr.rx = 1;
        span line = {buf + p, buf + end};
        int verdict = chars > options->max_line ? CALLER : parse_line(line, options, &fr);
        if (verdict == READ && !store(f, &fr)) verdict = CALLER; /* channel table full */
        if (verdict == CALLER) {
            *pos = p;
            *line_end = end;
            *next = after;
            return GW_ASC_LINE;
        }
        p = after;
    }
    *pos = p;
    return at_eof ? GW_ASC_DONE : GW_ASC_MORE;
}
