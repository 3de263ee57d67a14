/* The taint scan's inner loops (reference: monitor/detect/taintscan.py, _candidates and the
 * latitude test of Plan._pairs). Ciphertext leaves a few hundred candidates per 4 MiB, so the
 * byte loop dominates: one table read per offset, no allocation, bounded by `size`. */
#include "gw_taintscan.h"

#include <string.h>

#include "gw_common.h"

typedef struct {
    const uint8_t *first_map, *second_map, *table;
    int64_t *out_at;
    uint8_t *out_flags;
    int64_t capacity, found;
} candidate_sink;

static inline void consider(candidate_sink *sink, size_t j, unsigned first, unsigned second) {
    if (!(sink->first_map[first] & sink->second_map[second]))
        return; /* the 256-byte maps stay in L1; the 64 KiB table is read for few offsets */
    uint8_t flags = sink->table[first | (second << 8)];
    if (!flags)
        return;
    if (sink->found < sink->capacity) {
        sink->out_at[sink->found] = (int64_t)j;
        sink->out_flags[sink->found] = flags;
    }
    sink->found++;
}

int64_t gw_taint_candidates(const uint8_t *buf, size_t size, const uint8_t *first_map, const uint8_t *second_map,
                            const uint8_t *table, int64_t *out_at, uint8_t *out_flags, int64_t capacity) {
    candidate_sink sink = {first_map, second_map, table, out_at, out_flags, capacity, 0};
    size_t end = (size / 8 + 1) * 8; /* the reference's padded length: offsets in the padding count too */
    size_t j = 0;
    for (; j + 1 < size; j++)
        consider(&sink, j, buf[j], buf[j + 1]);
    for (; j < end; j++) /* the last byte, then the zero padding */
        consider(&sink, j, j < size ? buf[j] : 0, 0);
    return sink.found;
}

int64_t gw_taint_merge(double *low, double *high, int64_t count) {
    int64_t kept = 0;
    for (int64_t k = 0; k < count; k++) {
        if (!(low[k] <= high[k]))
            continue; /* empty, or NaN: no value compares inside it */
        if (kept && low[k] <= high[kept - 1]) {
            if (high[k] > high[kept - 1])
                high[kept - 1] = high[k];
            continue;
        }
        low[kept] = low[k], high[kept] = high[k];
        kept++;
    }
    return kept;
}

double gw_taint_degrees(const uint8_t *word, int width, int big, int kind, double scale) {
    if (width == 8) { /* float64 is the only 8-byte encoding */
        uint64_t bits = big ? ((uint64_t)gw_be32(word) << 32) | gw_be32(word + 4) : gw_le64(word);
        double value;
        memcpy(&value, &bits, sizeof value);
        return value;
    }
    uint32_t bits = big ? gw_be32(word) : gw_le32(word);
    switch (kind) {
    case GW_TAINT_INT:
        return (double)(int32_t)bits / scale;
    case GW_TAINT_MAG:
        return (double)bits / scale;
    case GW_TAINT_J1939: {
        volatile double scaled = (double)bits * 1e-7; /* two roundings, as numpy: no fused multiply-add */
        return scaled - 210.0;
    }
    default: {
        float value;
        memcpy(&value, &bits, sizeof value);
        return (double)value;
    }
    }
}

/* Whether v lies in one of the disjoint ranges sorted by low (NaN lies in none). */
static int within(double v, const double *low, const double *high, int64_t ranges) {
    int64_t lo = 0, hi = ranges; /* the first range whose low is above v */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (low[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && v <= high[lo - 1];
}

int64_t gw_taint_latitude_rows(const uint8_t *buf, size_t size, const int64_t *at, int64_t n, int width, int big,
                               int kind, double scale, const double *low, const double *high, int64_t ranges,
                               int64_t *out_rows) {
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        if (at[i] < 0 || (uint64_t)at[i] > size || size - (size_t)at[i] < (size_t)width)
            continue;
        double v = gw_taint_degrees(buf + at[i], width, big, kind, scale);
        if (within(v, low, high, ranges))
            out_rows[kept++] = i;
    }
    return kept;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

int64_t gw_taint_text_windows(const uint8_t *buf, size_t size, int64_t before, int64_t after, int64_t *out_start,
                              int64_t *out_end, int64_t capacity) {
    int64_t found = 0, end = 0;
    if (size < 4)
        return 0;
    const uint8_t *dot = buf + 1;
    const uint8_t *last = buf + size - 3; /* a dot needs a digit before it and two after */
    while (dot <= last && (dot = memchr(dot, '.', (size_t)(last - dot) + 1)) != NULL) {
        int64_t i = dot - buf;
        dot++;
        if (!is_digit(buf[i - 1]) || !is_digit(buf[i + 1]) || !is_digit(buf[i + 2]))
            continue;
        int64_t start = i > before ? i - before : 0;
        int64_t stop = (uint64_t)(i + after) < size ? i + after : (int64_t)size;
        if (found && start <= end) { /* overlaps the window before: one window */
            end = stop;
            if (found <= capacity)
                out_end[found - 1] = stop;
            continue;
        }
        if (found < capacity)
            out_start[found] = start, out_end[found] = stop;
        found++;
        end = stop;
    }
    return found;
}
