/* The taint scan's inner loops over payload bytes (reference: monitor/detect/taintscan.py):
 * the offsets whose two bytes are a wanted latitude's top 16 bits, and the candidates whose word
 * decodes into one of the plan's latitude ranges. */
#ifndef GW_TAINTSCAN_H
#define GW_TAINTSCAN_H
#include <stddef.h>
#include <stdint.h>

/* How a word becomes degrees (taintrate.to_degrees). */
enum gw_taint_kind { GW_TAINT_INT = 0, GW_TAINT_MAG = 1, GW_TAINT_J1939 = 2, GW_TAINT_FLOAT = 3 };

/* Offsets j in [0, (size / 8 + 1) * 8) (bytes past `size` read as zero, as the reference pads)
 * where first_map[buf[j]] & second_map[buf[j + 1]] and table[buf[j] | buf[j + 1] << 8] are not
 * zero, in order, with that table value. Maps have 256 entries, the table 65536. Writes at most
 * `capacity` of them; returns how many there are (call again with more room if more). */
int64_t gw_taint_candidates(const uint8_t *buf, size_t size, const uint8_t *first_map, const uint8_t *second_map,
                            const uint8_t *table, int64_t *out_at, uint8_t *out_flags, int64_t capacity);

/* Merges ranges [low[k], high[k]] sorted by low into disjoint ones, in place, dropping empty and
 * NaN ones; returns how many are left. */
int64_t gw_taint_merge(double *low, double *high, int64_t count);

/* A word of `width` (4 or 8) bytes at `at` in degrees; the caller checks at + width <= size. */
double gw_taint_degrees(const uint8_t *word, int width, int big, int kind, double scale);

/* The indexes i (in order) of the offsets at[i] whose word lies within a merged range. An offset
 * whose word would not fit in buf is skipped. Returns how many were written into out_rows. */
int64_t gw_taint_latitude_rows(const uint8_t *buf, size_t size, const int64_t *at, int64_t n, int width, int big,
                               int kind, double scale, const double *low, const double *high, int64_t ranges,
                               int64_t *out_rows);

/* Where decimal text can be (taint._text_windows): around each '.' at 1 .. size - 3 with a digit
 * before it and two after, [i - before, i + after) clipped to the buffer, overlapping windows
 * merged. Writes at most `capacity` windows; returns how many there are. */
int64_t gw_taint_text_windows(const uint8_t *buf, size_t size, int64_t before, int64_t after, int64_t *out_start,
                              int64_t *out_end, int64_t capacity);
#endif
