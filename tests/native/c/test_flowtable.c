/* gw_flowtable alone: the key index (set, find, forget, rehash) and the unit walk (open,
 * a second unit of a key, an idle end, a port reuse, a full table). */
#include <string.h>

#include "gw_flowtable.h"
#include "gw_test.h"

#define KEY 8 /* a small key: 7 bytes, then the protocol */
#define CAP 16

typedef struct {
    uint8_t keys[CAP * KEY];
    int64_t last_ns[CAP], packets[2 * CAP];
    uint8_t flags[2 * CAP];
    uint32_t isn[2 * CAP];
    uint8_t active[CAP];
    int64_t free_slots[CAP];
    int64_t entries[64];
    gw_flowcolumns t;
    gw_flowindex index;
} table;

static void table_init(table *x, int64_t max_flows) {
    memset(x, 0, sizeof *x);
    for (int i = 0; i < 64; i++)
        x->entries[i] = GW_INDEX_EMPTY;
    gw_flowcolumns t = {x->keys, KEY, 7, CAP, x->last_ns, x->packets, x->flags, x->isn, x->active, 0,
                        x->free_slots, 0, {30, 300, 10, 30, 300, 30, 300}, max_flows};
    x->t = t;
    gw_flowindex index = {x->entries, 64, 0, 0};
    x->index = index;
}

static void key(uint8_t *out, uint8_t id, uint8_t proto) {
    memset(out, 0, KEY);
    out[0] = id;
    out[7] = proto;
}

typedef struct {
    uint8_t keys[8 * KEY];
    int64_t first_ns[8];
    int8_t opening[8];
    uint32_t first_seq[8];
    int64_t slots[8], finished[8], close_after[8];
    uint8_t opened[8], why[8];
    gw_flowunits u;
} units;

static void units_init(units *x, int n) {
    memset(x, 0, sizeof *x);
    for (int i = 0; i < 8; i++)
        x->opening[i] = -1;
    gw_flowunits u = {n, x->keys, x->first_ns, x->opening, x->first_seq, x->slots, x->opened, x->finished, x->why, 0,
                      x->close_after, 0};
    x->u = u;
}

static void test_walk_opens_and_finds(void) {
    table x;
    table_init(&x, 100);
    units b;
    units_init(&b, 3);
    key(b.keys, 1, 17);
    key(b.keys + KEY, 1, 17); /* the same key again: an idle gap split it in the batch */
    key(b.keys + 2 * KEY, 2, 6);
    int64_t next = 0;
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &b.u, &next, 0), GW_WALK_DONE);
    CHECK_EQ(next, 3);
    CHECK_EQ(b.slots[0], 0);
    CHECK_EQ(b.slots[1], 1);
    CHECK_EQ(b.slots[2], 2);
    CHECK_EQ(b.u.n_close_after, 1);
    CHECK_EQ(b.close_after[0], 0);
    CHECK_EQ(x.index.live, 2); /* the key points at its newer slot */
    CHECK_EQ(gw_flowindex_find(&x.index, &x.t, b.keys), 1);
    CHECK_EQ(x.t.size, 3);
    CHECK(x.active[0] && x.active[1] && x.active[2]);
    int64_t old = 0;
    CHECK_EQ(gw_flowindex_forget(&x.index, &x.t, &old, 1), 0); /* not the key's entry any more */
    int64_t newer = 1;
    CHECK_EQ(gw_flowindex_forget(&x.index, &x.t, &newer, 1), 1);
    CHECK_EQ(gw_flowindex_find(&x.index, &x.t, b.keys), -1);
    CHECK_EQ(gw_flowindex_find(&x.index, &x.t, b.keys + 2 * KEY), 2); /* found past the deleted entry */
}

static void test_walk_ends_idle_and_reused_flows(void) {
    table x;
    table_init(&x, 100);
    units b;
    units_init(&b, 2);
    key(b.keys, 1, 17);
    key(b.keys + KEY, 2, 6);
    int64_t next = 0;
    gw_flowtable_walk(&x.t, &x.index, &b.u, &next, 0);
    x.last_ns[0] = x.last_ns[1] = 0;
    x.flags[2] = 0x04; /* the TCP flow saw a RST: closed */
    x.isn[2] = 5;
    units c;
    units_init(&c, 2);
    key(c.keys, 1, 17);
    key(c.keys + KEY, 2, 6);
    c.first_ns[0] = 31000000000LL; /* 31 s later: past UDP's 30 s for a new flow */
    c.first_ns[1] = 1000000000LL;
    c.opening[1] = 0;
    c.first_seq[1] = 6; /* a new SYN after the close */
    next = 0;
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &c.u, &next, GW_RESUME_NONE), GW_WALK_ENDED);
    CHECK_EQ(next, 0);
    CHECK_EQ(c.u.n_finished, 1);
    CHECK_EQ(c.finished[0], 0);
    CHECK_EQ(c.why[0], GW_END_IDLE);
    CHECK(!x.active[0]);
    x.free_slots[x.t.n_free++] = 0; /* the caller reports the flow and frees its slot */
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &c.u, &next, GW_RESUME_CHECK), GW_WALK_ENDED);
    CHECK_EQ(next, 1);
    CHECK_EQ(c.slots[0], 0); /* the unit that ended the flow took its slot */
    CHECK_EQ(c.finished[1], 1);
    CHECK_EQ(c.why[1], GW_END_REUSE);
    x.free_slots[x.t.n_free++] = 1;
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &c.u, &next, GW_RESUME_CHECK), GW_WALK_DONE);
    CHECK_EQ(c.slots[1], 1);
    CHECK(x.active[0] && x.active[1]);
}

static void test_walk_stops_for_an_eviction_and_resumes(void) {
    table x;
    table_init(&x, 2);
    units b;
    units_init(&b, 3);
    for (int i = 0; i < 3; i++)
        key(b.keys + i * KEY, (uint8_t)(i + 1), 17);
    int64_t next = 0;
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &b.u, &next, 0), GW_WALK_EVICT);
    CHECK_EQ(next, 2);
    gw_flowindex_forget(&x.index, &x.t, &b.slots[0], 1); /* the caller evicts the first */
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &b.u, &next, GW_RESUME_OPEN), GW_WALK_DONE);
    CHECK_EQ(b.slots[2], 2);
    CHECK_EQ(x.index.live, 2);
}

static void test_rehash_and_bad_slots(void) {
    table x;
    table_init(&x, 100);
    units b;
    units_init(&b, 8);
    for (int i = 0; i < 8; i++)
        key(b.keys + i * KEY, (uint8_t)(10 + i), 6);
    int64_t next = 0;
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &b.u, &next, 0), GW_WALK_DONE);
    int64_t bigger[128];
    for (int i = 0; i < 128; i++)
        bigger[i] = GW_INDEX_EMPTY;
    gw_flowindex to = {bigger, 128, 0, 0};
    CHECK_EQ(gw_flowindex_rehash(&x.index, &to, &x.t), 0);
    CHECK_EQ(to.live, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(gw_flowindex_find(&to, &x.t, b.keys + i * KEY), i);
    x.free_slots[0] = 99; /* a free slot the table never handed out is refused */
    x.t.n_free = 1;
    units c;
    units_init(&c, 1);
    key(c.keys, 200, 6);
    next = 0;
    CHECK_EQ(gw_flowtable_walk(&x.t, &x.index, &c.u, &next, 0), GW_WALK_NO_ROOM);
}

int main(void) {
    test_walk_opens_and_finds();
    test_walk_ends_idle_and_reused_flows();
    test_walk_stops_for_an_eviction_and_resumes();
    test_rehash_and_bad_slots();
    return GW_TEST_END();
}
