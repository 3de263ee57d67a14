/* IP fragment reassembly's common case in C: a batch's fragment rows walked in order, each one
 * that joins a datagram without completing it, dropping it or making room (fragments.py's
 * Reassembler._fragment: counts, held bytes, the last fragment's end, the 8-byte units covered).
 * The first row that needs more stops the walk and is left to the Python on the shared state. */
#ifndef GW_FRAGMENTS_H
#define GW_FRAGMENTS_H
#include "gw_common.h"

#define GW_FRAG_MAX_DATAGRAM 65535
#define GW_FRAG_UNITS 8193 /* room for one datagram's units (1 per 8 bytes of 64 KiB) */

/* Columns of the row matrix (int64, one row per fragment). */
enum { GW_F_GROUP, GW_F_START, GW_F_LENGTH, GW_F_END_CAPTURED, GW_F_OFFSET, GW_F_MORE, GW_F_IP_BYTES, GW_F_TS,
       GW_F_COLUMNS };
/* Columns of the datagram matrix (int64, one row per datagram key of the batch). */
enum { GW_D_PENDING, GW_D_FIRST_NS, GW_D_HAS_HEADER, GW_D_END, GW_D_COUNT, GW_D_IP_BYTES, GW_D_HELD,
       GW_D_UNITS_LEN, GW_D_DIRTY, GW_D_HEADER_ROW, GW_D_COLUMNS };

typedef struct {
    const int64_t *rows; /* n_rows x GW_F_COLUMNS */
    int64_t n_rows;
    int64_t *datagrams; /* n_datagrams x GW_D_COLUMNS, read and updated (END -1: not known yet) */
    uint8_t *units;     /* n_datagrams x GW_FRAG_UNITS: each datagram's covered units */
    int64_t n_datagrams;
    int64_t max_held, max_pending_bytes, max_pending; /* MAX_HELD_BYTES, MAX_PENDING_BYTES, max_pending */
    int64_t held, pending;                             /* the table's held bytes and datagrams, kept up to date */
    int64_t fragments;                                 /* fragments taken (counted in stats) */
    int64_t *created; /* datagrams made here, in order (room for n_rows) */
    int64_t n_created;
    int64_t *pieces; /* rows whose bytes join their datagram, in order (room for n_rows) */
    int64_t n_pieces;
} gw_fragments_batch;

/* Walk rows from `from` on; returns the first row left to the Python (n_rows when none).
 * fragments, n_created and n_pieces are reset on entry. */
int64_t gw_fragments_walk(gw_fragments_batch *b, int64_t from);
#endif
