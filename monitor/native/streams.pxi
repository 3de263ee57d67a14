# streams kernels: TCP checksum verdicts, the in-order walk of the TCP reassembly and the walk of
# IP fragments (src/gw_checksum.c, src/gw_streams.c, src/gw_fragments.c). Names start with
# streams: this file is included into one module beside the other kernels' .pxi files.
from libc.stdint cimport int64_t, uint8_t

cdef extern from "gw_checksum.h" nogil:
    ctypedef struct gw_checksum_rows:
        const int64_t *l3
        const uint8_t *version
        const int64_t *payload
        const int64_t *payload_len
        const int64_t *captured_len
        const int64_t *ip_bytes
    void gw_checksum_verdicts(const uint8_t *data, int64_t len, const gw_checksum_rows *rows, int64_t n,
                              uint8_t *out)


def streams_checksums(const uint8_t[::1] data, const int64_t[::1] l3, const uint8_t[::1] version,
                      const int64_t[::1] payload, const int64_t[::1] payload_len,
                      const int64_t[::1] captured_len, const int64_t[::1] ip_bytes, uint8_t[::1] out):
    """The TCP checksum verdict of each row into out: 0 unverifiable, 1 good, 2 bad,
    3 offloaded, 4 left to the Python (a read would leave data)."""
    cdef int64_t n = out.shape[0]
    if (l3.shape[0] != n or version.shape[0] != n or payload.shape[0] != n or payload_len.shape[0] != n
            or captured_len.shape[0] != n or ip_bytes.shape[0] != n):
        raise ValueError("streams_checksums: the columns differ in length")
    if n == 0:
        return
    cdef gw_checksum_rows rows
    rows.l3, rows.version, rows.payload = &l3[0], &version[0], &payload[0]
    rows.payload_len, rows.captured_len, rows.ip_bytes = &payload_len[0], &captured_len[0], &ip_bytes[0]
    cdef const uint8_t *bytes_ = &data[0] if data.shape[0] else NULL
    cdef int64_t length = data.shape[0]
    with nogil:
        gw_checksum_verdicts(bytes_, length, &rows, n, &out[0])


cdef extern from "gw_streams.h" nogil:
    enum: GW_ROW_COLUMNS
    enum: GW_S_COLUMNS
    enum: GW_C_COUNT
    ctypedef struct gw_streams_batch:
        const uint8_t *data
        int64_t data_len
        const int64_t *rows
        int64_t n_rows
        int64_t *senders
        int64_t n_senders
        int64_t *done_fid
        uint8_t *done_bits
        int64_t n_slots
        int mode
        int64_t depth, window
        int64_t unreliable_after, max_segments
        int64_t unreliable_senders, reliable_senders
        int64_t confirm, flow_memcap, memcap, memory_used
        double gap_ns
        uint8_t *past
        uint8_t *touched
        int64_t *out_offset
        int64_t *out_len
        uint8_t *out
        int64_t out_capacity, out_used
        int64_t counters[GW_C_COUNT]
        int order[GW_C_COUNT]
        int n_order
        int64_t *discards
        int64_t n_discards
        int64_t *held_at
        int64_t *holds
        int64_t n_holds
    int64_t gw_streams_walk(gw_streams_batch *b, int64_t start)

#: gw_streams.h's counters, in its order, by reassembly.py's names.
STREAMS_COUNTERS = ("retransmitted", "beyond_window", "depth_reached", "checksum_offloaded", "checksum_unverifiable",
                    "checksum_reliable_senders", "bad_checksum", "checksum_unreliable_senders")


cdef class StreamsWalk:
    """One batch's in-order walk (see gw_streams.h): the buffers are taken once, so each call
    of walk(start, ...) after a row the Python handled costs no more than the rows it walks."""
    cdef gw_streams_batch b
    cdef object keep  # the arrays the struct points into
    cdef uint8_t spare

    def __init__(self, const uint8_t[::1] data, const int64_t[:, ::1] rows, int64_t[:, ::1] senders,
                 int64_t[::1] done_fid, uint8_t[::1] done_bits, int mode, int64_t depth, int64_t window,
                 int64_t unreliable_after, int64_t max_segments, int64_t confirm, int64_t flow_memcap,
                 int64_t memcap, double gap_ns, uint8_t[::1] past, uint8_t[::1] touched,
                 int64_t[::1] out_offset, int64_t[::1] out_len, uint8_t[::1] out, int64_t[::1] discards,
                 int64_t[::1] held_at, int64_t[::1] holds):
        cdef int64_t n = rows.shape[0]
        if rows.shape[1] != GW_ROW_COLUMNS or senders.shape[1] != GW_S_COLUMNS:
            raise ValueError("StreamsWalk: the row or sender matrix has the wrong number of columns")
        if past.shape[0] != n or touched.shape[0] != n or out_offset.shape[0] != n or out_len.shape[0] != n \
                or discards.shape[0] != n or held_at.shape[0] != n or holds.shape[0] != n:
            raise ValueError("StreamsWalk: the per-row outputs differ in length from the rows")
        if done_fid.shape[0] != done_bits.shape[0]:
            raise ValueError("StreamsWalk: done_fid and done_bits differ in length")
        if mode < 0 or mode > 2:
            raise ValueError(f"StreamsWalk: mode must be 0, 1 or 2, not {mode}")
        if n == 0 or senders.shape[0] == 0 or done_fid.shape[0] == 0:
            raise ValueError("StreamsWalk: no rows, senders or slots")
        self.keep = (data, rows, senders, done_fid, done_bits, past, touched, out_offset, out_len, out, discards,
                     held_at, holds)
        self.spare = 0
        self.b.data = &data[0] if data.shape[0] else &self.spare
        self.b.data_len = data.shape[0]
        self.b.rows, self.b.n_rows = &rows[0, 0], n
        self.b.senders, self.b.n_senders = &senders[0, 0], senders.shape[0]
        self.b.done_fid, self.b.done_bits, self.b.n_slots = &done_fid[0], &done_bits[0], done_fid.shape[0]
        self.b.mode, self.b.depth, self.b.window = mode, depth, window
        self.b.unreliable_after, self.b.max_segments = unreliable_after, max_segments
        self.b.confirm, self.b.flow_memcap, self.b.memcap, self.b.gap_ns = confirm, flow_memcap, memcap, gap_ns
        self.b.held_at, self.b.holds = &held_at[0], &holds[0]
        self.b.past, self.b.touched, self.b.out_offset, self.b.out_len = &past[0], &touched[0], &out_offset[0], &out_len[0]
        self.b.out = &out[0] if out.shape[0] else &self.spare
        self.b.out_capacity, self.b.out_used = out.shape[0], 0
        self.b.discards = &discards[0]

    def walk(self, int64_t start, int64_t unreliable_senders, int64_t reliable_senders, int64_t memory_used):
        """Walk from row start (the table's counts of unreliable and reliable senders now, and
        the out-of-order bytes it holds);
        returns (the first row left to the Python, [(counter name, amount)] in the order first
        counted, the number of flow ids written to discards, the number of rows written to
        holds, the table's held bytes now)."""
        if start < 0 or start > self.b.n_rows:
            raise ValueError(f"StreamsWalk.walk: start {start} is outside the rows")
        self.b.unreliable_senders, self.b.reliable_senders = unreliable_senders, reliable_senders
        self.b.memory_used = memory_used
        cdef int64_t stop
        with nogil:
            stop = gw_streams_walk(&self.b, start)
        counted = [(STREAMS_COUNTERS[self.b.order[i]], self.b.counters[self.b.order[i]]) for i in range(self.b.n_order)]
        return stop, counted, self.b.n_discards, self.b.n_holds, self.b.memory_used


cdef extern from "gw_fragments.h" nogil:
    enum: GW_F_COLUMNS
    enum: GW_D_COLUMNS
    enum: GW_FRAG_UNITS
    ctypedef struct gw_fragments_batch:
        const int64_t *rows
        int64_t n_rows
        int64_t *datagrams
        uint8_t *units
        int64_t n_datagrams
        int64_t max_held, max_pending_bytes, max_pending
        int64_t held, pending
        int64_t fragments
        int64_t *created
        int64_t n_created
        int64_t *pieces
        int64_t n_pieces
    int64_t gw_fragments_walk(gw_fragments_batch *b, int64_t start)


cdef class StreamsFragmentsWalk:
    """One batch's walk over IP fragment rows (see gw_fragments.h); the buffers are taken once."""
    cdef gw_fragments_batch b
    cdef object keep  # the arrays the struct points into

    def __init__(self, const int64_t[:, ::1] rows, int64_t[:, ::1] datagrams, uint8_t[:, ::1] units,
                 int64_t max_held, int64_t max_pending_bytes, int64_t max_pending, int64_t[::1] created,
                 int64_t[::1] pieces):
        cdef int64_t n = rows.shape[0]
        if rows.shape[1] != GW_F_COLUMNS or datagrams.shape[1] != GW_D_COLUMNS or units.shape[1] != GW_FRAG_UNITS:
            raise ValueError("StreamsFragmentsWalk: a matrix has the wrong number of columns")
        if units.shape[0] != datagrams.shape[0] or created.shape[0] != n or pieces.shape[0] != n:
            raise ValueError("StreamsFragmentsWalk: the matrices differ in length")
        if n == 0 or datagrams.shape[0] == 0:
            raise ValueError("StreamsFragmentsWalk: no rows or datagrams")
        self.keep = (rows, datagrams, units, created, pieces)
        self.b.rows, self.b.n_rows = &rows[0, 0], n
        self.b.datagrams, self.b.units, self.b.n_datagrams = &datagrams[0, 0], &units[0, 0], datagrams.shape[0]
        self.b.max_held, self.b.max_pending_bytes, self.b.max_pending = max_held, max_pending_bytes, max_pending
        self.b.created, self.b.pieces = &created[0], &pieces[0]

    def walk(self, int64_t start, int64_t held, int64_t pending):
        """Walk from row start (the table's held bytes and pending datagrams now); returns (the
        first row left to the Python, fragments taken, datagrams made, rows whose bytes joined
        their datagram, the table's held bytes now)."""
        if start < 0 or start > self.b.n_rows:
            raise ValueError(f"StreamsFragmentsWalk.walk: start {start} is outside the rows")
        self.b.held, self.b.pending = held, pending
        cdef int64_t stop
        with nogil:
            stop = gw_fragments_walk(&self.b, start)
        return stop, self.b.fragments, self.b.n_created, self.b.n_pieces, self.b.held
