/* TCP reassembly's common case in C: the rows of a batch whose sender is confirmed and has no
 * segments aside for a checksum verdict, walked in order: next in order, retransmitted, beyond
 * the window, or held after every piece its sender holds (a hole that stays open). The first
 * row that needs more (filling a hole, overlapping a held piece, a gap to skip, a tentative
 * mid-stream base, a checksum verdict still to make) stops the walk and is left to
 * reassembly.py, which shares the senders' state. */
#ifndef GW_STREAMS_H
#define GW_STREAMS_H
#include "gw_common.h"

/* Columns of the row matrix (int64, one row per wanted segment). */
enum { GW_ROW_SENDER, GW_ROW_FID, GW_ROW_SLOT, GW_ROW_SIDE, GW_ROW_SEQ, GW_ROW_FLAGS, GW_ROW_START, GW_ROW_SIZE,
       GW_ROW_CODE, GW_ROW_TS, GW_ROW_COLUMNS };
/* Columns of the sender matrix (int64, one row per sender of the batch). */
enum { GW_S_EXISTS, GW_S_SIMPLE, GW_S_ANCHOR, GW_S_NEXT, GW_S_BASE, GW_S_CONFIRMED, GW_S_DELIVERED, GW_S_VERDICT,
       GW_S_DIRTY, GW_S_BAD, GW_S_WAITING, GW_S_PIECES, GW_S_HELD, GW_S_LAST_END, GW_S_COLUMNS };
/* GW_S_EXISTS: not followed yet, followed, forgotten in this batch (reached depth). */
enum { GW_SENDER_NEW = 0, GW_SENDER_FOLLOWED = 1, GW_SENDER_GONE = 2 };
/* Counters, in reassembly.py's names (streams.pxi lists them in this order). */
enum { GW_C_RETRANSMITTED, GW_C_BEYOND_WINDOW, GW_C_DEPTH_REACHED, GW_C_OFFLOADED, GW_C_UNVERIFIABLE,
       GW_C_RELIABLE_SENDERS, GW_C_BAD_CHECKSUM, GW_C_UNRELIABLE_SENDERS, GW_C_COUNT };
enum { GW_MODE_AUTO = 0, GW_MODE_VERIFY = 1, GW_MODE_IGNORE = 2 };

typedef struct {
    const uint8_t *data; /* the batch's bytes */
    int64_t data_len;
    const int64_t *rows; /* n_rows x GW_ROW_COLUMNS */
    int64_t n_rows;
    int64_t *senders; /* n_senders x GW_S_COLUMNS, read and updated */
    int64_t n_senders;
    int64_t *done_fid; /* per slot: the flow whose senders reached depth, and which sides */
    uint8_t *done_bits;
    int64_t n_slots;
    int mode;
    int64_t depth, window;
    int64_t unreliable_after, max_segments; /* checksum auto: bad checksums before trusting none */
    int64_t unreliable_senders, reliable_senders; /* the table's counts so far, kept up to date */
    int64_t confirm, flow_memcap, memcap, memory_used; /* caps on held bytes, and the table's held bytes */
    double gap_ns; /* gap_timeout_s in ns: a hole older than this is skipped (the Python's) */
    /* outputs, per row: past its sender's depth, handled here, the bytes it brought into order */
    uint8_t *past, *touched;
    int64_t *out_offset, *out_len;
    uint8_t *out; /* delivered bytes, out_capacity of room, out_used filled */
    int64_t out_capacity, out_used;
    int64_t counters[GW_C_COUNT];
    int order[GW_C_COUNT]; /* counters in the order first touched (Counter keys keep that order) */
    int n_order;
    int64_t *discards; /* flow ids to take out of the waiting set, in order (room for n_rows) */
    int64_t n_discards;
    int64_t *held_at; /* per row held as a new last piece: its first offset */
    int64_t *holds;   /* those rows, in order (room for n_rows) */
    int64_t n_holds;
} gw_streams_batch;

/* Walk rows from `from` on; returns the first row left to the Python (n_rows when none).
 * Counters, order and discards are reset on entry. */
int64_t gw_streams_walk(gw_streams_batch *b, int64_t from);
#endif
