# can kernels: DBC decode (src/gw_can_decode) and candump text (src/gw_candump).
# Textually included in _core.pyx: every name here starts with can_ / _can_.

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
import numpy as _can_np

cdef extern from "gw_can_decode.h" nogil:
    ctypedef struct gw_can_plan:
        int64_t n_messages
        const int64_t *messages
        const int64_t *nodes
        const int64_t *signals
        const double *scales
        const int64_t *muxes
        const int64_t *children
        int64_t n_nodes, n_signals, n_muxes, n_children
        const int32_t *standard_index
        const uint64_t *keys
        int64_t n_keys
        const uint32_t *pgn_keys
        const int64_t *pgn_index
        int64_t n_pgn
    ctypedef struct gw_can_frames:
        const uint32_t *arbitration_id
        const uint8_t *is_extended
        const uint8_t *is_remote
        const uint8_t *is_error
        const uint8_t *dlc
        const uint8_t *data
        int64_t n
    ctypedef struct gw_can_group_out:
        int64_t *rows
        uint64_t *words
        uint8_t *error
        int64_t *error_arg
        int32_t *error_mux
        uint64_t *values
        uint8_t *present
        uint64_t *raw
    ctypedef struct gw_can_out:
        gw_can_group_out *groups
        int64_t *signal_count
        int64_t *node_count
        int64_t *error_count
        int64_t *cursor
        int64_t *positions
        int64_t *slot
    int GW_CAN_MSG_COLS, GW_CAN_NODE_COLS, GW_CAN_SIG_COLS, GW_CAN_MUX_COLS, GW_CAN_CHILD_COLS
    int GW_CAN_MSG_NCOLS, GW_CAN_MSG_NRAW
    int GW_CAN_MSG_NATIVE_COL "GW_CAN_MSG_NATIVE"
    void gw_can_group(const gw_can_plan *plan, const gw_can_frames *frames, int32_t *index, int64_t *count)
    int gw_can_decode(const gw_can_plan *plan, const gw_can_frames *frames, const int32_t *index,
                      const int64_t *count, gw_can_out *out)
    uint64_t gw_can_half_to_double_bits(uint16_t half)


CAN_TABLE_WIDTHS = {"messages": GW_CAN_MSG_COLS, "nodes": GW_CAN_NODE_COLS, "signals": GW_CAN_SIG_COLS,
                    "muxes": GW_CAN_MUX_COLS, "children": GW_CAN_CHILD_COLS}


def _can_check_table(name, table, int64_t rows):
    if table.ndim != 2 or table.shape[1] != CAN_TABLE_WIDTHS[name] or (rows >= 0 and table.shape[0] != rows):
        raise ValueError(f"can plan table {name}: shape {table.shape}")


def can_decode_batch(tables, arbitration_id, is_extended, is_remote, is_error, dlc, data):
    """Decode a batch (columns; bool columns as uint8 views) with a flattened plan (dict of
    arrays from monitor/canbus/decode_flat.py). Returns a dict of the grouped output arrays."""
    messages, nodes, signals = tables["messages"], tables["nodes"], tables["signals"]
    _can_check_table("messages", messages, -1)
    _can_check_table("nodes", nodes, -1)
    _can_check_table("signals", signals, -1)
    _can_check_table("muxes", tables["muxes"], -1)
    _can_check_table("children", tables["children"], -1)
    cdef int64_t n_messages = messages.shape[0]
    cdef int64_t n = arbitration_id.shape[0]
    if data.ndim != 2 or data.shape[0] != n or data.shape[1] != 64:
        raise ValueError(f"can frame data: shape {data.shape}, expected ({n}, 64)")
    for column in (is_extended, is_remote, is_error, dlc):
        if column.shape[0] != n:
            raise ValueError("can frame columns differ in length")
    cdef const int64_t[:, ::1] t_msg = messages
    cdef const int64_t[:, ::1] t_node = nodes
    cdef const int64_t[:, ::1] t_sig = signals
    cdef const double[:, ::1] t_scale = tables["scales"]
    cdef const int64_t[:, ::1] t_mux = tables["muxes"]
    cdef const int64_t[:, ::1] t_child = tables["children"]
    cdef const int32_t[::1] t_std = tables["standard_index"]
    cdef const uint64_t[::1] t_keys = tables["keys"]
    cdef const uint32_t[::1] t_pgn = tables["pgn_keys"]
    cdef const int64_t[::1] t_pgn_index = tables["pgn_index"]
    if t_std.shape[0] != 2048 or t_keys.shape[0] != n_messages or t_pgn.shape[0] != t_pgn_index.shape[0]:
        raise ValueError("can plan lookup tables: bad sizes")
    if t_scale.shape[0] != t_sig.shape[0] or t_scale.shape[1] != 2:
        raise ValueError("can plan scales: bad shape")

    cdef const uint32_t[::1] v_id = arbitration_id
    cdef const uint8_t[::1] v_ext = is_extended
    cdef const uint8_t[::1] v_rtr = is_remote
    cdef const uint8_t[::1] v_err = is_error
    cdef const uint8_t[::1] v_dlc = dlc
    cdef const uint8_t[:, ::1] v_data = data

    cdef gw_can_plan plan
    plan.n_messages = n_messages
    plan.messages = &t_msg[0, 0] if t_msg.shape[0] else NULL
    plan.nodes = &t_node[0, 0] if t_node.shape[0] else NULL
    plan.signals = &t_sig[0, 0] if t_sig.shape[0] else NULL
    plan.scales = &t_scale[0, 0] if t_scale.shape[0] else NULL
    plan.muxes = &t_mux[0, 0] if t_mux.shape[0] else NULL
    plan.children = &t_child[0, 0] if t_child.shape[0] else NULL
    plan.n_nodes, plan.n_signals = t_node.shape[0], t_sig.shape[0]
    plan.n_muxes, plan.n_children = t_mux.shape[0], t_child.shape[0]
    plan.standard_index = &t_std[0]
    plan.keys = &t_keys[0] if n_messages else NULL
    plan.n_keys = n_messages
    plan.pgn_keys = &t_pgn[0] if t_pgn.shape[0] else NULL
    plan.pgn_index = &t_pgn_index[0] if t_pgn.shape[0] else NULL
    plan.n_pgn = t_pgn.shape[0]

    cdef gw_can_frames frames
    frames.n = n
    frames.arbitration_id = &v_id[0] if n else NULL
    frames.is_extended = &v_ext[0] if n else NULL
    frames.is_remote = &v_rtr[0] if n else NULL
    frames.is_error = &v_err[0] if n else NULL
    frames.dlc = &v_dlc[0] if n else NULL
    frames.data = &v_data[0, 0] if n else NULL

    index = _can_np.empty(n, _can_np.int32)
    count = _can_np.zeros(n_messages + 1, _can_np.int64)
    cdef int32_t[::1] v_index = index
    cdef int64_t[::1] v_count = count
    with nogil:
        if n:
            gw_can_group(&plan, &frames, &v_index[0], &v_count[0])

    # Outputs per message, sized by its frames and its value (raw) columns.
    cdef gw_can_group_out *groups = <gw_can_group_out *>PyMem_Malloc((n_messages + 1) * sizeof(gw_can_group_out))
    if groups == NULL:
        raise MemoryError()
    try:
        out = _can_group_outputs(groups, count, messages, n_messages)
        out["signal_count"] = _can_np.zeros(max(t_sig.shape[0], 1), _can_np.int64)
        out["node_count"] = _can_np.zeros(max(t_node.shape[0], 1), _can_np.int64)
        out["error_count"] = _can_np.zeros(max(n_messages, 1), _can_np.int64)
        cursor = _can_np.zeros(n_messages + 1, _can_np.int64)
        status = _can_decode_into(&plan, &frames, index, count, groups, out, cursor)
    finally:
        PyMem_Free(groups)
    if status == -2:
        raise ValueError("can decode: the plan tables reference out of range or hold bad signal geometry")
    if status != 0:
        raise ValueError("can decode: frame grouping disagrees with the counts")
    return out


cdef dict _can_group_outputs(gw_can_group_out *groups, count, messages, int64_t n_messages):
    """Allocate every message's buffers (numpy arrays, kept in the returned dict) and point
    groups[m] at them. Non-native messages get rows only (the reference decodes them)."""
    cdef int64_t m, c, ncols, nraw
    cdef gw_can_group_out unused_group
    out = {"count": count, "rows": [], "error": [], "error_arg": [], "error_mux": [], "values": [],
           "present": [], "raw": [], "words": []}
    counts = count.tolist()
    table = messages.tolist()
    unused = None  # one set of 1-entry arrays for every message without frames (never written)
    for m in range(n_messages + 1):
        c = counts[m]
        if c == 0:
            if unused is None:
                unused = _can_group_arrays(0, 0, 0, 0)
                _can_point(&unused_group, unused)
            for name, array in unused:
                out[name].append(array)
            groups[m] = unused_group
            continue
        native_message = m < n_messages and table[m][GW_CAN_MSG_NATIVE_COL] != 0
        ncols = table[m][GW_CAN_MSG_NCOLS] if native_message else 0
        nraw = table[m][GW_CAN_MSG_NRAW] if native_message else 0
        arrays = _can_group_arrays(c, c if native_message else 0, ncols, nraw)
        for name, array in arrays:
            out[name].append(array)
        _can_point(&groups[m], arrays)
    return out


def _can_group_arrays(c, k, ncols, nraw):
    """One message's buffers: c frames, k of them decoded here (0 for the reference's)."""
    return (
        ("rows", _can_np.empty(max(c, 1), _can_np.int64)),
        ("words", _can_np.empty(max(c, 1), _can_np.uint64)),
        ("error", _can_np.empty(max(k, 1), _can_np.uint8)),
        ("error_arg", _can_np.empty(max(k, 1), _can_np.int64)),
        ("error_mux", _can_np.empty(max(k, 1), _can_np.int32)),
        ("values", _can_np.empty((max(ncols, 1), max(k, 1)), _can_np.uint64)),
        ("present", _can_np.empty((max(ncols, 1), max(k, 1)), _can_np.uint8)),
        ("raw", _can_np.empty((max(nraw, 1), max(k, 1)), _can_np.uint64)),
    )


cdef void _can_point(gw_can_group_out *group, arrays):
    cdef int64_t[::1] rows = arrays[0][1]
    cdef uint64_t[::1] words = arrays[1][1]
    cdef uint8_t[::1] error = arrays[2][1]
    cdef int64_t[::1] error_arg = arrays[3][1]
    cdef int32_t[::1] error_mux = arrays[4][1]
    cdef uint64_t[:, ::1] values = arrays[5][1]
    cdef uint8_t[:, ::1] present = arrays[6][1]
    cdef uint64_t[:, ::1] raw = arrays[7][1]
    group.rows = &rows[0]
    group.words = &words[0]
    group.error = &error[0]
    group.error_arg = &error_arg[0]
    group.error_mux = &error_mux[0]
    group.values = &values[0, 0]
    group.present = &present[0, 0]
    group.raw = &raw[0, 0]


cdef int _can_decode_into(const gw_can_plan *plan, const gw_can_frames *frames, index, count,
                          gw_can_group_out *groups, dict out, cursor) except? -99:
    cdef const int32_t[::1] v_index = index
    cdef const int64_t[::1] v_count = count
    cdef int64_t[::1] v_sigc = out["signal_count"], v_nodec = out["node_count"], v_errc = out["error_count"]
    cdef int64_t[::1] v_cursor = cursor
    cdef int64_t largest = max(int(count.max()) if len(count) else 0, 1)
    cdef int64_t[::1] v_positions = _can_np.empty(largest, _can_np.int64)
    cdef int64_t[::1] v_slot = _can_np.empty(largest, _can_np.int64)
    cdef gw_can_out result
    result.groups = groups
    result.signal_count = &v_sigc[0]
    result.node_count = &v_nodec[0]
    result.error_count = &v_errc[0]
    result.cursor = &v_cursor[0]
    result.positions = &v_positions[0]
    result.slot = &v_slot[0]
    cdef int status
    cdef const int32_t *index_ptr = &v_index[0] if v_index.shape[0] else NULL
    with nogil:
        status = gw_can_decode(plan, frames, index_ptr, &v_count[0], &result)
    return status


def can_half_to_double_bits(uint16_t half):
    """The C half-to-double widening, for tests against numpy's."""
    return gw_can_half_to_double_bits(half)


# -- candump text (src/gw_candump) -------------------------------------------------------------

cdef extern from "gw_candump.h" nogil:
    ctypedef struct gw_candump_template:
        int int_digits
        int frac_digits
        const uint8_t *channel
        int channel_len
    ctypedef struct gw_candump_columns:
        double *timestamp
        uint32_t *arbitration_id
        uint8_t *is_extended
        uint8_t *is_error
        uint8_t *dlc
        uint8_t *data
        uint8_t *template_line
    int64_t gw_candump_count_lines(const uint8_t *buf, int64_t buf_len, int64_t begin, int64_t limit)
    int64_t gw_candump_lines(const uint8_t *buf, int64_t buf_len, int64_t begin, int64_t limit, int64_t *starts,
                             int64_t *ends, int64_t *line_index, int64_t *kept, int64_t cap)
    int64_t gw_candump_template_lines(const uint8_t *buf, int64_t buf_len, const int64_t *starts,
                                      const int64_t *ends, int64_t n, const gw_candump_template *tpl,
                                      gw_candump_columns *out)


def candump_lines(buf, int64_t begin, int64_t limit, int64_t cap=-1):
    """(lines, starts, ends, line_index) of the non-blank lines of buf[begin:limit], blanks
    stripped as candump._line_bounds strips them; cap: room for lines (-1: count them first)."""
    cdef const uint8_t[::1] text = buf
    if begin < 0 or limit < begin or limit > text.shape[0]:
        raise ValueError("candump lines: bounds outside the buffer")
    if text.shape[0] == 0:
        empty = _can_np.zeros(0, _can_np.int64)
        return 0, empty, empty.copy(), empty.copy()
    if cap < 0:
        with nogil:
            cap = gw_candump_count_lines(&text[0], text.shape[0], begin, limit)
    starts = _can_np.empty(max(cap, 1), _can_np.int64)
    ends = _can_np.empty(max(cap, 1), _can_np.int64)
    index = _can_np.empty(max(cap, 1), _can_np.int64)
    cdef int64_t[::1] v_starts = starts, v_ends = ends, v_index = index
    cdef int64_t kept = 0, lines
    cdef const uint8_t *text_ptr = &text[0] if text.shape[0] else NULL
    with nogil:
        lines = gw_candump_lines(text_ptr, text.shape[0], begin, limit, &v_starts[0], &v_ends[0], &v_index[0],
                                 &kept, cap)
    if lines < 0:
        raise ValueError("candump lines: more lines than cap")
    return lines, starts[:kept], ends[:kept], index[:kept]


def candump_template_lines(buf, starts, ends, int int_digits, int frac_digits, bytes channel, batch_columns):
    """Fill the template lines' columns (timestamp, arbitration_id, is_extended and is_error as
    uint8 views, dlc, data) and return a uint8 mask of them."""
    cdef const uint8_t[::1] text = buf
    cdef const int64_t[::1] v_starts = starts
    cdef const int64_t[::1] v_ends = ends
    cdef int64_t n = v_starts.shape[0]
    if v_ends.shape[0] != n:
        raise ValueError("candump template: starts and ends differ in length")
    timestamp, arbitration_id, is_extended, is_error, dlc, data = batch_columns
    cdef double[::1] c_ts = timestamp
    cdef uint32_t[::1] c_id = arbitration_id
    cdef uint8_t[::1] c_ext = is_extended
    cdef uint8_t[::1] c_err = is_error
    cdef uint8_t[::1] c_dlc = dlc
    cdef uint8_t[:, ::1] c_data = data
    if c_ts.shape[0] != n or c_id.shape[0] != n or c_ext.shape[0] != n or c_err.shape[0] != n or c_dlc.shape[0] != n:
        raise ValueError("candump template: a column's length differs from the lines'")
    if c_data.shape[0] != n or c_data.shape[1] != 64:
        raise ValueError("candump template: data must be (lines, 64)")
    if not 1 <= len(channel) <= 8:
        raise ValueError("candump template: channel of 1 to 8 bytes")
    mask = _can_np.zeros(max(n, 1), _can_np.uint8)
    cdef uint8_t[::1] c_mask = mask
    cdef const uint8_t *channel_ptr = channel
    cdef gw_candump_template tpl
    tpl.int_digits, tpl.frac_digits, tpl.channel, tpl.channel_len = int_digits, frac_digits, channel_ptr, len(channel)
    cdef gw_candump_columns out
    cdef int64_t parsed = 0
    if n:
        out.timestamp, out.arbitration_id, out.is_extended = &c_ts[0], &c_id[0], &c_ext[0]
        out.is_error, out.dlc, out.data, out.template_line = &c_err[0], &c_dlc[0], &c_data[0, 0], &c_mask[0]
        with nogil:
            parsed = gw_candump_template_lines(&text[0], text.shape[0], &v_starts[0], &v_ends[0], n, &tpl, &out)
    if parsed < 0:
        raise ValueError("candump template: malformed template or line bounds outside the buffer")
    return mask[:n]


cdef extern from "gw_candump.h" nogil:
    ctypedef struct gw_candump_general:
        double *timestamp
        uint32_t *arbitration_id
        uint8_t *is_extended
        uint8_t *is_remote
        uint8_t *is_error
        uint8_t *is_fd
        uint8_t *bitrate_switch
        uint8_t *error_state_indicator
        uint8_t *is_rx
        uint8_t *dlc
        uint8_t *data
        uint8_t *error
        uint8_t *located
        uint8_t *slow_timestamp
        int64_t *ch_start
        int64_t *ch_end
    int64_t gw_candump_general_lines(const uint8_t *buf, int64_t buf_len, const int64_t *starts,
                                     const int64_t *ends, int64_t n, gw_candump_general *out)


def candump_general_lines(buf, starts, ends, columns, flags, ch_start, ch_end):
    """Parse lines in any layout (candump_fields.LineFields). columns: timestamp, arbitration_id,
    then uint8 views of is_extended, is_remote, is_error, is_fd, bitrate_switch,
    error_state_indicator, is_rx, then dlc and data (lines, 64); flags: uint8 (3, lines) for
    error, located, slow_timestamp; ch_start, ch_end: int64 channel bounds."""
    cdef const uint8_t[::1] text = buf
    cdef const int64_t[::1] v_starts = starts
    cdef const int64_t[::1] v_ends = ends
    cdef int64_t n = v_starts.shape[0]
    (timestamp, arbitration_id, is_extended, is_remote, is_error, is_fd, brs, esi, is_rx, dlc, data) = columns
    cdef double[::1] c_ts = timestamp
    cdef uint32_t[::1] c_id = arbitration_id
    cdef uint8_t[::1] c_ext = is_extended, c_rtr = is_remote, c_err = is_error, c_fd = is_fd
    cdef uint8_t[::1] c_brs = brs, c_esi = esi, c_rx = is_rx, c_dlc = dlc
    cdef uint8_t[:, ::1] c_data = data
    cdef uint8_t[:, ::1] c_flags = flags
    cdef int64_t[::1] c_chs = ch_start, c_che = ch_end
    if v_ends.shape[0] != n or c_data.shape[0] != n or c_data.shape[1] != 64 or c_flags.shape[0] != 3:
        raise ValueError("candump general: bad shapes")
    if (c_ts.shape[0] != n or c_id.shape[0] != n or c_ext.shape[0] != n or c_rtr.shape[0] != n or c_err.shape[0] != n
            or c_fd.shape[0] != n or c_brs.shape[0] != n or c_esi.shape[0] != n or c_rx.shape[0] != n
            or c_dlc.shape[0] != n or c_flags.shape[1] != n or c_chs.shape[0] != n or c_che.shape[0] != n):
        raise ValueError("candump general: a column's length differs from the lines'")
    if n == 0:
        return 0
    cdef gw_candump_general out
    out.timestamp, out.arbitration_id, out.is_extended, out.is_remote = &c_ts[0], &c_id[0], &c_ext[0], &c_rtr[0]
    out.is_error, out.is_fd, out.bitrate_switch, out.error_state_indicator = &c_err[0], &c_fd[0], &c_brs[0], &c_esi[0]
    out.is_rx, out.dlc, out.data = &c_rx[0], &c_dlc[0], &c_data[0, 0]
    out.error, out.located, out.slow_timestamp = &c_flags[0, 0], &c_flags[1, 0], &c_flags[2, 0]
    out.ch_start, out.ch_end = &c_chs[0], &c_che[0]
    cdef int64_t ok
    with nogil:
        ok = gw_candump_general_lines(&text[0], text.shape[0], &v_starts[0], &v_ends[0], n, &out)
    if ok < 0:
        raise ValueError("candump general: line bounds outside the buffer")
    return ok
