/* The flow table's per-unit work in C: the index from a flow's canonical key to its slot
 * (open addressing over the key bytes, which stay in the table's key column), and the walk
 * over a batch's units that finds or opens each one's slot (flows.py, FlowTable.update).
 * The table's columns stay numpy arrays owned by Python; C reads and writes them in place. */
#ifndef GW_FLOWTABLE_H
#define GW_FLOWTABLE_H
#include <stddef.h>
#include <stdint.h>

#define GW_INDEX_EMPTY (-1)
#define GW_INDEX_GONE (-2) /* a deleted entry: probing goes on past it */

/* The index: cap entries (a power of two), each a slot or EMPTY or GONE. */
typedef struct {
    int64_t *entries;
    int64_t cap;
    int64_t live; /* entries holding a slot */
    int64_t used; /* entries not EMPTY (live + GONE) */
} gw_flowindex;

/* The table's columns, `capacity` rows each (keys: key_size bytes a row; the walk writes the
 * key of each slot it opens, so that later units of the batch find it). */
typedef struct {
    uint8_t *keys;
    int64_t key_size, proto_offset, capacity;
    const int64_t *last_ns;
    const int64_t *packets; /* [capacity][2]: originator, responder */
    const uint8_t *flags;   /* [capacity][2] */
    const uint32_t *isn;    /* [capacity][2]: the last SYN's, the last SYN/ACK's */
    uint8_t *active;
    int64_t size;           /* rows ever used; in and out */
    int64_t *free_slots;    /* a stack of `n_free`, popped from the end; in and out */
    int64_t n_free;
    int64_t idle_s[7];      /* tcp new, established, closed; udp new, established; other new, established */
    int64_t max_flows;
} gw_flowcolumns;

/* A batch's units (rows of one key not split by an idle gap or port reuse), in order, with
 * what their first packet says, and what the walk found for them. */
typedef struct {
    int64_t n;
    const uint8_t *keys; /* the first packet's canonical key, key_size bytes a unit */
    const int64_t *first_ns;
    const int8_t *opening; /* 0: a bare SYN, 1: a SYN/ACK, -1: neither */
    const uint32_t *first_seq;
    int64_t *slots;       /* out: each unit's slot */
    uint8_t *opened;      /* out: 1 where the unit opened a new flow */
    int64_t *finished;    /* out: slots the walk finished (their flows ended), in order */
    uint8_t *why;         /* out: per finished slot, GW_END_IDLE or GW_END_REUSE */
    int64_t n_finished;
    int64_t *close_after; /* out: slots to finish when the batch is counted (an idle gap inside it) */
    int64_t n_close_after;
} gw_flowunits;

#define GW_END_IDLE 0
#define GW_END_REUSE 1

#define GW_WALK_DONE 0
#define GW_WALK_EVICT 1   /* the table is full before unit *next opens: evict, then resume (OPEN) */
#define GW_WALK_ENDED 2   /* unit *next ended its key's flow (the last of `finished`): report it,
                           * free its slot, then resume (CHECK): the unit takes that slot, as in flows.py */
#define GW_WALK_NO_ROOM (-1) /* no free row or index entry: the caller sized them too small */

#define GW_RESUME_NONE 0
#define GW_RESUME_OPEN 1  /* unit *next opens a flow now */
#define GW_RESUME_CHECK 2 /* unit *next opens a flow once the table has room */

/* Walks units from *next on; `resume` says how unit *next goes on after a stop (GW_RESUME_).
 * Returns a GW_WALK_ code; *next: the unit it stopped at. */
int gw_flowtable_walk(gw_flowcolumns *t, gw_flowindex *index, gw_flowunits *u, int64_t *next, int resume);

/* Removes the index entries that point at these slots (a finished flow's key may already
 * point at a newer slot: that entry stays). Returns how many were removed. */
int64_t gw_flowindex_forget(gw_flowindex *index, const gw_flowcolumns *t, const int64_t *slots, int64_t n);

/* Moves every entry of `from` into the empty index `to` (a larger one). 0, or -1 if it is full. */
int gw_flowindex_rehash(const gw_flowindex *from, gw_flowindex *to, const gw_flowcolumns *t);

/* The slot of a key, or -1. */
int64_t gw_flowindex_find(const gw_flowindex *index, const gw_flowcolumns *t, const uint8_t *key);
#endif
