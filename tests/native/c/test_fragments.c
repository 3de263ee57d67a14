/* gw_fragments: fragments that join a datagram are taken; the one that completes it, garbage,
 * an end that disagrees, and a full table are left to the Python. */
#include <string.h>

#include "gw_fragments.h"
#include "gw_test.h"

#define ROWS 4

static int64_t rows[ROWS * GW_F_COLUMNS], datagrams[GW_D_COLUMNS], created[ROWS], pieces[ROWS];
static uint8_t units[GW_FRAG_UNITS];

static void fragment(int i, int64_t offset, int64_t length, int more) {
    int64_t *r = rows + i * GW_F_COLUMNS;
    r[GW_F_GROUP] = 0, r[GW_F_START] = 100, r[GW_F_LENGTH] = length, r[GW_F_END_CAPTURED] = 100 + length;
    r[GW_F_OFFSET] = offset, r[GW_F_MORE] = more, r[GW_F_IP_BYTES] = length + 20, r[GW_F_TS] = 9;
}

static void setup(gw_fragments_batch *b, int64_t n) {
    memset(datagrams, 0, sizeof datagrams);
    memset(units, 0, sizeof units);
    memset(b, 0, sizeof *b);
    b->rows = rows, b->n_rows = n, b->datagrams = datagrams, b->units = units, b->n_datagrams = 1;
    b->max_held = 4 * 65535, b->max_pending_bytes = 32 << 20, b->max_pending = 4096;
    b->created = created, b->pieces = pieces;
}

int main(void) {
    gw_fragments_batch b;
    /* [8, 24) then [24, 32) last: taken (no header yet); then [0, 8): completes it, the Python's. */
    fragment(0, 8, 16, 1);
    fragment(1, 24, 8, 0);
    fragment(2, 0, 8, 1);
    setup(&b, 3);
    CHECK_EQ(gw_fragments_walk(&b, 0), 2);
    CHECK_EQ(b.fragments, 2);
    CHECK_EQ(b.n_created, 1);
    CHECK_EQ(b.n_pieces, 2);
    CHECK_EQ(datagrams[GW_D_COUNT], 2);
    CHECK_EQ(datagrams[GW_D_END], 32);
    CHECK_EQ(datagrams[GW_D_HELD], 24);
    CHECK_EQ(datagrams[GW_D_UNITS_LEN], 4);
    CHECK_EQ(datagrams[GW_D_FIRST_NS], 9);
    CHECK_EQ(units[0], 0);
    CHECK_EQ(units[1] + units[2] + units[3], 3);
    CHECK_EQ(b.held, 24);
    /* A middle fragment whose length is not a multiple of 8 is garbage. */
    fragment(0, 8, 13, 1);
    setup(&b, 1);
    CHECK_EQ(gw_fragments_walk(&b, 0), 0);
    /* Two last fragments that disagree on the end. */
    fragment(0, 24, 8, 0);
    fragment(1, 40, 8, 0);
    setup(&b, 2);
    CHECK_EQ(gw_fragments_walk(&b, 0), 1);
    /* A full pending table: a new datagram would evict the oldest. */
    fragment(0, 8, 8, 1);
    setup(&b, 1);
    b.pending = b.max_pending;
    CHECK_EQ(gw_fragments_walk(&b, 0), 0);
    /* Past 64 KiB. */
    fragment(0, 65528, 16, 1);
    setup(&b, 1);
    CHECK_EQ(gw_fragments_walk(&b, 0), 0);
    return GW_TEST_END();
}
