/* DBC decoding of a batch of CAN frames with a flattened decode plan (monitor/canbus/plan.py,
 * flattened by monitor/canbus/decode_flat.py). Plain C, no Python API.
 *
 * The plan is a set of fixed-stride integer tables (column numbers below, shared with the
 * Python flattener). Decoding is two calls: gw_can_group finds each frame's message and
 * counts frames per message; the caller sizes the output buffers from the counts, then
 * gw_can_decode groups the rows and decodes every frame of the natively decodable messages,
 * walking the multiplexer tree frame by frame (the numpy reference walks it column by column;
 * per frame the order of events is the same). */
#ifndef GW_CAN_DECODE_H
#define GW_CAN_DECODE_H
#include <stdint.h>

/* Per-frame error codes, as in monitor/canbus/decode.py. */
enum { GW_CAN_OK = 0, GW_CAN_E_SIZE = 1, GW_CAN_E_UNPACK = 2, GW_CAN_E_MUX = 3 };

/* Signal kinds and value modes. */
enum { GW_CAN_KIND_U = 0, GW_CAN_KIND_S = 1, GW_CAN_KIND_F = 2 };
enum {
    GW_CAN_MODE_IDENTITY = 0,   /* the raw value itself */
    GW_CAN_MODE_INT = 1,        /* int64: raw * scale_i + offset_i (exact, checked by the flattener) */
    GW_CAN_MODE_FLOAT = 2,      /* double: (double)raw * scale_d + offset_d */
    GW_CAN_MODE_INT_PRODUCT = 3 /* double: (double)(raw * scale_i) + offset_d */
};

/* Columns of the signal table (int64 rows of GW_CAN_SIG_COLS). */
enum {
    GW_CAN_SIG_LENGTH, GW_CAN_SIG_KIND, GW_CAN_SIG_LE, GW_CAN_SIG_WINDOW, GW_CAN_SIG_SHIFT,
    GW_CAN_SIG_SPILL, GW_CAN_SIG_MODE, GW_CAN_SIG_COL, GW_CAN_SIG_RAWCOL, GW_CAN_SIG_SCALE_I,
    GW_CAN_SIG_OFFSET_I, GW_CAN_SIG_COLS
};
/* Node table (int64 rows): unpack_ok, first signal, signal count, first mux, mux count. */
enum { GW_CAN_NODE_UNPACK_OK, GW_CAN_NODE_FIRST_SIG, GW_CAN_NODE_N_SIG, GW_CAN_NODE_FIRST_MUX,
       GW_CAN_NODE_N_MUX, GW_CAN_NODE_COLS };
/* Mux table (int64 rows): the multiplexer signal, first child, child count (children sorted by id). */
enum { GW_CAN_MUX_SIG, GW_CAN_MUX_FIRST_CHILD, GW_CAN_MUX_N_CHILDREN, GW_CAN_MUX_COLS };
/* Child table (int64 rows): multiplexer id, node. */
enum { GW_CAN_CHILD_ID, GW_CAN_CHILD_NODE, GW_CAN_CHILD_COLS };
/* Message table (int64 rows): root node, DBC length, decoded natively (0: the caller does it),
 * value columns, raw columns. */
enum { GW_CAN_MSG_ROOT, GW_CAN_MSG_LENGTH, GW_CAN_MSG_NATIVE, GW_CAN_MSG_NCOLS, GW_CAN_MSG_NRAW,
       GW_CAN_MSG_COLS };

typedef struct {
    int64_t n_messages;
    const int64_t *messages;       /* n_messages rows */
    const int64_t *nodes;          /* rows indexed by node number */
    const int64_t *signals;        /* rows indexed by signal number */
    const double *scales;          /* per signal: scale_d, offset_d */
    const int64_t *muxes;
    const int64_t *children;
    int64_t n_nodes, n_signals, n_muxes, n_children;
    /* message lookup, as DecodePlan.index_of */
    const int32_t *standard_index; /* 2048 entries */
    const uint64_t *keys;          /* sorted message keys */
    int64_t n_keys;
    const uint32_t *pgn_keys;      /* sorted J1939 PGNs */
    const int64_t *pgn_index;
    int64_t n_pgn;
} gw_can_plan;

typedef struct {
    const uint32_t *arbitration_id;
    const uint8_t *is_extended;
    const uint8_t *is_remote;
    const uint8_t *is_error;
    const uint8_t *dlc;
    const uint8_t *data; /* n rows of 64 bytes */
    int64_t n;
} gw_can_frames;

/* One message's outputs, sized by the caller from gw_can_group's counts: count = the frames
 * of the message in the batch. Separate buffers per message, as the numpy reference makes
 * them (one batch-sized block of the same size every call is mmapped afresh each time). */
typedef struct {
    int64_t *rows;        /* count: batch row of each frame, in batch order */
    uint64_t *words;      /* count, scratch: each frame's little-endian word at byte 0 */
    uint8_t *error;       /* count (native messages; the rest may be NULL) */
    int64_t *error_arg;
    int32_t *error_mux;   /* the mux table row of an E_MUX error */
    uint64_t *values;     /* ncols x count: value bits (uint64, int64 or double by signal) */
    uint8_t *present;     /* ncols x count: decoded and the frame has no error; not written for
                           * the root node's columns (the first ones), where it is error == 0 */
    uint64_t *raw;        /* nraw x count: raw bits of signals with choices */
} gw_can_group_out;

typedef struct {
    gw_can_group_out *groups; /* n_messages + 1: the last holds the unknown frames */
    int64_t *signal_count;    /* per signal: frames that decoded it */
    int64_t *node_count;      /* per node: frames that reached it */
    int64_t *error_count;     /* per message: frames in error */
    int64_t *cursor;          /* scratch: n_messages + 1 entries */
    int64_t *positions;       /* scratch: as many entries as the largest count */
    int64_t *slot;            /* scratch: as many entries as the largest count */
} gw_can_out;

/* Message index of every frame (n_messages for unknown ids, -1 for remote and error frames) and
 * the count of data frames per message (count has n_messages + 1 entries, the last unknown). */
void gw_can_group(const gw_can_plan *plan, const gw_can_frames *frames, int32_t *index, int64_t *count);

/* 1 if every reference in the plan is in range and every signal's geometry is one the decoder
 * handles (gw_can_decode checks this first). */
int gw_can_check_plan(const gw_can_plan *plan);

/* Group the data frames by message in batch order and decode those of native messages.
 * Returns 0; -1 if the index does not
 * agree with the counts (the caller's sizes would be wrong); -2 if the plan fails gw_can_check_plan. */
int gw_can_decode(const gw_can_plan *plan, const gw_can_frames *frames, const int32_t *index,
                  const int64_t *count, gw_can_out *out);

/* IEEE half-precision bits to double bits, NaN payloads kept as they are (numpy's widening). */
uint64_t gw_can_half_to_double_bits(uint16_t half);
#endif
