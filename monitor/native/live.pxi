# live kernels: the raw SocketCAN receive loop (src/gw_recvmmsg.c) and the taint scan's inner loops (src/gw_taintscan.c)
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

cdef extern from "gw_recvmmsg.h" nogil:
    ctypedef struct gw_can_columns:
        double *timestamp
        uint32_t *arbitration_id
        uint8_t *is_extended
        uint8_t *is_remote
        uint8_t *is_error
        uint8_t *is_fd
        uint8_t *bitrate_switch
        uint8_t *error_state_indicator
        uint8_t *dlc
        uint8_t *data

    ctypedef struct gw_can_receipt:
        int64_t frames
        int64_t unstamped
        int64_t kernel_drops
        int32_t closed
        int32_t error

    int GW_CAN_MAX_DATA
    double gw_can_seconds(int64_t sec, int64_t nsec)
    int gw_can_record_to_row(const uint8_t *record, size_t size, double stamp, const gw_can_columns *out, int64_t row)
    int gw_can_receive_supported()
    int64_t gw_can_receive(int fd, const gw_can_columns *out, int64_t limit, int64_t timeout_ns, int64_t gather_ns,
                           gw_can_receipt *receipt)


cdef uint8_t *live_flag_column(object column, Py_ssize_t rows, str name) except NULL:
    """A bool column's bytes (numpy bools are one byte, 0 or 1)."""
    if getattr(column, "dtype", None) != bool or column.ndim != 1 or not column.flags.c_contiguous:
        raise ValueError(f"live: column {name} must be a contiguous one-dimensional bool array")
    cdef uint8_t[::1] view = memoryview(column).cast("B")
    if view.shape[0] < rows:
        raise ValueError(f"live: column {name} has {view.shape[0]} rows, fewer than {rows}")
    return &view[0]  # rows > 0 here: live_columns returns early for none


cdef int live_columns(object batch, Py_ssize_t rows, gw_can_columns *out) except -1:
    """Points `out` at a FrameBatch's columns, checked to hold `rows` rows. The pointers stay
    valid while the caller holds `batch`: numpy arrays never move their data."""
    cdef double[::1] timestamp = batch.timestamp
    cdef uint32_t[::1] arbitration_id = batch.arbitration_id
    cdef uint8_t[::1] dlc = batch.dlc
    cdef uint8_t[:, ::1] data = batch.data
    if rows < 0:
        raise ValueError("live: a negative row count")
    if timestamp.shape[0] < rows or arbitration_id.shape[0] < rows or dlc.shape[0] < rows or data.shape[0] < rows:
        raise ValueError(f"live: the batch's columns hold fewer than {rows} rows")
    if data.shape[1] != GW_CAN_MAX_DATA:
        raise ValueError(f"live: data must be [n, {GW_CAN_MAX_DATA}], not [n, {data.shape[1]}]")
    if rows == 0:
        return 0
    out.timestamp = &timestamp[0]
    out.arbitration_id = &arbitration_id[0]
    out.dlc = &dlc[0]
    out.data = &data[0, 0]
    out.is_extended = live_flag_column(batch.is_extended, rows, "is_extended")
    out.is_remote = live_flag_column(batch.is_remote, rows, "is_remote")
    out.is_error = live_flag_column(batch.is_error, rows, "is_error")
    out.is_fd = live_flag_column(batch.is_fd, rows, "is_fd")
    out.bitrate_switch = live_flag_column(batch.bitrate_switch, rows, "bitrate_switch")
    out.error_state_indicator = live_flag_column(batch.error_state_indicator, rows, "error_state_indicator")
    return 0


cdef int64_t live_nanoseconds(double seconds, str name) except? -1:
    if seconds != seconds:
        raise ValueError(f"live: {name} is NaN")
    if seconds <= 0:
        return 0
    return <int64_t>(min(seconds, 1e9) * 1e9)  # capped at 31 years: a wait, not an overflow


def live_can_receive_supported():
    """True where live_can_receive works (Linux: poll + recvmmsg)."""
    return gw_can_receive_supported() == 1


def live_can_receive(int fd, batch, Py_ssize_t limit, double timeout, double gather):
    """Receives CAN records from ``fd`` into rows 0..limit of ``batch`` (a FrameBatch whose
    channel and is_rx columns the caller set), the GIL released while it waits: up to
    ``timeout`` seconds, letting frames gather ``gather`` seconds before each recvmmsg.
    Returns (frames, unstamped rows (NaN timestamps), kernel drop counter or -1, peer closed,
    errno or 0)."""
    cdef gw_can_columns columns
    cdef gw_can_receipt receipt
    live_columns(batch, limit, &columns)
    cdef int64_t timeout_ns = live_nanoseconds(timeout, "timeout")
    cdef int64_t gather_ns = live_nanoseconds(gather, "gather")
    if limit == 0:
        return 0, 0, -1, False, 0
    with nogil:
        gw_can_receive(fd, &columns, limit, timeout_ns, gather_ns, &receipt)
    return receipt.frames, receipt.unstamped, receipt.kernel_drops, receipt.closed != 0, receipt.error


def live_can_records_to_columns(const uint8_t[:, ::1] records, const int64_t[::1] sizes, const double[::1] stamps, batch):
    """Converts received records (rows of 72 bytes, ``sizes`` bytes each) into ``batch``'s
    leading rows, skipping those that are not CAN records (neither 16 nor 72 bytes), as the
    receive loop does. Returns how many rows were written."""
    cdef Py_ssize_t n = records.shape[0], i
    cdef int64_t kept = 0
    cdef gw_can_columns columns
    if records.shape[1] != 72:
        raise ValueError(f"live: records must be [n, 72], not [n, {records.shape[1]}]")
    if sizes.shape[0] != n or stamps.shape[0] != n:
        raise ValueError("live: records, sizes and stamps differ in length")
    for i in range(n):
        if sizes[i] < 0 or sizes[i] > 72:
            raise ValueError(f"live: record {i} has {sizes[i]} bytes, not 0..72")
    live_columns(batch, n, &columns)
    if n == 0:
        return 0
    with nogil:
        for i in range(n):
            kept += gw_can_record_to_row(&records[i, 0], <size_t>sizes[i], stamps[i], &columns, kept)
    return kept


def live_can_seconds(int64_t sec, int64_t nsec):
    """A kernel timespec in seconds, as the receive loop computes it (for the equivalence tests)."""
    return gw_can_seconds(sec, nsec)


# taint scan kernels (src/gw_taintscan.c)
cdef extern from "gw_taintscan.h" nogil:
    int64_t gw_taint_candidates(const uint8_t *buf, size_t size, const uint8_t *first_map, const uint8_t *second_map,
                                const uint8_t *table, int64_t *out_at, uint8_t *out_flags, int64_t capacity)
    int64_t gw_taint_merge(double *low, double *high, int64_t count)
    int64_t gw_taint_latitude_rows(const uint8_t *buf, size_t size, const int64_t *at, int64_t n, int width, int big,
                                   int kind, double scale, const double *low, const double *high, int64_t ranges,
                                   int64_t *out_rows)
    int64_t gw_taint_text_windows(const uint8_t *buf, size_t size, int64_t before, int64_t after, int64_t *out_start,
                                  int64_t *out_end, int64_t capacity)

TAINT_KINDS = {"int": 0, "mag": 1, "j1939": 2, "float": 3}


def taint_candidates(const uint8_t[::1] buf, const uint8_t[::1] first, const uint8_t[::1] second,
                     const uint8_t[::1] table, int64_t[::1] out_at, uint8_t[::1] out_flags):
    """Offsets whose byte pair is a wanted top 16 bits (taintscan._candidates): writes up to
    len(out_at) of them and their table flags, returns how many there are (more than the room
    given: call again with that much)."""
    if first.shape[0] != 256 or second.shape[0] != 256 or table.shape[0] != 65536:
        raise ValueError("taint: the byte maps have 256 entries and the table 65536")
    if out_at.shape[0] != out_flags.shape[0]:
        raise ValueError("taint: out_at and out_flags differ in length")
    cdef const uint8_t *data = &buf[0] if buf.shape[0] else NULL
    cdef int64_t *at = &out_at[0] if out_at.shape[0] else NULL
    cdef uint8_t *flags = &out_flags[0] if out_flags.shape[0] else NULL
    cdef int64_t found
    with nogil:
        found = gw_taint_candidates(data, <size_t>buf.shape[0], &first[0], &second[0], &table[0], at, flags,
                                    out_at.shape[0])
    return found


def taint_latitude_rows(const uint8_t[::1] buf, const int64_t[::1] at, int width, bint big, str kind, double scale,
                        double[::1] low, double[::1] high, int64_t[::1] out_rows):
    """The indexes of the offsets ``at`` whose word (``width`` bytes, ``kind`` as taintrate.Spec)
    lies in one of the ranges [low[k], high[k]] (sorted by low; merged in place, so pass copies).
    Offsets whose word does not fit in ``buf`` are skipped. Returns how many rows it wrote."""
    if width not in (4, 8) or kind not in TAINT_KINDS or (width == 8 and kind != "float"):
        raise ValueError(f"taint: no {width}-byte {kind} encoding")
    if low.shape[0] != high.shape[0]:
        raise ValueError("taint: low and high differ in length")
    if out_rows.shape[0] < at.shape[0]:
        raise ValueError("taint: out_rows is shorter than at")
    cdef int code = TAINT_KINDS[kind]
    cdef int64_t ranges, kept = 0, k
    for k in range(1, low.shape[0]):
        # NaN lows last, as np.argsort puts them: one amid the others would hide a descent
        # from this check and leave the merged ranges unsorted for the C's binary search.
        if low[k] < low[k - 1] or (low[k - 1] != low[k - 1] and low[k] == low[k]):
            raise ValueError("taint: the ranges must be sorted by low")
    if at.shape[0] == 0 or low.shape[0] == 0 or buf.shape[0] == 0:
        return 0
    with nogil:
        ranges = gw_taint_merge(&low[0], &high[0], low.shape[0])
        kept = gw_taint_latitude_rows(&buf[0], <size_t>buf.shape[0], &at[0], at.shape[0], width, big, code, scale,
                                      &low[0], &high[0], ranges, &out_rows[0])
    return kept


def taint_text_windows(const uint8_t[::1] buf, int64_t before, int64_t after, int64_t[::1] out_start,
                       int64_t[::1] out_end):
    """Where decimal text can be (taint._text_windows): writes up to len(out_start) merged
    windows [start, end) and returns how many there are (more than the room: call again)."""
    if not 0 <= before <= 1 << 30 or not 0 <= after <= 1 << 30:
        raise ValueError("taint: window sizes are 0 .. 2^30 bytes")
    if out_start.shape[0] != out_end.shape[0]:
        raise ValueError("taint: out_start and out_end differ in length")
    cdef int64_t found
    if buf.shape[0] < 4:
        return 0
    cdef int64_t *starts = &out_start[0] if out_start.shape[0] else NULL
    cdef int64_t *ends = &out_end[0] if out_end.shape[0] else NULL
    with nogil:
        found = gw_taint_text_windows(&buf[0], <size_t>buf.shape[0], before, after, starts, ends, out_start.shape[0])
    return found
