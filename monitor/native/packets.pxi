# packets kernels: the pcap/pcapng record walks and L2-L4 header parsing (src/gw_pcap.c,
# src/gw_pcapng.c, src/gw_headers.c). Names start with pcap/pcapng/headers: this file is
# included into one module beside the other kernels' .pxi files.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "gw_pcap.h" nogil:
    ctypedef struct gw_pcap_format:
        int big_endian
        int64_t ns_per_tick
        uint32_t limit
    ctypedef struct gw_pcap_columns:
        int64_t *offset
        int32_t *caplen
        int32_t *wirelen
        int64_t *ts_ns
        int64_t capacity
    int gw_pcap_walk(const uint8_t *buf, int64_t len, int64_t pos, const gw_pcap_format *format,
                     gw_pcap_columns *out, int64_t *rows, int64_t *stop)


def pcap_walk(const uint8_t[::1] buf, int64_t pos, bint big_endian, int64_t ns_per_tick, uint32_t limit,
              int64_t[::1] offset, int32_t[::1] caplen, int32_t[::1] wirelen, int64_t[::1] ts_ns):
    """Walk pcap records of buf from pos into the four columns (row 0 on).

    Returns (rows written, position stopped at, reason): 0 the chunk ends inside the next
    record, 1 a damaged record (caplen above limit) starts at that position, 2 the columns are full."""
    cdef int64_t capacity = offset.shape[0]
    if caplen.shape[0] != capacity or wirelen.shape[0] != capacity or ts_ns.shape[0] != capacity:
        raise ValueError("pcap_walk: the output columns differ in length")
    if pos < 0 or pos > buf.shape[0]:
        raise ValueError(f"pcap_walk: position {pos} is outside the buffer")
    if ns_per_tick not in (1, 1000):
        raise ValueError(f"pcap_walk: ns_per_tick must be 1 or 1000, not {ns_per_tick}")
    cdef gw_pcap_format fmt
    fmt.big_endian = big_endian
    fmt.ns_per_tick = ns_per_tick
    fmt.limit = limit
    cdef gw_pcap_columns out
    out.capacity = capacity
    out.offset = &offset[0] if capacity else NULL
    out.caplen = &caplen[0] if capacity else NULL
    out.wirelen = &wirelen[0] if capacity else NULL
    out.ts_ns = &ts_ns[0] if capacity else NULL
    cdef const uint8_t *data = &buf[0] if buf.shape[0] else NULL
    cdef int64_t length = buf.shape[0], rows = 0, stop = pos
    cdef int reason
    with nogil:
        reason = gw_pcap_walk(data, length, pos, &fmt, &out, &rows, &stop)
    return rows, stop, reason
