# flows kernels: wrappers over src/gw_flowjson (the finished-flow record writer).
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

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
