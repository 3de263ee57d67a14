/* The flow table's index and unit walk (see gw_flowtable.h and flows.py, the reference). */
#include "gw_flowtable.h"

#include <string.h>

#include "gw_common.h"

#define NS 1000000000LL
#define FIN 0x01
#define RST 0x04
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

static uint64_t key_hash(const uint8_t *key, int64_t size) {
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    int64_t i = 0;
    for (; i + 8 <= size; i += 8) {
        h ^= gw_le64(key + i);
        h *= 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    for (; i < size; i++)
        h = (h ^ key[i]) * 0x94D049BB133111EBULL;
    return h ^ (h >> 29);
}

static const uint8_t *slot_key(const gw_flowcolumns *t, int64_t slot) { return t->keys + slot * t->key_size; }

/* The entry holding key, or -1. */
static int64_t find_entry(const gw_flowindex *index, const gw_flowcolumns *t, const uint8_t *key) {
    uint64_t mask = (uint64_t)index->cap - 1;
    uint64_t at = key_hash(key, t->key_size) & mask;
    for (int64_t probes = 0; probes < index->cap; probes++, at = (at + 1) & mask) {
        int64_t slot = index->entries[at];
        if (slot == GW_INDEX_EMPTY)
            return -1;
        if (slot >= t->capacity)
            return -1; /* not an entry this table made */
        if (slot >= 0 && memcmp(slot_key(t, slot), key, (size_t)t->key_size) == 0)
            return (int64_t)at;
    }
    return -1;
}

int64_t gw_flowindex_find(const gw_flowindex *index, const gw_flowcolumns *t, const uint8_t *key) {
    int64_t at = find_entry(index, t, key);
    return at < 0 ? -1 : index->entries[at];
}

/* Points key at slot: its entry if it has one, else the first GONE or EMPTY entry on its
 * probe path. -1 if the index is full. */
static int set_entry(gw_flowindex *index, const gw_flowcolumns *t, const uint8_t *key, int64_t slot) {
    int64_t at = find_entry(index, t, key);
    if (at >= 0) {
        index->entries[at] = slot;
        return 0;
    }
    uint64_t mask = (uint64_t)index->cap - 1;
    uint64_t probe = key_hash(key, t->key_size) & mask;
    for (int64_t probes = 0; probes < index->cap; probes++, probe = (probe + 1) & mask) {
        int64_t entry = index->entries[probe];
        if (entry < 0) {
            if (entry == GW_INDEX_EMPTY)
                index->used++;
            index->entries[probe] = slot;
            index->live++;
            return 0;
        }
    }
    return -1;
}

int64_t gw_flowindex_forget(gw_flowindex *index, const gw_flowcolumns *t, const int64_t *slots, int64_t n) {
    int64_t removed = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t at = find_entry(index, t, slot_key(t, slots[i]));
        if (at >= 0 && index->entries[at] == slots[i]) {
            index->entries[at] = GW_INDEX_GONE;
            index->live--;
            removed++;
        }
    }
    return removed;
}

int gw_flowindex_rehash(const gw_flowindex *from, gw_flowindex *to, const gw_flowcolumns *t) {
    for (int64_t i = 0; i < from->cap; i++)
        if (from->entries[i] >= 0 && set_entry(to, t, slot_key(t, from->entries[i]), from->entries[i]) != 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------ flow state */

static int64_t floor_seconds(int64_t ns) { return ns / NS - (ns % NS < 0); }

static int is_closed(const gw_flowcolumns *t, int64_t slot) {
    uint8_t orig = t->flags[2 * slot], resp = t->flags[2 * slot + 1];
    return ((orig | resp) & RST) || (orig & resp & FIN);
}

/* FlowConfig.idle_s for the slot's protocol and state. */
static int64_t idle_limit(const gw_flowcolumns *t, int64_t slot) {
    int established = t->packets[2 * slot] > 0 && t->packets[2 * slot + 1] > 0;
    uint8_t proto = slot_key(t, slot)[t->proto_offset];
    if (proto == IPPROTO_TCP)
        return is_closed(t, slot) ? t->idle_s[2] : t->idle_s[established ? 1 : 0];
    if (proto == IPPROTO_UDP)
        return t->idle_s[established ? 4 : 3];
    return t->idle_s[established ? 6 : 5];
}

/* The unit's flow has ended before it: idle too long, or a new SYN (SYN/ACK) after a close. */
static int ended_before(const gw_flowcolumns *t, const gw_flowunits *u, int64_t i, int64_t slot) {
    if (floor_seconds(u->first_ns[i]) - floor_seconds(t->last_ns[slot]) > idle_limit(t, slot))
        return 1;
    int8_t opening = u->opening[i];
    return opening >= 0 && is_closed(t, slot) && u->first_seq[i] != t->isn[2 * slot + opening];
}

static int64_t new_slot(gw_flowcolumns *t) {
    if (t->n_free > 0) {
        int64_t slot = t->free_slots[t->n_free - 1];
        if (slot < 0 || slot >= t->size)
            return -1; /* not a slot this table handed out */
        t->n_free--;
        return slot;
    }
    if (t->size >= t->capacity)
        return -1;
    return t->size++;
}

static void finish(gw_flowcolumns *t, gw_flowindex *index, gw_flowunits *u, int64_t slot, uint8_t why) {
    gw_flowindex_forget(index, t, &slot, 1);
    t->active[slot] = 0;
    u->finished[u->n_finished] = slot;
    u->why[u->n_finished++] = why;
}

/* flows.py's FlowTable._slots_for_units, unit by unit. */
int gw_flowtable_walk(gw_flowcolumns *t, gw_flowindex *index, gw_flowunits *u, int64_t *next, int resume) {
    for (int64_t i = *next; i < u->n; i++) {
        const uint8_t *key = u->keys + i * t->key_size;
        int resuming = i == *next ? resume : GW_RESUME_NONE;
        int64_t slot = -1;
        if (resuming == GW_RESUME_NONE) {
            slot = gw_flowindex_find(index, t, key);
            if (slot >= 0) {
                if (i > 0 && u->slots[i - 1] == slot) { /* a second unit of this key in this batch */
                    u->close_after[u->n_close_after++] = slot;
                    slot = -1;
                } else if (ended_before(t, u, i, slot)) {
                    finish(t, index, u, slot, u->opening[i] < 0 ? GW_END_IDLE : GW_END_REUSE);
                    *next = i;
                    return GW_WALK_ENDED;
                }
            }
        }
        if (slot < 0) {
            if (resuming != GW_RESUME_OPEN && index->live >= t->max_flows) {
                *next = i;
                return GW_WALK_EVICT;
            }
            if (index->used >= index->cap / 2 + index->cap / 4 || (slot = new_slot(t)) < 0) {
                *next = i;
                return GW_WALK_NO_ROOM;
            }
            memcpy(t->keys + slot * t->key_size, key, (size_t)t->key_size);
            set_entry(index, t, key, slot); /* cannot fail: a quarter of the entries are empty */
            t->active[slot] = 1;
            u->opened[i] = 1;
        }
        u->slots[i] = slot;
    }
    *next = u->n;
    return GW_WALK_DONE;
}
