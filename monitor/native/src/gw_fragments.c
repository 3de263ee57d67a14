/* fragments.py's Reassembler._fragment for the fragments that only join a datagram: row for
 * row the same counts, held bytes, end and covered units. A fragment that would drop its
 * datagram (garbage, inconsistent ends, too many bytes), complete it, or need room made (the
 * pending caps) ends the walk before anything changes, so the Python resumes exactly there. */
#include "gw_fragments.h"

/* Whether the datagram's units [0, need) would all be covered with [first, last) set too. */
static int covered_with(const uint8_t *units, int64_t units_len, int64_t need, int64_t first, int64_t last) {
    if ((last > units_len ? last : units_len) < need)
        return 0;
    for (int64_t i = 0; i < need; i++)
        if (!units[i] && (i < first || i >= last))
            return 0;
    return 1;
}

/* Whether the row must be left to the Python (judged before anything changes). */
static int left_to_python(const gw_fragments_batch *b, const int64_t *r, const int64_t *d, const uint8_t *units) {
    int64_t start = r[GW_F_START], length = r[GW_F_LENGTH], offset = r[GW_F_OFFSET], more = r[GW_F_MORE];
    if (length < 0 || offset < 0 || start < 0 || offset > GW_FRAG_MAX_DATAGRAM || length > GW_FRAG_MAX_DATAGRAM)
        return 1;
    int fresh = !d[GW_D_PENDING];
    if (fresh && b->pending >= b->max_pending)
        return 1; /* the oldest would be evicted */
    int64_t held = fresh ? 0 : d[GW_D_HELD], end = fresh ? -1 : d[GW_D_END];
    if (start + length > r[GW_F_END_CAPTURED] || offset + length > GW_FRAG_MAX_DATAGRAM || (more && length % 8))
        return 1; /* dropped as invalid */
    if (held + length > b->max_held || b->held + length > b->max_pending_bytes)
        return 1; /* dropped, or room made */
    if (!more) {
        if (end >= 0 && end != offset + length)
            return 1;
        end = offset + length;
    }
    int has_header = (!fresh && d[GW_D_HAS_HEADER]) || offset == 0;
    if (!has_header || end < 0)
        return 0;
    int64_t first = offset / 8, last = (offset + length + 7) / 8;
    if (fresh)
        return covered_with(units, 0, (end + 7) / 8, first, last) ? 1 : 0;
    return covered_with(units, d[GW_D_UNITS_LEN], (end + 7) / 8, first, last); /* completes it */
}

static void take(gw_fragments_batch *b, int64_t row, const int64_t *r, int64_t *d, uint8_t *units) {
    int64_t group = r[GW_F_GROUP], length = r[GW_F_LENGTH], offset = r[GW_F_OFFSET];
    if (!d[GW_D_PENDING]) {
        memset(d, 0, GW_D_COLUMNS * sizeof *d);
        memset(units, 0, GW_FRAG_UNITS);
        d[GW_D_PENDING] = 1, d[GW_D_FIRST_NS] = r[GW_F_TS], d[GW_D_END] = -1, d[GW_D_HEADER_ROW] = -1;
        b->created[b->n_created++] = group;
        b->pending++;
    }
    d[GW_D_COUNT]++, d[GW_D_IP_BYTES] += r[GW_F_IP_BYTES];
    if (!r[GW_F_MORE])
        d[GW_D_END] = offset + length;
    if (offset == 0)
        d[GW_D_HAS_HEADER] = 1, d[GW_D_HEADER_ROW] = row;
    b->pieces[b->n_pieces++] = row;
    d[GW_D_HELD] += length, b->held += length;
    int64_t first = offset / 8, last = (offset + length + 7) / 8;
    if (last > d[GW_D_UNITS_LEN])
        d[GW_D_UNITS_LEN] = last;
    for (int64_t i = first; i < last; i++)
        units[i] = 1;
    d[GW_D_DIRTY] = 1;
    b->fragments++;
}

int64_t gw_fragments_walk(gw_fragments_batch *b, int64_t from) {
    b->fragments = 0, b->n_created = 0, b->n_pieces = 0;
    for (int64_t row = from; row < b->n_rows; row++) {
        const int64_t *r = b->rows + row * GW_F_COLUMNS;
        int64_t group = r[GW_F_GROUP];
        if (group < 0 || group >= b->n_datagrams)
            return row;
        int64_t *d = b->datagrams + group * GW_D_COLUMNS;
        uint8_t *units = b->units + group * GW_FRAG_UNITS;
        if (left_to_python(b, r, d, units))
            return row;
        take(b, row, r, d, units);
    }
    return b->n_rows;
}
