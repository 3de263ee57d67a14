# flows kernels: wrappers over src/gw_flowjson (the finished-flow record writer).
from libc.stdint cimport int8_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "gw_flowjson.h" nogil:
    ctypedef struct gw_text_column:
        const uint8_t *blob
        int64_t blob_len
        const int64_t *offsets
        int64_t n_entries
        const int64_t *index

    ctypedef struct gw_flow_columns:
        int64_t n
        const int64_t *first_ns
        const int64_t *last_ns
        const int64_t *flow_id
        const uint8_t *proto
        const uint8_t *version
        const uint64_t *orig_hi
        const uint64_t *orig_lo
        const uint64_t *resp_hi
        const uint64_t *resp_lo
        const int64_t *orig_p
        const int64_t *resp_p
        const uint32_t *vlan
        const int64_t *orig_pkts
        const int64_t *orig_ip_bytes
        const int64_t *resp_pkts
        const int64_t *resp_ip_bytes
        const int64_t *orig_bytes
        const int64_t *resp_bytes
        const uint8_t *flags_orig
        const uint8_t *flags_resp
        gw_text_column community
        gw_text_column direction
        gw_text_column app_proto
        gw_text_column names
        gw_text_column tunnel
        gw_text_column suffix
        const uint8_t *reason
        int64_t reason_len

    int gw_text_column_check(const gw_text_column *column, int64_t n_rows)
    int64_t gw_flowjson_bound(const gw_flow_columns *c)
    int64_t gw_flowjson_write(const gw_flow_columns *c, uint8_t *out, int64_t out_cap, int64_t *line_ends)
    int gw_format_address(uint8_t version, uint64_t hi, uint64_t lo, char *out)
    int gw_format_double(double value, char *out)
    int GW_ADDRESS_MAX
    int GW_DOUBLE_MAX

import numpy as _flows_np

_FLOWS_TEXTS = ("community", "direction", "app_proto", "names", "tunnel", "suffix")
_FLOWS_EMPTY = b"\0"  # a blob never handed to C as NULL


cdef int _flows_text(gw_text_column *column, object text, int64_t n, list keep) except -1:
    """Fill column from (blob bytes, offsets int64[entries + 1], index int64[n]), checked."""
    cdef const uint8_t[::1] blob
    cdef const int64_t[::1] offsets
    cdef const int64_t[::1] index
    raw, offsets_array, index_array = text
    blob = raw if len(raw) else _FLOWS_EMPTY
    offsets, index = offsets_array, index_array
    if offsets.shape[0] < 1 or index.shape[0] != n:
        raise ValueError("text column: offsets need one entry more than the table, index one per row")
    keep.extend((blob, offsets, index))
    column.blob = &blob[0]
    column.blob_len = len(raw)
    column.offsets = &offsets[0]
    column.n_entries = offsets.shape[0] - 1
    column.index = &index[0] if n else NULL
    cdef int status
    with nogil:
        status = gw_text_column_check(column, n) if n else (0 if column.offsets[0] == 0 else -1)
    if status != 0:
        raise ValueError("text column: offsets out of order or past the blob, or an index out of range")
    return 0


def flowjson_lines(const int64_t[::1] first_ns, const int64_t[::1] last_ns, const int64_t[::1] flow_id,
                   const uint8_t[::1] proto, const uint8_t[::1] version,
                   const uint64_t[::1] orig_hi, const uint64_t[::1] orig_lo,
                   const uint64_t[::1] resp_hi, const uint64_t[::1] resp_lo,
                   const int64_t[::1] orig_p, const int64_t[::1] resp_p, const uint32_t[::1] vlan,
                   const int64_t[:, ::1] counts, const uint8_t[::1] flags_orig, const uint8_t[::1] flags_resp,
                   dict texts, bytes reason):
    """The JSON lines of n finishing flows as one str, and where each line ends (int64[n]).

    counts: int64[n, 6] (orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes, orig_bytes,
    resp_bytes); texts: for each of community, direction, app_proto, names, tunnel, suffix a
    (blob, offsets, index) table of encoded JSON texts (see gw_flowjson.h)."""
    cdef int64_t n = first_ns.shape[0]
    lengths = (last_ns.shape[0], flow_id.shape[0], proto.shape[0], version.shape[0], orig_hi.shape[0],
               orig_lo.shape[0], resp_hi.shape[0], resp_lo.shape[0], orig_p.shape[0], resp_p.shape[0],
               vlan.shape[0], flags_orig.shape[0], flags_resp.shape[0])
    if any(length != n for length in lengths):
        raise ValueError("flowjson_lines: every column needs one value per flow")
    if counts.shape[0] != n or counts.shape[1] != 6:
        raise ValueError("flowjson_lines: counts must be int64[n, 6]")
    ends = _flows_np.zeros(n, dtype=_flows_np.int64)
    if n == 0:
        return "", ends
    cdef gw_flow_columns c
    cdef list keep = []
    cdef const int64_t[:] pick
    c.n = n
    c.first_ns, c.last_ns, c.flow_id = &first_ns[0], &last_ns[0], &flow_id[0]
    c.proto, c.version = &proto[0], &version[0]
    c.orig_hi, c.orig_lo, c.resp_hi, c.resp_lo = &orig_hi[0], &orig_lo[0], &resp_hi[0], &resp_lo[0]
    c.orig_p, c.resp_p, c.vlan = &orig_p[0], &resp_p[0], &vlan[0]
    split = [_flows_np.ascontiguousarray(counts[:, i]) for i in range(6)]
    cdef const int64_t[::1] c0 = split[0], c1 = split[1], c2 = split[2], c3 = split[3], c4 = split[4], c5 = split[5]
    c.orig_pkts, c.orig_ip_bytes, c.resp_pkts, c.resp_ip_bytes, c.orig_bytes, c.resp_bytes = \
        &c0[0], &c1[0], &c2[0], &c3[0], &c4[0], &c5[0]
    c.flags_orig, c.flags_resp = &flags_orig[0], &flags_resp[0]
    _flows_text(&c.community, texts["community"], n, keep)
    _flows_text(&c.direction, texts["direction"], n, keep)
    _flows_text(&c.app_proto, texts["app_proto"], n, keep)
    _flows_text(&c.names, texts["names"], n, keep)
    _flows_text(&c.tunnel, texts["tunnel"], n, keep)
    _flows_text(&c.suffix, texts["suffix"], n, keep)
    c.reason = <const uint8_t *> reason
    c.reason_len = len(reason)
    cdef int64_t bound
    with nogil:
        bound = gw_flowjson_bound(&c)
    if bound < 0:
        raise ValueError("flowjson_lines: the lines would not fit in memory")
    out = bytearray(bound)
    cdef uint8_t[::1] out_view = out
    cdef int64_t[::1] ends_view = ends
    cdef int64_t written
    with nogil:
        written = gw_flowjson_write(&c, &out_view[0], bound, &ends_view[0])
    if written < 0:
        raise ValueError("flowjson_lines: output buffer too small")  # not reached: sized by the bound
    return out[:written].decode("ascii"), ends


def flowjson_addresses(const uint8_t[::1] version, const uint64_t[::1] hi, const uint64_t[::1] lo):
    """Addresses as inet_ntop writes them (version 4: the low 32 bits of lo), as a list of str."""
    cdef Py_ssize_t n = version.shape[0], i
    if hi.shape[0] != n or lo.shape[0] != n:
        raise ValueError("flowjson_addresses: version, hi and lo need one value per address")
    out = bytearray(n * (GW_ADDRESS_MAX + 1) + 1)
    cdef uint8_t[::1] view = out
    cdef Py_ssize_t at = 0
    with nogil:
        for i in range(n):
            at += gw_format_address(version[i], hi[i], lo[i], <char *> &view[at])
            view[at] = 10
            at += 1
    return out[:at].decode("ascii").split("\n")[:n]


def flowjson_double(double value):
    """A float as the record writer writes it (Python's repr of it, for the tests)."""
    cdef char text[40]
    cdef int n = gw_format_double(value, text)
    return text[:n].decode("ascii")


# ------------------------------------------------------------ the flow table (gw_flowtable)

cdef extern from "gw_flowtable.h" nogil:
    ctypedef struct gw_flowindex:
        int64_t *entries
        int64_t cap
        int64_t live
        int64_t used

    ctypedef struct gw_flowcolumns:
        uint8_t *keys
        int64_t key_size
        int64_t proto_offset
        int64_t capacity
        const int64_t *last_ns
        const int64_t *packets
        const uint8_t *flags
        const uint32_t *isn
        uint8_t *active
        int64_t size
        int64_t *free_slots
        int64_t n_free
        int64_t idle_s[7]
        int64_t max_flows

    ctypedef struct gw_flowunits:
        int64_t n
        const uint8_t *keys
        const int64_t *first_ns
        const int8_t *opening
        const uint32_t *first_seq
        int64_t *slots
        uint8_t *opened
        int64_t *finished
        uint8_t *why
        int64_t n_finished
        int64_t *close_after
        int64_t n_close_after

    int GW_WALK_DONE
    int GW_WALK_EVICT
    int GW_WALK_NO_ROOM
    int GW_WALK_ENDED
    int GW_RESUME_NONE
    int GW_RESUME_OPEN
    int GW_RESUME_CHECK
    int GW_END_IDLE
    int GW_END_REUSE

    int gw_flowtable_walk(gw_flowcolumns *t, gw_flowindex *index, gw_flowunits *u, int64_t *next, int resume)
    int64_t gw_flowindex_forget(gw_flowindex *index, const gw_flowcolumns *t, const int64_t *slots, int64_t n)
    int gw_flowindex_rehash(const gw_flowindex *source, gw_flowindex *to, const gw_flowcolumns *t)
    int64_t gw_flowindex_find(const gw_flowindex *index, const gw_flowcolumns *t, const uint8_t *key)


cdef class FlowIndex:
    """The flow table's key -> slot index (open addressing, entries in a numpy array) over the
    table's key column, and the walk over a batch's units (flows.py holds the reference)."""

    cdef public object entries
    cdef public int64_t live, used
    cdef int64_t key_size, proto_offset

    def __init__(self, int64_t key_size, int64_t proto_offset, int64_t capacity=1024):
        if key_size <= 0 or not 0 <= proto_offset < key_size or capacity < 4 or capacity & (capacity - 1):
            raise ValueError("FlowIndex: key size, protocol offset or capacity (a power of two) out of range")
        self.key_size, self.proto_offset = key_size, proto_offset
        self.entries = _flows_np.full(capacity, -1, dtype=_flows_np.int64)
        self.live = self.used = 0

    cdef int _columns(self, gw_flowcolumns *t, uint8_t[::1] keys, const int64_t[::1] last_ns,
                      const int64_t[::1] packets, const uint8_t[::1] flags, const uint32_t[::1] isn,
                      uint8_t[::1] active, int64_t size, int64_t[::1] free_slots, int64_t n_free) except -1:
        cdef int64_t capacity = keys.shape[0] // self.key_size
        if (capacity < 1 or last_ns.shape[0] < capacity or packets.shape[0] < 2 * capacity
                or flags.shape[0] < 2 * capacity or isn.shape[0] < 2 * capacity or active.shape[0] < capacity
                or not 0 <= size <= capacity or not 0 <= n_free <= free_slots.shape[0]):
            raise ValueError("FlowIndex: the table's columns disagree on its capacity")
        t.keys, t.key_size, t.proto_offset, t.capacity = &keys[0], self.key_size, self.proto_offset, capacity
        t.last_ns, t.packets, t.flags, t.isn, t.active = &last_ns[0], &packets[0], &flags[0], &isn[0], &active[0]
        t.size, t.n_free = size, n_free
        t.free_slots = &free_slots[0] if free_slots.shape[0] else NULL
        return 0

    def reserve(self, keys, int64_t more):
        """Room for ``more`` entries: the index grows (rehashed) to keep under half full."""
        cdef int64_t cap = self.entries.shape[0]
        if self.used + more <= cap // 2:
            return
        while self.live + more > cap // 2:
            cap *= 2
        cdef gw_flowcolumns t
        cdef gw_flowindex source, to
        cdef int64_t[::1] old = self.entries
        new = _flows_np.full(cap, -1, dtype=_flows_np.int64)
        cdef int64_t[::1] fresh = new
        cdef const uint8_t[::1] key_bytes = keys
        t.keys, t.key_size, t.capacity = <uint8_t *> &key_bytes[0], self.key_size, key_bytes.shape[0] // self.key_size
        source.entries, source.cap, source.live, source.used = &old[0], old.shape[0], self.live, self.used
        to.entries, to.cap, to.live, to.used = &fresh[0], cap, 0, 0
        cdef int status
        with nogil:
            status = gw_flowindex_rehash(&source, &to, &t)
        if status != 0:
            raise ValueError("FlowIndex: rehash found no room")  # not reached: sized above
        self.entries, self.live, self.used = new, to.live, to.used

    def forget(self, keys, const int64_t[::1] slots):
        """Drop the entries pointing at these slots (finished flows)."""
        cdef gw_flowcolumns t
        cdef gw_flowindex index
        cdef int64_t[::1] entries = self.entries
        cdef const uint8_t[::1] key_bytes = keys
        cdef int64_t capacity = key_bytes.shape[0] // self.key_size, i, removed
        for i in range(slots.shape[0]):
            if not 0 <= slots[i] < capacity:
                raise ValueError("FlowIndex.forget: a slot past the table")
        if slots.shape[0] == 0:
            return 0
        t.keys, t.key_size, t.capacity = <uint8_t *> &key_bytes[0], self.key_size, capacity
        index.entries, index.cap, index.live, index.used = &entries[0], entries.shape[0], self.live, self.used
        with nogil:
            removed = gw_flowindex_forget(&index, &t, &slots[0], slots.shape[0])
        self.live = index.live
        return removed

    def find(self, keys, const uint8_t[::1] key):
        """The slot of one key (bytes of key_size), or -1."""
        if key.shape[0] != self.key_size:
            raise ValueError("FlowIndex.find: a key of the wrong size")
        cdef gw_flowcolumns t
        cdef gw_flowindex index
        cdef int64_t[::1] entries = self.entries
        cdef const uint8_t[::1] key_bytes = keys
        t.keys, t.key_size, t.capacity = <uint8_t *> &key_bytes[0], self.key_size, key_bytes.shape[0] // self.key_size
        index.entries, index.cap, index.live, index.used = &entries[0], entries.shape[0], self.live, self.used
        return gw_flowindex_find(&index, &t, &key[0])

    def walk(self, table, const int64_t[::1] idle_s, int64_t max_flows, units, int64_t start, int resume):
        """FlowTable._slots_for_units in C from unit ``start``: returns (status, next unit).

        ``table``: (keys u8, last_ns, packets flat, flags flat, isn flat, active u8, size,
        free stack, n_free) -> the new (size, n_free) are in the result's third and fourth
        places; ``units``: a dict of the units' arrays and counts (n_finished, n_close_after),
        updated in place."""
        keys, last_ns, packets, flags, isn, active, size, free_slots, n_free = table
        cdef gw_flowcolumns t
        self._columns(&t, keys, last_ns, packets, flags, isn, active, size, free_slots, n_free)
        if idle_s.shape[0] != 7:
            raise ValueError("FlowIndex.walk: seven idle timeouts")
        cdef int i
        for i in range(7):
            t.idle_s[i] = idle_s[i]
        t.max_flows = max_flows
        cdef const uint8_t[::1] unit_keys = units["keys"]
        cdef const int64_t[::1] first_ns = units["first_ns"]
        cdef const int8_t[::1] opening = units["opening"]
        cdef const uint32_t[::1] first_seq = units["first_seq"]
        cdef int64_t[::1] slots = units["slots"]
        cdef uint8_t[::1] opened = units["opened"]
        cdef int64_t[::1] finished = units["finished"]
        cdef uint8_t[::1] why = units["why"]
        cdef int64_t[::1] close_after = units["close_after"]
        cdef int64_t n = first_ns.shape[0]
        if (unit_keys.shape[0] != n * self.key_size or opening.shape[0] != n or first_seq.shape[0] != n
                or slots.shape[0] != n or opened.shape[0] != n or finished.shape[0] != n or why.shape[0] != n
                or close_after.shape[0] != n or not 0 <= start <= n):
            raise ValueError("FlowIndex.walk: the units' arrays need one value per unit")
        if not GW_RESUME_NONE <= resume <= GW_RESUME_CHECK:
            raise ValueError("FlowIndex.walk: resume is one of the FLOWTABLE_RESUME_ codes")
        if n == 0:
            return GW_WALK_DONE, 0, size, n_free
        cdef gw_flowunits u
        u.n, u.keys, u.first_ns, u.opening, u.first_seq = n, &unit_keys[0], &first_ns[0], &opening[0], &first_seq[0]
        u.slots, u.opened, u.finished, u.why, u.close_after = &slots[0], &opened[0], &finished[0], &why[0], &close_after[0]
        u.n_finished, u.n_close_after = units["n_finished"], units["n_close_after"]
        if not (0 <= u.n_finished <= n and 0 <= u.n_close_after <= n):
            raise ValueError("FlowIndex.walk: counts out of range")
        cdef gw_flowindex index
        cdef int64_t[::1] entries = self.entries
        index.entries, index.cap, index.live, index.used = &entries[0], entries.shape[0], self.live, self.used
        cdef int64_t next_unit = start
        cdef int status
        with nogil:
            status = gw_flowtable_walk(&t, &index, &u, &next_unit, resume)
        self.live, self.used = index.live, index.used
        units["n_finished"], units["n_close_after"] = u.n_finished, u.n_close_after
        if status == GW_WALK_NO_ROOM:
            raise ValueError("FlowIndex.walk: no free slot or index entry (reserve them first)")
        return status, next_unit, t.size, t.n_free


FLOWTABLE_DONE, FLOWTABLE_EVICT, FLOWTABLE_ENDED = GW_WALK_DONE, GW_WALK_EVICT, GW_WALK_ENDED
FLOWTABLE_RESUME_NONE, FLOWTABLE_RESUME_OPEN, FLOWTABLE_RESUME_CHECK = GW_RESUME_NONE, GW_RESUME_OPEN, GW_RESUME_CHECK
FLOWTABLE_END_IDLE, FLOWTABLE_END_REUSE = GW_END_IDLE, GW_END_REUSE


# ------------------------------------------------------------ Community IDs (gw_communityid)

cdef extern from "gw_communityid.h" nogil:
    int GW_COMMUNITY_QUOTED
    int gw_community_id(uint16_t seed, uint8_t version, uint8_t proto, uint64_t a_hi, uint64_t a_lo, uint64_t b_hi,
                        uint64_t b_lo, uint16_t a_port, uint16_t b_port, char *out)


def flowjson_community_ids(const uint8_t[::1] version, const uint8_t[::1] proto, const uint64_t[::1] a_hi,
                           const uint64_t[::1] a_lo, const uint64_t[::1] b_hi, const uint64_t[::1] b_lo,
                           const uint16_t[::1] a_port, const uint16_t[::1] b_port, uint16_t seed=0):
    """Quoted Community IDs of canonical keys, GW_COMMUNITY_QUOTED bytes each in one blob, and
    per key 1 where it has one (0: a version other than 4 or 6, its bytes left blank)."""
    cdef Py_ssize_t n = version.shape[0], i
    if (proto.shape[0] != n or a_hi.shape[0] != n or a_lo.shape[0] != n or b_hi.shape[0] != n or b_lo.shape[0] != n
            or a_port.shape[0] != n or b_port.shape[0] != n):
        raise ValueError("flowjson_community_ids: one value per key in every column")
    out = bytearray(n * GW_COMMUNITY_QUOTED)
    ok = _flows_np.zeros(n, dtype=_flows_np.uint8)
    if n == 0:
        return bytes(out), ok
    cdef uint8_t[::1] view = out
    cdef uint8_t[::1] ok_view = ok
    with nogil:
        for i in range(n):
            ok_view[i] = gw_community_id(seed, version[i], proto[i], a_hi[i], a_lo[i], b_hi[i], b_lo[i], a_port[i],
                                         b_port[i], <char *> &view[i * GW_COMMUNITY_QUOTED]) == 0
    return bytes(out), ok
