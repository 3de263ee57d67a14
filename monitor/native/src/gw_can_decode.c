/* DBC decoding of CAN frames, frame by frame, with a flattened plan: see gw_can_decode.h.
 * Every arithmetic step follows the numpy reference (monitor/canbus/decode.py) in order and
 * type, so values are bit-identical: unsigned wrap-around where numpy's int64 would wrap,
 * separate multiply and add (no fused multiply-add, which rounds once instead of twice). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#include "gw_can_decode.h"

#include <string.h>

#include "gw_common.h"

#define EXTENDED_KEY 0x80000000u
#define MAX_DEPTH 64 /* the flattener refuses deeper multiplexer trees */

static int64_t lower_bound_u64(const uint64_t *keys, int64_t n, uint64_t key) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static int64_t lower_bound_u32(const uint32_t *keys, int64_t n, uint32_t key) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* J1939 parameter group number: priority and source dropped, PDU1 destination too. */
static uint32_t pgn_of(uint32_t frame_id) {
    uint32_t pgn = (frame_id >> 8) & 0x3FFFFu;
    return ((pgn >> 8) & 0xFFu) < 240 ? (pgn & 0x3FF00u) : pgn;
}

static int64_t extended_index(const gw_can_plan *plan, uint32_t id) {
    uint64_t key = (uint64_t)id | EXTENDED_KEY;
    int64_t at = lower_bound_u64(plan->keys, plan->n_keys, key);
    if (at < plan->n_keys && plan->keys[at] == key) return at;
    if (plan->n_pgn == 0) return plan->n_messages;
    uint32_t pgn = pgn_of(id);
    int64_t p = lower_bound_u32(plan->pgn_keys, plan->n_pgn, pgn);
    if (p > plan->n_pgn - 1) p = plan->n_pgn - 1;
    return plan->pgn_keys[p] == pgn ? plan->pgn_index[p] : plan->n_messages;
}

void gw_can_group(const gw_can_plan *plan, const gw_can_frames *frames, int32_t *index, int64_t *count) {
    for (int64_t m = 0; m <= plan->n_messages; m++) count[m] = 0;
    for (int64_t i = 0; i < frames->n; i++) {
        if (frames->is_remote[i] || frames->is_error[i]) {
            index[i] = -1;
            continue;
        }
        uint32_t id = frames->arbitration_id[i];
        int64_t m = frames->is_extended[i] ? extended_index(plan, id) : plan->standard_index[id & 0x7FFu];
        if (m < 0 || m > plan->n_messages) m = plan->n_messages;
        index[i] = (int32_t)m;
        count[m]++;
    }
}

uint64_t gw_can_half_to_double_bits(uint16_t half) {
    uint64_t sign = (uint64_t)(half & 0x8000u) << 48;
    uint32_t exponent = (half >> 10) & 0x1Fu;
    uint64_t fraction = half & 0x3FFu;
    if (exponent == 0x1F) return sign | 0x7FF0000000000000ull | (fraction << 42); /* inf, NaN */
    if (exponent != 0) return sign | ((uint64_t)(exponent + 1008) << 52) | (fraction << 42);
    if (fraction == 0) return sign;
    /* subnormal half: normalize, the double has room for it */
    int e = -14;
    while ((fraction & 0x400u) == 0) {
        fraction <<= 1;
        e--;
    }
    return sign | ((uint64_t)(e + 1023) << 52) | ((fraction & 0x3FFu) << 42);
}

static inline uint8_t byte_at(const uint8_t *payload, int64_t i) { return i < 64 ? payload[i] : 0; }

/* The little-endian 64-bit word at byte w of the payload, zero past its 64 bytes. */
static uint64_t window_le(const uint8_t *payload, int64_t w) {
    if (w + 8 <= 64) return gw_le64(payload + w);
    uint64_t word = 0;
    for (int k = 7; k >= 0; k--) word = (word << 8) | byte_at(payload, w + k);
    return word;
}

static inline uint64_t bswap64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap64(x);
#else
    uint64_t out = 0;
    for (int k = 0; k < 8; k++) {
        out = (out << 8) | (x & 0xFFu);
        x >>= 8;
    }
    return out;
#endif
}

/* One signal's plan row, unpacked into locals the compiler can keep in registers. */
typedef struct {
    int length, kind, little_endian, spill, mode, shift, extra;
    int64_t window;
    uint64_t mask, sign;
    int64_t scale_i, offset_i;
    double scale_d, offset_d;
} sig_params;

static sig_params params_of(const gw_can_plan *plan, int64_t s) {
    const int64_t *sig = plan->signals + s * GW_CAN_SIG_COLS;
    sig_params p;
    p.length = (int)sig[GW_CAN_SIG_LENGTH];
    p.kind = (int)sig[GW_CAN_SIG_KIND];
    p.little_endian = (int)sig[GW_CAN_SIG_LE];
    p.spill = (int)sig[GW_CAN_SIG_SPILL];
    p.mode = (int)sig[GW_CAN_SIG_MODE];
    p.shift = (int)sig[GW_CAN_SIG_SHIFT];
    p.window = sig[GW_CAN_SIG_WINDOW];
    /* big endian: the right shift of the byte-swapped word, or the left shift with a spill byte */
    p.extra = p.little_endian ? 0 : (p.spill ? p.shift + p.length - 64 : 64 - p.shift - p.length);
    p.mask = p.length >= 64 ? ~0ull : (1ull << p.length) - 1;
    p.sign = p.kind == GW_CAN_KIND_S && p.length < 64 ? 1ull << (p.length - 1) : 0;
    p.scale_i = sig[GW_CAN_SIG_SCALE_I];
    p.offset_i = sig[GW_CAN_SIG_OFFSET_I];
    p.scale_d = plan->scales[2 * s];
    p.offset_d = plan->scales[2 * s + 1];
    return p;
}

/* The signal's bits, masked to its length (as decode._extract before the kind). */
static inline uint64_t extract_bits(const sig_params *p, const uint8_t *payload) {
    uint64_t word = window_le(payload, p->window), bits;
    if (p->little_endian) {
        bits = word >> p->shift;
        if (p->spill) bits |= (uint64_t)byte_at(payload, p->window + 8) << (64 - p->shift);
    } else if (!p->spill) {
        bits = bswap64(word) >> p->extra;
    } else {
        bits = (bswap64(word) << p->extra) | ((uint64_t)byte_at(payload, p->window + 8) >> (8 - p->extra));
    }
    return bits & p->mask;
}

/* The same for a signal inside the word at byte 0 (no spill): the common, classic-frame case. */
static inline uint64_t extract_from_word(const sig_params *p, uint64_t word) {
    uint64_t bits = p->little_endian ? word >> p->shift : bswap64(word) >> p->extra;
    return bits & p->mask;
}

static double bits_to_double(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* The raw value's bits as the reference holds them: uint64, int64 (two's complement) or double. */
static inline uint64_t raw_bits(const sig_params *p, uint64_t bits) {
    if (p->kind == GW_CAN_KIND_S) return (bits ^ p->sign) - p->sign;
    if (p->kind == GW_CAN_KIND_F) {
        if (p->length == 16) return gw_can_half_to_double_bits((uint16_t)bits);
        if (p->length == 32) {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, sizeof f);
            return double_to_bits((double)f);
        }
    }
    return bits;
}

static inline double raw_as_double(const sig_params *p, uint64_t raw) {
    switch (p->kind) {
    case GW_CAN_KIND_F: return bits_to_double(raw);
    case GW_CAN_KIND_S: return (double)(int64_t)raw;
    default: return (double)raw;
    }
}

/* The physical value's bits (decode._scale). */
static inline uint64_t scaled_bits(const sig_params *p, uint64_t raw) {
    switch (p->mode) {
    case GW_CAN_MODE_INT:
        return raw * (uint64_t)p->scale_i + (uint64_t)p->offset_i;
    case GW_CAN_MODE_FLOAT: {
        double product = raw_as_double(p, raw) * p->scale_d;
        double value = product + p->offset_d;
        return double_to_bits(value);
    }
    case GW_CAN_MODE_INT_PRODUCT: {
        int64_t product = (int64_t)(raw * (uint64_t)p->scale_i);
        double value = (double)product + p->offset_d;
        return double_to_bits(value);
    }
    default: return raw;
    }
}

static int value_is_double(const int64_t *sig) {
    int64_t mode = sig[GW_CAN_SIG_MODE];
    return mode == GW_CAN_MODE_FLOAT || mode == GW_CAN_MODE_INT_PRODUCT ||
           (mode == GW_CAN_MODE_IDENTITY && sig[GW_CAN_SIG_KIND] == GW_CAN_KIND_F);
}

/* cantools compares int(value) with the mux ids; the reference truncates floats and maps
 * non-finite ones to -1, and out-of-range ones become INT64_MIN (numpy's cast on x86-64). */
static int64_t selector_of(const int64_t *sig, uint64_t value) {
    if (!value_is_double(sig)) return (int64_t)value;
    if (((value >> 52) & 0x7FFu) == 0x7FFu) return -1;
    double d = bits_to_double(value);
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return (int64_t)d;
    return INT64_MIN;
}

/* The branch (0-based, in id order) of the multiplexer a selector names, or -1. */
static int64_t find_child_slot(const gw_can_plan *plan, const int64_t *mux, int64_t selector) {
    int64_t first = mux[GW_CAN_MUX_FIRST_CHILD], lo = first, hi = lo + mux[GW_CAN_MUX_N_CHILDREN];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t id = plan->children[mid * GW_CAN_CHILD_COLS + GW_CAN_CHILD_ID];
        if (id == selector) return mid - first;
        if (id < selector) lo = mid + 1; else hi = mid;
    }
    return -1;
}

static int64_t find_child(const gw_can_plan *plan, const int64_t *mux, int64_t selector) {
    int64_t lo = mux[GW_CAN_MUX_FIRST_CHILD], hi = lo + mux[GW_CAN_MUX_N_CHILDREN];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t id = plan->children[mid * GW_CAN_CHILD_COLS + GW_CAN_CHILD_ID];
        if (id == selector) return plan->children[mid * GW_CAN_CHILD_COLS + GW_CAN_CHILD_NODE];
        if (id < selector) lo = mid + 1; else hi = mid;
    }
    return -1;
}

/* One message group: where its columns are. Positions index the group's rows. */
typedef struct {
    const gw_can_plan *plan;
    const gw_can_frames *frames;
    const int64_t *rows;
    const uint64_t *words; /* each frame's little-endian word at byte 0, contiguous */
    int64_t count;     /* frames in the group: entries per column */
    uint64_t *values;  /* the group's first value column */
    uint8_t *present;
    uint64_t *raw;
    uint8_t *error;
    int64_t *error_arg;
    int32_t *error_mux;
    int64_t *signal_count;
    int64_t *node_count;
    int64_t *positions;  /* scratch, count entries: the frames taking one branch */
    int64_t *slot;       /* scratch, count entries: each frame's branch of one multiplexer */
} group_ctx;

static inline const uint8_t *payload_of(const group_ctx *g, int64_t pos) {
    return g->frames->data + g->rows[pos] * 64;
}

/* Decode signal s for one frame; returns its value bits. */
static uint64_t decode_one(const group_ctx *g, int64_t s, int64_t pos) {
    const int64_t *sig = g->plan->signals + s * GW_CAN_SIG_COLS;
    sig_params p = params_of(g->plan, s);
    uint64_t raw = raw_bits(&p, extract_bits(&p, payload_of(g, pos)));
    uint64_t value = scaled_bits(&p, raw);
    int64_t at = sig[GW_CAN_SIG_COL] * g->count + pos;
    g->values[at] = value;
    g->present[at] = 1;
    if (sig[GW_CAN_SIG_RAWCOL] >= 0) g->raw[sig[GW_CAN_SIG_RAWCOL] * g->count + pos] = raw;
    g->signal_count[s]++;
    return value;
}

static void decode_node(const group_ctx *g, int64_t node_index, int64_t pos, int depth);

/* The node's multiplexers for one frame: the branch its selector names, or an error. */
static void decode_muxes(const group_ctx *g, const int64_t *node, int64_t pos, int depth) {
    const gw_can_plan *plan = g->plan;
    int64_t first_mux = node[GW_CAN_NODE_FIRST_MUX], last_mux = first_mux + node[GW_CAN_NODE_N_MUX];
    for (int64_t x = first_mux; x < last_mux; x++) {
        const int64_t *mux = plan->muxes + x * GW_CAN_MUX_COLS;
        const int64_t *sig = plan->signals + mux[GW_CAN_MUX_SIG] * GW_CAN_SIG_COLS;
        int64_t selector = selector_of(sig, g->values[sig[GW_CAN_SIG_COL] * g->count + pos]);
        int64_t child = find_child(plan, mux, selector);
        if (child >= 0 && depth < MAX_DEPTH) {
            decode_node(g, child, pos, depth + 1);
        } else if (child < 0 && g->error[pos] == GW_CAN_OK) {
            g->error[pos] = GW_CAN_E_MUX;
            g->error_arg[pos] = selector;
            g->error_mux[pos] = (int32_t)x;
        }
    }
}

/* A multiplexed branch, frame by frame (few frames take any one branch). */
static void decode_node(const group_ctx *g, int64_t node_index, int64_t pos, int depth) {
    const int64_t *node = g->plan->nodes + node_index * GW_CAN_NODE_COLS;
    g->node_count[node_index]++;
    if (!node[GW_CAN_NODE_UNPACK_OK]) {
        if (g->error[pos] == GW_CAN_OK) g->error[pos] = GW_CAN_E_UNPACK;
        return;
    }
    int64_t first = node[GW_CAN_NODE_FIRST_SIG], last = first + node[GW_CAN_NODE_N_SIG];
    for (int64_t s = first; s < last; s++) decode_one(g, s, pos);
    decode_muxes(g, node, pos, depth);
}

/* A root signal for every frame of the group, one column at a time in simple passes (bits,
 * kind, scale) that the compiler keeps in registers and may vectorize. Frames too short for
 * the message are decoded too, then zeroed: they have no signals. */
static void decode_column(const group_ctx *g, int64_t s, int64_t n_short) {
    const int64_t *sig = g->plan->signals + s * GW_CAN_SIG_COLS;
    const sig_params p = params_of(g->plan, s);
    const int64_t count = g->count;
    if (count <= 0) return;
    uint64_t *restrict v = g->values + sig[GW_CAN_SIG_COL] * count;
    uint64_t *raw = sig[GW_CAN_SIG_RAWCOL] >= 0 ? g->raw + sig[GW_CAN_SIG_RAWCOL] * count : NULL;
    const uint64_t *restrict words = g->words;
    if (p.window == 0 && !p.spill && p.little_endian) {
        const int shift = p.shift;
        const uint64_t mask = p.mask;
        for (int64_t pos = 0; pos < count; pos++) v[pos] = (words[pos] >> shift) & mask;
    } else if (p.window == 0 && !p.spill) {
        const int extra = p.extra;
        const uint64_t mask = p.mask;
        for (int64_t pos = 0; pos < count; pos++) v[pos] = (bswap64(words[pos]) >> extra) & mask;
    } else {
        for (int64_t pos = 0; pos < count; pos++) v[pos] = extract_bits(&p, payload_of(g, pos));
    }
    if (p.kind == GW_CAN_KIND_S) {
        const uint64_t sign = p.sign;
        for (int64_t pos = 0; pos < count; pos++) v[pos] = (v[pos] ^ sign) - sign;
    } else if (p.kind == GW_CAN_KIND_F && p.length != 64) {
        for (int64_t pos = 0; pos < count; pos++) v[pos] = raw_bits(&p, v[pos]);
    }
    if (raw) memcpy(raw, v, (size_t)count * sizeof *v);
    if (p.mode == GW_CAN_MODE_INT) {
        const uint64_t scale = (uint64_t)p.scale_i, offset = (uint64_t)p.offset_i;
        for (int64_t pos = 0; pos < count; pos++) v[pos] = v[pos] * scale + offset;
    } else if (p.mode == GW_CAN_MODE_FLOAT) {
        const double scale = p.scale_d, offset = p.offset_d;
        for (int64_t pos = 0; pos < count; pos++) {
            double product = raw_as_double(&p, v[pos]) * scale;
            double value = product + offset;
            v[pos] = double_to_bits(value);
        }
    } else if (p.mode == GW_CAN_MODE_INT_PRODUCT) {
        for (int64_t pos = 0; pos < count; pos++) v[pos] = scaled_bits(&p, v[pos]);
    }
    if (n_short) {
        for (int64_t pos = 0; pos < count; pos++) {
            if (g->error[pos] != GW_CAN_E_SIZE) continue;
            v[pos] = 0;
            if (raw) raw[pos] = 0;
        }
    }
    g->signal_count[s] += count - n_short;
}

/* A branch signal for the frames that take its branch (positions), one column at a time. */
static void decode_branch_column(const group_ctx *g, int64_t s, const int64_t *positions, int64_t n) {
    const int64_t *sig = g->plan->signals + s * GW_CAN_SIG_COLS;
    const sig_params p = params_of(g->plan, s);
    uint64_t *v = g->values + sig[GW_CAN_SIG_COL] * g->count;
    uint8_t *present = g->present + sig[GW_CAN_SIG_COL] * g->count;
    uint64_t *raw = sig[GW_CAN_SIG_RAWCOL] >= 0 ? g->raw + sig[GW_CAN_SIG_RAWCOL] * g->count : NULL;
    int in_word = p.window == 0 && !p.spill;
    for (int64_t k = 0; k < n; k++) {
        int64_t pos = positions[k];
        uint64_t bits = in_word ? extract_from_word(&p, g->words[pos]) : extract_bits(&p, payload_of(g, pos));
        uint64_t value = raw_bits(&p, bits);
        v[pos] = scaled_bits(&p, value);
        present[pos] = 1;
        if (raw) raw[pos] = value;
    }
    g->signal_count[s] += n;
}

/* One multiplexer of the root node for every frame of the group: the selector column picks
 * each frame's branch (or its error), then each branch is decoded for its frames, column by
 * column; deeper multiplexers frame by frame. Per frame the events come in the reference's
 * order: this multiplexer's branch (and everything under it) before the next multiplexer. */
static void decode_root_mux(const group_ctx *g, int64_t x) {
    const gw_can_plan *plan = g->plan;
    const int64_t *mux = plan->muxes + x * GW_CAN_MUX_COLS;
    const int64_t *sig = plan->signals + mux[GW_CAN_MUX_SIG] * GW_CAN_SIG_COLS;
    const uint64_t *selector_values = g->values + sig[GW_CAN_SIG_COL] * g->count;
    int64_t first_child = mux[GW_CAN_MUX_FIRST_CHILD], n_children = mux[GW_CAN_MUX_N_CHILDREN];
    for (int64_t pos = 0; pos < g->count; pos++) {
        g->slot[pos] = -1;
        if (g->error[pos] == GW_CAN_E_SIZE) continue;
        int64_t selector = selector_of(sig, selector_values[pos]);
        int64_t child = find_child_slot(plan, mux, selector);
        g->slot[pos] = child;
        if (child < 0 && g->error[pos] == GW_CAN_OK) {
            g->error[pos] = GW_CAN_E_MUX;
            g->error_arg[pos] = selector;
            g->error_mux[pos] = (int32_t)x;
        }
    }
    if (n_children > 16) { /* many branches: one pass per branch would cost more than it saves */
        for (int64_t pos = 0; pos < g->count; pos++) {
            if (g->slot[pos] < 0) continue;
            decode_node(g, plan->children[(first_child + g->slot[pos]) * GW_CAN_CHILD_COLS + GW_CAN_CHILD_NODE], pos, 1);
        }
        return;
    }
    for (int64_t c = 0; c < n_children; c++) {
        int64_t n = 0;
        for (int64_t pos = 0; pos < g->count; pos++)
            if (g->slot[pos] == c) g->positions[n++] = pos;
        if (n == 0) continue;
        int64_t node_index = plan->children[(first_child + c) * GW_CAN_CHILD_COLS + GW_CAN_CHILD_NODE];
        const int64_t *node = plan->nodes + node_index * GW_CAN_NODE_COLS;
        g->node_count[node_index] += n;
        if (!node[GW_CAN_NODE_UNPACK_OK]) {
            for (int64_t k = 0; k < n; k++)
                if (g->error[g->positions[k]] == GW_CAN_OK) g->error[g->positions[k]] = GW_CAN_E_UNPACK;
            continue;
        }
        int64_t first = node[GW_CAN_NODE_FIRST_SIG], last = first + node[GW_CAN_NODE_N_SIG];
        for (int64_t s = first; s < last; s++) decode_branch_column(g, s, g->positions, n);
        if (node[GW_CAN_NODE_N_MUX] > 0)
            for (int64_t k = 0; k < n; k++) decode_muxes(g, node, g->positions[k], 1);
    }
}

/* The output is not zeroed by the caller. Root signals own the first columns (the flattener
 * numbers columns root first) and decode_column writes every row of them; the columns of
 * multiplexed signals are written only where a frame takes their branch: zero them first.
 * The presence of a root signal is "the frame has no error", the same for every root column:
 * the caller derives it from the errors, and the C leaves those present rows unwritten.
 * Returns the number of root columns. */
static int64_t clear_branch_columns(const group_ctx *g, const int64_t *msg, const int64_t *root) {
    int64_t root_cols = 0, root_raw = 0;
    int64_t first = root[GW_CAN_NODE_FIRST_SIG], last = first + root[GW_CAN_NODE_N_SIG];
    for (int64_t s = first; s < last; s++) {
        const int64_t *sig = g->plan->signals + s * GW_CAN_SIG_COLS;
        if (sig[GW_CAN_SIG_COL] == root_cols) root_cols++;
        if (sig[GW_CAN_SIG_RAWCOL] == root_raw) root_raw++;
    }
    if (!root[GW_CAN_NODE_UNPACK_OK]) root_cols = root_raw = 0;
    size_t count = (size_t)g->count;
    size_t branch_cols = (size_t)(msg[GW_CAN_MSG_NCOLS] - root_cols), branch_raw = (size_t)(msg[GW_CAN_MSG_NRAW] - root_raw);
    memset(g->values + root_cols * g->count, 0, branch_cols * count * sizeof *g->values);
    memset(g->present + root_cols * g->count, 0, branch_cols * count);
    memset(g->raw + root_raw * g->count, 0, branch_raw * count * sizeof *g->raw);
    return root_cols;
}

static void decode_group(const group_ctx *g, const int64_t *msg) {
    int64_t ok = 0;
    for (int64_t pos = 0; pos < g->count; pos++) {
        uint8_t dlc = g->frames->dlc[g->rows[pos]];
        int short_frame = dlc < msg[GW_CAN_MSG_LENGTH];
        g->error[pos] = short_frame ? GW_CAN_E_SIZE : GW_CAN_OK;
        g->error_arg[pos] = short_frame ? dlc : 0;
        g->error_mux[pos] = -1;
        ok += !short_frame;
    }
    int64_t root = msg[GW_CAN_MSG_ROOT];
    const int64_t *node = g->plan->nodes + root * GW_CAN_NODE_COLS;
    g->node_count[root] += ok;
    int64_t root_cols = clear_branch_columns(g, msg, node);
    if (!node[GW_CAN_NODE_UNPACK_OK]) {
        for (int64_t pos = 0; pos < g->count; pos++)
            if (g->error[pos] == GW_CAN_OK) g->error[pos] = GW_CAN_E_UNPACK;
        return;
    }
    int64_t first = node[GW_CAN_NODE_FIRST_SIG], last = first + node[GW_CAN_NODE_N_SIG];
    for (int64_t s = first; s < last; s++) decode_column(g, s, g->count - ok);
    int64_t first_mux = node[GW_CAN_NODE_FIRST_MUX], last_mux = first_mux + node[GW_CAN_NODE_N_MUX];
    for (int64_t x = first_mux; x < last_mux; x++) decode_root_mux(g, x);
    for (int64_t pos = 0; pos < g->count; pos++) { /* frames in error have no signals */
        if (g->error[pos] == GW_CAN_OK) continue;
        for (int64_t k = root_cols; k < msg[GW_CAN_MSG_NCOLS]; k++) g->present[k * g->count + pos] = 0;
    }
}

/* The plan's internal references and signal geometry, for one message tree: the decoder
 * follows them without further checks. */
static int check_node(const gw_can_plan *plan, const int64_t *msg, int64_t node_index, int depth) {
    if (depth > MAX_DEPTH || node_index < 0 || node_index >= plan->n_nodes) return 0;
    const int64_t *node = plan->nodes + node_index * GW_CAN_NODE_COLS;
    int64_t first = node[GW_CAN_NODE_FIRST_SIG], n_sig = node[GW_CAN_NODE_N_SIG];
    int64_t first_mux = node[GW_CAN_NODE_FIRST_MUX], n_mux = node[GW_CAN_NODE_N_MUX];
    if (first < 0 || n_sig < 0 || first > plan->n_signals || n_sig > plan->n_signals - first) return 0;
    if (first_mux < 0 || n_mux < 0 || first_mux > plan->n_muxes || n_mux > plan->n_muxes - first_mux) return 0;
    for (int64_t s = first; s < first + n_sig; s++) {
        const int64_t *sig = plan->signals + s * GW_CAN_SIG_COLS;
        int64_t length = sig[GW_CAN_SIG_LENGTH], shift = sig[GW_CAN_SIG_SHIFT], kind = sig[GW_CAN_SIG_KIND];
        if (length < 1 || length > 64 || shift < 0 || shift > 63) return 0;
        if (sig[GW_CAN_SIG_WINDOW] < 0 || sig[GW_CAN_SIG_WINDOW] > (1 << 20)) return 0;
        if (sig[GW_CAN_SIG_SPILL] ? (shift + length <= 64 || shift + length > 71) : shift + length > 64) return 0;
        if (kind == GW_CAN_KIND_F ? (length != 16 && length != 32 && length != 64) : (kind != GW_CAN_KIND_U && kind != GW_CAN_KIND_S)) return 0;
        if (sig[GW_CAN_SIG_MODE] < GW_CAN_MODE_IDENTITY || sig[GW_CAN_SIG_MODE] > GW_CAN_MODE_INT_PRODUCT) return 0;
        if (sig[GW_CAN_SIG_COL] < 0 || sig[GW_CAN_SIG_COL] >= msg[GW_CAN_MSG_NCOLS]) return 0;
        if (sig[GW_CAN_SIG_RAWCOL] < -1 || sig[GW_CAN_SIG_RAWCOL] >= msg[GW_CAN_MSG_NRAW]) return 0;
    }
    for (int64_t x = first_mux; x < first_mux + n_mux; x++) {
        const int64_t *mux = plan->muxes + x * GW_CAN_MUX_COLS;
        int64_t first_child = mux[GW_CAN_MUX_FIRST_CHILD], n_children = mux[GW_CAN_MUX_N_CHILDREN];
        if (mux[GW_CAN_MUX_SIG] < first || mux[GW_CAN_MUX_SIG] >= first + n_sig) return 0;
        if (first_child < 0 || n_children < 0 || first_child > plan->n_children ||
            n_children > plan->n_children - first_child) return 0;
        for (int64_t c = first_child; c < first_child + n_children; c++) {
            const int64_t *child = plan->children + c * GW_CAN_CHILD_COLS;
            if (c > first_child && child[GW_CAN_CHILD_ID] <= child[GW_CAN_CHILD_ID - GW_CAN_CHILD_COLS]) return 0;
            if (!check_node(plan, msg, child[GW_CAN_CHILD_NODE], depth + 1)) return 0;
        }
    }
    return 1;
}

int gw_can_check_plan(const gw_can_plan *plan) {
    for (int64_t m = 0; m < plan->n_messages; m++) {
        const int64_t *msg = plan->messages + m * GW_CAN_MSG_COLS;
        if (msg[GW_CAN_MSG_NCOLS] < 0 || msg[GW_CAN_MSG_NRAW] < 0) return 0;
        if (msg[GW_CAN_MSG_NATIVE] && !check_node(plan, msg, msg[GW_CAN_MSG_ROOT], 0)) return 0;
    }
    for (int k = 0; k < 2048; k++)
        if (plan->standard_index[k] < 0 || plan->standard_index[k] > plan->n_messages) return 0;
    for (int64_t p = 0; p < plan->n_pgn; p++)
        if (plan->pgn_index[p] < 0 || plan->pgn_index[p] > plan->n_messages) return 0;
    return 1;
}

int gw_can_decode(const gw_can_plan *plan, const gw_can_frames *frames, const int32_t *index,
                  const int64_t *count, gw_can_out *out) {
    int64_t n_messages = plan->n_messages;
    if (!gw_can_check_plan(plan)) return -2;
    int64_t *cursor = out->cursor;
    gw_can_group_out *groups = out->groups;
    for (int64_t m = 0; m <= n_messages; m++) cursor[m] = 0;
    const uint8_t *data = frames->data;
    for (int64_t i = 0; i < frames->n; i++) { /* group, in batch order */
        int64_t m = index[i];
        if (m < 0) continue;
        if (m > n_messages || cursor[m] >= count[m]) return -1;
        int64_t at = cursor[m]++;
        groups[m].rows[at] = i;
        groups[m].words[at] = gw_le64(data + i * 64); /* each payload read once, in batch order */
    }
    for (int64_t m = 0; m < n_messages; m++) {
        if (cursor[m] != count[m]) return -1;
        const int64_t *msg = plan->messages + m * GW_CAN_MSG_COLS;
        const gw_can_group_out *o = &groups[m];
        int64_t errors = 0;
        if (msg[GW_CAN_MSG_NATIVE] && count[m] > 0) {
            group_ctx g = {plan, frames, o->rows, o->words, count[m], o->values, o->present, o->raw, o->error,
                           o->error_arg, o->error_mux, out->signal_count, out->node_count, out->positions,
                           out->slot};
            decode_group(&g, msg);
            for (int64_t j = 0; j < count[m]; j++) errors += g.error[j] != GW_CAN_OK;
        }
        out->error_count[m] = errors;
    }
    return 0;
}
