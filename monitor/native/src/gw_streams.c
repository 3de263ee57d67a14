/* The common case of reassembly.py's StreamTable.process loop, row for row the same decisions
 * (StreamTable._segment, Sender.syn, StreamTable._checked, Sender.add): in order, nothing held.
 * Every row is first judged without touching anything; a row that would take the Python path
 * (hold a piece, a mid-stream base, a segment aside, a verdict left to the Python) ends the
 * walk before any change, so the Python resumes exactly there on the shared state. */
#include "gw_streams.h"

#define GW_MOD ((int64_t)1 << 32)
#define GW_HALF ((int64_t)1 << 31)
#define GW_SYN 0x02
#define GW_UNKNOWN 0
#define GW_RELIABLE 1
#define GW_UNRELIABLE 2
#define GW_CODE_UNVERIFIABLE 0
#define GW_CODE_GOOD 1
#define GW_CODE_OFFLOADED 3
#define GW_CODE_FALLBACK 4

/* One sender's state as the walk works on it (a copy, written back when a row is done). */
typedef struct {
    int64_t exists, anchor, next, base, confirmed, delivered, verdict, bad, waiting_since, pieces, held, last_end;
} sender;

/* What a row's checksum lets through: the segment, nothing, the segment with its sender found
 * unreliable (its first bad checksum decides), or a Python decision. */
typedef enum { TAKE, DROP, UNRELIABLE_NOW, PYTHON } verdict;

static void count(gw_streams_batch *b, int which, int64_t by) {
    int seen = 0;
    for (int i = 0; i < b->n_order; i++)
        seen |= b->order[i] == which;
    if (!seen)
        b->order[b->n_order++] = which;
    b->counters[which] += by;
}

static void load(const int64_t *s, sender *out) {
    out->exists = s[GW_S_EXISTS], out->anchor = s[GW_S_ANCHOR], out->next = s[GW_S_NEXT];
    out->base = s[GW_S_BASE], out->confirmed = s[GW_S_CONFIRMED], out->delivered = s[GW_S_DELIVERED];
    out->verdict = s[GW_S_VERDICT], out->bad = s[GW_S_BAD], out->waiting_since = s[GW_S_WAITING];
    out->pieces = s[GW_S_PIECES], out->held = s[GW_S_HELD], out->last_end = s[GW_S_LAST_END];
}

static void store(int64_t *s, const sender *in) {
    s[GW_S_EXISTS] = in->exists, s[GW_S_ANCHOR] = in->anchor, s[GW_S_NEXT] = in->next;
    s[GW_S_BASE] = in->base, s[GW_S_CONFIRMED] = in->confirmed, s[GW_S_DELIVERED] = in->delivered;
    s[GW_S_VERDICT] = in->verdict, s[GW_S_BAD] = in->bad, s[GW_S_WAITING] = in->waiting_since;
    s[GW_S_PIECES] = in->pieces, s[GW_S_HELD] = in->held, s[GW_S_LAST_END] = in->last_end;
    s[GW_S_DIRTY] = 1;
}

/* Sender.syn: the first data byte is ISN+1 (a retransmitted SYN changes nothing). */
static void syn(sender *s, int64_t seq) {
    int64_t first = (seq + 1) % GW_MOD;
    if (s->confirmed && s->anchor == first)
        return;
    if (s->anchor < 0 || !s->delivered) {
        s->anchor = first, s->next = 0, s->base = 0, s->confirmed = 1;
    }
}

/* StreamTable._capture_unreliable: most senders so far had no good checksum. */
static int capture_unreliable(const gw_streams_batch *b) {
    return b->unreliable_senders >= 10 && b->unreliable_senders > b->reliable_senders;
}

/* StreamTable._checked's bad-checksum branch under auto, for a sender with nothing aside: the
 * sender found unreliable at once (the capture's checksums mean nothing, or one bad is enough),
 * or a segment set aside (the Python's). */
static verdict first_bad(const gw_streams_batch *b, int64_t bad) {
    int64_t now = capture_unreliable(b) ? b->unreliable_after : bad + 1;
    if (b->max_segments < 1 || now < b->unreliable_after)
        return PYTHON;
    return UNRELIABLE_NOW;
}

/* StreamTable._checked for a sender with nothing aside: what the row's verdict lets through. */
static verdict judge(const gw_streams_batch *b, int64_t sender_verdict, int64_t bad, int64_t code, int *good) {
    int mode = b->mode;
    *good = 0;
    if (mode == GW_MODE_IGNORE || (mode == GW_MODE_AUTO && sender_verdict == GW_UNRELIABLE))
        return TAKE;
    if (code == GW_CODE_FALLBACK)
        return PYTHON;
    if (code == GW_CODE_OFFLOADED && mode == GW_MODE_AUTO)
        return TAKE;
    if (code == GW_CODE_UNVERIFIABLE)
        return TAKE;
    if (code == GW_CODE_GOOD) {
        *good = 1;
        return TAKE;
    }
    /* bad, or offloaded under verify */
    if (mode == GW_MODE_VERIFY || sender_verdict == GW_RELIABLE)
        return DROP;
    return first_bad(b, bad);
}

/* Sender.offset: seq as the offset nearest to the in-order end. */
static int64_t offset_of(const sender *s, int64_t seq) {
    int64_t d = ((seq - s->anchor - s->next) % GW_MOD + GW_MOD) % GW_MOD;
    return s->next + (d >= GW_HALF ? d - GW_MOD : d);
}

/* Sender._skip_gap's test: whether the hole before the first held piece would be skipped now
 * (old, or a cap reached); 1 too when the time cannot be compared exactly. */
static int gap_would_skip(const gw_streams_batch *b, const sender *s, int64_t size, int64_t ts) {
    const int64_t wide = (int64_t)1 << 62, exact = (int64_t)1 << 53;
    if (ts < -wide || ts > wide || s->waiting_since < -wide || s->waiting_since > wide)
        return 1;
    int64_t waited = ts - s->waiting_since;
    if (waited < -exact || waited > exact)
        return 1; /* a double would round it: the Python compares exactly */
    int old = (double)waited > b->gap_ns;
    int full = s->pieces >= b->max_segments || s->held + size > b->flow_memcap;
    return old || full || b->memory_used + size > b->memcap;
}

/* Sender.add for a confirmed sender with nothing aside: 1 when the walk can take the segment
 * (in order with nothing held, behind the stream, beyond the window, or a new last piece). */
static int placeable(const gw_streams_batch *b, const sender *s, int64_t seq, int64_t size, int64_t ts) {
    int64_t start = offset_of(s, seq), end = start + size;
    if (start <= s->next)
        return end <= s->next || s->pieces == 0; /* filling the hole is the Python's */
    if (s->pieces > 0 && gap_would_skip(b, s, size, ts))
        return 0;
    if (start - s->next > b->window)
        return 1;
    if (s->pieces > 0 && start < s->last_end)
        return 0; /* before or over a held piece: the policies are the Python's */
    if (s->pieces + 1 > b->max_segments || s->held + size > b->flow_memcap || b->memory_used + size > b->memcap)
        return 0; /* refused by a cap: the Python's */
    return 1;
}

/* A sender picked up mid-stream whose first segment alone confirms its base (Sender._midstream,
 * _hold and _drain on an empty sender): the segment is in order at once, unless a cap refuses
 * to hold it (the Python's). */
static int confirms_at_once(const gw_streams_batch *b, int64_t size) {
    return b->window >= 0 && size >= b->confirm && b->max_segments >= 1 && size <= b->flow_memcap
           && size <= b->memcap - b->memory_used;
}

/* Sender._hold and _drain for a segment after every held piece: held, nothing handed out. */
static void hold_last(gw_streams_batch *b, sender *s, int64_t row, int64_t start, int64_t end, int64_t ts) {
    if (s->pieces == 0)
        s->waiting_since = ts;
    s->pieces++, s->held += end - start, s->last_end = end;
    b->memory_used += end - start;
    b->held_at[row] = start;
    b->holds[b->n_holds++] = row;
}

/* Sender.add on the common case; the bytes handed out go to the batch's out buffer. */
static void add(gw_streams_batch *b, sender *s, int64_t row, int64_t seq, const uint8_t *payload, int64_t size,
                int64_t ts) {
    int64_t start = offset_of(s, seq), end = start + size;
    if (end <= s->next) {
        count(b, GW_C_RETRANSMITTED, 1);
        return;
    }
    if (start - s->next > b->window) {
        count(b, GW_C_BEYOND_WINDOW, 1);
        return;
    }
    if (start > s->next) {
        hold_last(b, s, row, start, end, ts);
        return;
    }
    payload += s->next - start; /* what the receiver has in order stays as it is */
    int64_t length = end - s->next, room = b->depth - s->delivered;
    if (room < 0)
        room = 0;
    if (room < length) {
        count(b, GW_C_DEPTH_REACHED, 1);
        length = room;
    }
    memcpy(b->out + b->out_used, payload, (size_t)length);
    b->out_offset[row] = b->out_used, b->out_len[row] = length;
    b->out_used += length;
    s->next = end, s->delivered += length;
}

/* Whether the row must be left to the Python; judged on a copy, before anything changes. */
static int left_to_python(const gw_streams_batch *b, const int64_t *r, const int64_t *srow, sender s) {
    if (s.exists == GW_SENDER_GONE || !srow[GW_S_SIMPLE])
        return 1;
    if (s.pieces > 0 && (!s.confirmed || (r[GW_ROW_FLAGS] & GW_SYN)))
        return 1; /* a SYN may reset what is held; a tentative base with pieces: the Python's */
    int64_t start = r[GW_ROW_START], size = r[GW_ROW_SIZE];
    if (start < 0 || size < 0 || start > b->data_len || size > b->data_len - start || size > b->out_capacity - b->out_used)
        return 1; /* numpy would clip the slice: the Python's */
    if (s.exists == GW_SENDER_NEW)
        s.anchor = -1, s.next = s.base = s.confirmed = s.delivered = s.bad = s.waiting_since = 0, s.verdict = GW_UNKNOWN,
        s.pieces = s.held = s.last_end = 0;
    int64_t seq = r[GW_ROW_SEQ];
    if (r[GW_ROW_FLAGS] & GW_SYN) {
        syn(&s, seq);
        seq = (seq + 1) % GW_MOD;
    }
    int good;
    verdict v = judge(b, s.verdict, s.bad, r[GW_ROW_CODE], &good);
    if (v == PYTHON)
        return 1;
    if (v == DROP || size == 0)
        return 0;
    if (s.anchor < 0)
        return !confirms_at_once(b, size);
    if (!s.confirmed)
        return 1; /* a tentative mid-stream base: the Python's */
    return !placeable(b, &s, seq, size, r[GW_ROW_TS]);
}

/* One row the walk takes: the whole of _segment for it. */
static void take(gw_streams_batch *b, int64_t row, const int64_t *r, int64_t *srow) {
    sender s;
    load(srow, &s);
    if (s.exists == GW_SENDER_NEW)
        s.anchor = -1, s.next = s.base = s.confirmed = s.delivered = s.bad = s.waiting_since = 0, s.verdict = GW_UNKNOWN,
        s.pieces = s.held = s.last_end = 0;
    s.exists = GW_SENDER_FOLLOWED;
    b->touched[row] = 1;
    int64_t seq = r[GW_ROW_SEQ], size = r[GW_ROW_SIZE], fid = r[GW_ROW_FID];
    if (r[GW_ROW_FLAGS] & GW_SYN) {
        syn(&s, seq);
        seq = (seq + 1) % GW_MOD;
    }
    int good;
    verdict v = judge(b, s.verdict, s.bad, r[GW_ROW_CODE], &good);
    int skip = b->mode == GW_MODE_IGNORE || (b->mode == GW_MODE_AUTO && s.verdict == GW_UNRELIABLE);
    if (!skip && r[GW_ROW_CODE] == GW_CODE_UNVERIFIABLE)
        count(b, GW_C_UNVERIFIABLE, 1);
    if (!skip && r[GW_ROW_CODE] == GW_CODE_OFFLOADED && b->mode == GW_MODE_AUTO)
        count(b, GW_C_OFFLOADED, 1);
    else if (good && s.verdict == GW_UNKNOWN) {
        s.verdict = GW_RELIABLE;
        count(b, GW_C_RELIABLE_SENDERS, 1);
        b->reliable_senders++;
        count(b, GW_C_BAD_CHECKSUM, 0); /* nothing was aside, but the Counter key is made */
        b->discards[b->n_discards++] = fid;
    }
    if (v == UNRELIABLE_NOW) { /* set aside and taken back at once: the waiting set loses the flow */
        s.bad = capture_unreliable(b) ? b->unreliable_after : s.bad + 1;
        s.verdict = GW_UNRELIABLE;
        count(b, GW_C_UNRELIABLE_SENDERS, 1);
        b->unreliable_senders++;
        b->discards[b->n_discards++] = fid;
    }
    if (v == DROP)
        count(b, GW_C_BAD_CHECKSUM, 1);
    else if (size > 0) {
        if (s.anchor < 0) { /* mid-stream: this segment is the base, held and drained at once */
            s.anchor = seq, s.next = s.base = 0, s.confirmed = 1;
            s.waiting_since = r[GW_ROW_TS];
        }
        add(b, &s, row, seq, b->data + r[GW_ROW_START], size, r[GW_ROW_TS]);
    }
    if (s.delivered >= b->depth) {
        int64_t slot = r[GW_ROW_SLOT];
        uint8_t bits = b->done_fid[slot] == fid ? b->done_bits[slot] : 0;
        b->done_fid[slot] = fid, b->done_bits[slot] = (uint8_t)(bits | r[GW_ROW_SIDE]);
        s.exists = GW_SENDER_GONE;
    }
    store(srow, &s);
}

int64_t gw_streams_walk(gw_streams_batch *b, int64_t from) {
    memset(b->counters, 0, sizeof b->counters);
    b->n_order = 0;
    b->n_discards = 0;
    b->n_holds = 0;
    for (int64_t row = from; row < b->n_rows; row++) {
        const int64_t *r = b->rows + row * GW_ROW_COLUMNS;
        int64_t slot = r[GW_ROW_SLOT], who = r[GW_ROW_SENDER];
        if (slot < 0 || slot >= b->n_slots || who < 0 || who >= b->n_senders)
            return row;
        if (b->done_fid[slot] == r[GW_ROW_FID] && (b->done_bits[slot] & r[GW_ROW_SIDE])) {
            b->past[row] = 1; /* its sender reached the depth earlier in this batch */
            continue;
        }
        int64_t *srow = b->senders + who * GW_S_COLUMNS;
        sender s;
        load(srow, &s);
        if (left_to_python(b, r, srow, s))
            return row;
        take(b, row, r, srow);
    }
    return b->n_rows;
}
