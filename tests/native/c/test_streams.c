/* gw_streams: the in-order walk on hand-made rows: a SYN then in-order data, a retransmission,
 * the depth cut, a hole (left to the Python), a bad checksum under verify, a row past depth. */
#include <string.h>

#include "gw_streams.h"
#include "gw_test.h"

#define ROWS 8

static void row(int64_t *r, int64_t sender, int64_t seq, int64_t flags, int64_t start, int64_t size, int64_t code) {
    r[GW_ROW_SENDER] = sender, r[GW_ROW_FID] = 7, r[GW_ROW_SLOT] = 0, r[GW_ROW_SIDE] = 1;
    r[GW_ROW_SEQ] = seq, r[GW_ROW_FLAGS] = flags, r[GW_ROW_START] = start, r[GW_ROW_SIZE] = size;
    r[GW_ROW_CODE] = code;
}

typedef struct {
    int64_t rows[ROWS * GW_ROW_COLUMNS], senders[GW_S_COLUMNS], done_fid[1], offset[ROWS], len[ROWS], discards[ROWS];
    int64_t held_at[ROWS], holds[ROWS];
    uint8_t done_bits[1], past[ROWS], touched[ROWS], out[64];
    gw_streams_batch b;
} fixture;

static void setup(fixture *f, const uint8_t *data, int64_t n_rows, int mode, int64_t depth) {
    memset(f, 0, sizeof *f);
    f->senders[GW_S_SIMPLE] = 1, f->senders[GW_S_ANCHOR] = -1;
    f->done_fid[0] = -1;
    gw_streams_batch *b = &f->b;
    b->data = data, b->data_len = 16, b->rows = f->rows, b->n_rows = n_rows;
    b->senders = f->senders, b->n_senders = 1, b->done_fid = f->done_fid, b->done_bits = f->done_bits, b->n_slots = 1;
    b->mode = mode, b->depth = depth, b->window = 1 << 20;
    b->past = f->past, b->touched = f->touched, b->out_offset = f->offset, b->out_len = f->len;
    b->out = f->out, b->out_capacity = sizeof f->out, b->discards = f->discards;
    b->held_at = f->held_at, b->holds = f->holds, b->gap_ns = 1e10;
}

int main(void) {
    const uint8_t *data = (const uint8_t *)"abcdefghijklmnop";
    static fixture f;
    /* SYN at 2^32-1 (wraps: first byte at 0), "abcd", "cdef" (half retransmitted), "ghij" with a good checksum. */
    setup(&f, data, 4, GW_MODE_AUTO, 1 << 20);
    row(f.rows, 0, 0xFFFFFFFFLL, 0x02, 0, 0, 0);
    row(f.rows + GW_ROW_COLUMNS, 0, 0, 0x10, 0, 4, 0);
    row(f.rows + 2 * GW_ROW_COLUMNS, 0, 2, 0x10, 2, 4, 0);
    row(f.rows + 3 * GW_ROW_COLUMNS, 0, 6, 0x10, 6, 4, 1);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 4);
    CHECK_EQ(f.b.out_used, 10);
    CHECK(memcmp(f.out, "abcdefghij", 10) == 0);
    CHECK_EQ(f.len[2], 2);
    CHECK_EQ(f.senders[GW_S_NEXT], 10);
    CHECK_EQ(f.senders[GW_S_VERDICT], 1);
    CHECK_EQ(f.b.n_discards, 1);
    CHECK_EQ(f.b.n_order, 3); /* unverifiable, reliable senders, bad checksum (made at 0) */
    CHECK_EQ(f.b.order[0], GW_C_UNVERIFIABLE);
    CHECK_EQ(f.b.counters[GW_C_UNVERIFIABLE], 3);

    /* A hole: the row after the SYN starts past the in-order end, and is left to the Python. */
    setup(&f, data, 2, GW_MODE_IGNORE, 1 << 20);
    row(f.rows, 0, 99, 0x02, 0, 0, 4);
    row(f.rows + GW_ROW_COLUMNS, 0, 105, 0x10, 0, 4, 4);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 1);
    CHECK_EQ(f.touched[0], 1);
    CHECK_EQ(f.touched[1], 0);

    /* Depth 3: "abc" handed out, depth_reached, the sender gone and its next row past. */
    setup(&f, data, 3, GW_MODE_IGNORE, 3);
    row(f.rows, 0, 99, 0x02, 0, 0, 4);
    row(f.rows + GW_ROW_COLUMNS, 0, 100, 0x10, 0, 4, 4);
    row(f.rows + 2 * GW_ROW_COLUMNS, 0, 104, 0x10, 4, 4, 4);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 3);
    CHECK_EQ(f.len[1], 3);
    CHECK_EQ(f.b.counters[GW_C_DEPTH_REACHED], 1);
    CHECK_EQ(f.senders[GW_S_EXISTS], GW_SENDER_GONE);
    CHECK_EQ(f.past[2], 1);
    CHECK_EQ(f.done_bits[0], 1);

    /* Verify: a bad checksum is dropped; a row whose payload leaves the data is the Python's. */
    setup(&f, data, 3, GW_MODE_VERIFY, 1 << 20);
    row(f.rows, 0, 99, 0x02, 0, 0, 1);
    row(f.rows + GW_ROW_COLUMNS, 0, 100, 0x10, 0, 4, 2);
    row(f.rows + 2 * GW_ROW_COLUMNS, 0, 100, 0x10, 10, 40, 1);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 2);
    CHECK_EQ(f.b.counters[GW_C_BAD_CHECKSUM], 1);
    CHECK_EQ(f.b.out_used, 0);

    /* Auto, a capture whose checksums mean nothing: a new sender's first bad checksum makes it
     * unreliable at once and its segment is taken; with fewer such senders it is the Python's. */
    setup(&f, data, 2, GW_MODE_AUTO, 1 << 20);
    f.b.unreliable_after = 2, f.b.max_segments = 1024, f.b.unreliable_senders = 10;
    row(f.rows, 0, 99, 0x02, 0, 0, 2);
    row(f.rows + GW_ROW_COLUMNS, 0, 100, 0x10, 0, 4, 2);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 2);
    CHECK_EQ(f.senders[GW_S_VERDICT], 2);
    CHECK_EQ(f.senders[GW_S_BAD], 2);
    CHECK_EQ(f.b.counters[GW_C_UNRELIABLE_SENDERS], 1);
    CHECK_EQ(f.b.out_used, 4);
    setup(&f, data, 1, GW_MODE_AUTO, 1 << 20);
    f.b.unreliable_after = 2, f.b.max_segments = 1024, f.b.unreliable_senders = 9;
    row(f.rows, 0, 99, 0x02, 0, 0, 2);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 0);

    /* Mid-stream (no SYN): a first segment of `confirm` bytes is the base and in order at once;
     * a shorter one, or one over a cap, is the Python's (a tentative base, a refusal). */
    setup(&f, data, 2, GW_MODE_IGNORE, 1 << 20);
    f.b.confirm = 4, f.b.max_segments = 1024, f.b.flow_memcap = 1 << 20, f.b.memcap = 1 << 20;
    row(f.rows, 0, 5000, 0x10, 0, 4, 4);
    f.rows[GW_ROW_TS] = 77;
    row(f.rows + GW_ROW_COLUMNS, 0, 5004, 0x10, 4, 2, 4);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 2);
    CHECK_EQ(f.senders[GW_S_ANCHOR], 5000);
    CHECK_EQ(f.senders[GW_S_NEXT], 6);
    CHECK_EQ(f.senders[GW_S_WAITING], 77);
    CHECK_EQ(f.b.out_used, 6);
    setup(&f, data, 1, GW_MODE_IGNORE, 1 << 20);
    f.b.confirm = 5, f.b.max_segments = 1024, f.b.flow_memcap = 1 << 20, f.b.memcap = 1 << 20;
    row(f.rows, 0, 5000, 0x10, 0, 4, 4);
    CHECK_EQ(gw_streams_walk(&f.b, 0), 0);
    f.b.confirm = 4, f.b.memory_used = (1 << 20) - 3;
    CHECK_EQ(gw_streams_walk(&f.b, 0), 0);

    /* A hole: the rows after it are held as new last pieces; one over the last piece, one that
     * fills the hole, and one after the gap timeout are the Python's. */
    setup(&f, data, 4, GW_MODE_IGNORE, 1 << 20);
    f.b.max_segments = 1024, f.b.flow_memcap = 1 << 20, f.b.memcap = 1 << 20;
    row(f.rows, 0, 99, 0x02, 0, 0, 4);
    row(f.rows + GW_ROW_COLUMNS, 0, 104, 0x10, 4, 4, 4);
    row(f.rows + 2 * GW_ROW_COLUMNS, 0, 108, 0x10, 8, 4, 4);
    row(f.rows + 3 * GW_ROW_COLUMNS, 0, 111, 0x10, 11, 4, 4);
    f.rows[GW_ROW_COLUMNS + GW_ROW_TS] = 5;
    CHECK_EQ(gw_streams_walk(&f.b, 0), 3);
    CHECK_EQ(f.b.n_holds, 2);
    CHECK_EQ(f.held_at[2], 8);
    CHECK_EQ(f.senders[GW_S_PIECES], 2);
    CHECK_EQ(f.senders[GW_S_HELD], 8);
    CHECK_EQ(f.senders[GW_S_LAST_END], 12);
    CHECK_EQ(f.senders[GW_S_WAITING], 5);
    CHECK_EQ(f.b.memory_used, 8);
    CHECK_EQ(f.b.out_used, 0);
    row(f.rows + 3 * GW_ROW_COLUMNS, 0, 100, 0x10, 0, 4, 4);
    CHECK_EQ(gw_streams_walk(&f.b, 3), 3);
    row(f.rows + 3 * GW_ROW_COLUMNS, 0, 112, 0x10, 12, 4, 4);
    f.rows[3 * GW_ROW_COLUMNS + GW_ROW_TS] = 5 + 10000000001LL;
    CHECK_EQ(gw_streams_walk(&f.b, 3), 3);
    f.rows[3 * GW_ROW_COLUMNS + GW_ROW_TS] = 5 + 10000000000LL;
    CHECK_EQ(gw_streams_walk(&f.b, 3), 4);
    CHECK_EQ(f.senders[GW_S_PIECES], 3);
    return GW_TEST_END();
}
