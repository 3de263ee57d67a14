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


cdef extern from "gw_pcapng.h" nogil:
    ctypedef struct gw_pcapng_state:
        int big_endian
        int64_t section_base
        int64_t interfaces
        int64_t file_pos
        int64_t file_size
    int gw_pcapng_walk(const uint8_t *buf, int64_t len, int64_t pos, const gw_pcapng_state *state,
                       int64_t *rows, int64_t capacity, int64_t *count, int64_t *stop)


def pcapng_walk(const uint8_t[::1] buf, int64_t pos, bint big_endian, int64_t section_base, int64_t interfaces,
                int64_t file_pos, int64_t file_size, int64_t[:, ::1] rows):
    """Walk pcapng packet blocks of buf from pos into rows ([capacity, 5]: data position, caplen,
    wirelen, raw time, interface). Returns (rows written, position stopped at, reason): 0 the
    chunk ends inside the next block, 1 the block there is for the Python walk (section,
    interface or damaged), 2 the rows are full."""
    if rows.shape[1] != 5:
        raise ValueError("pcapng_walk: rows must be [N, 5]")
    if pos < 0 or pos > buf.shape[0]:
        raise ValueError(f"pcapng_walk: position {pos} is outside the buffer")
    if section_base < 0 or interfaces < 0 or file_pos < 0 or file_size < 0:
        raise ValueError("pcapng_walk: negative counts or positions")
    cdef gw_pcapng_state state
    state.big_endian = big_endian
    state.section_base = section_base
    state.interfaces = interfaces
    state.file_pos = file_pos
    state.file_size = file_size
    cdef int64_t capacity = rows.shape[0], count = 0, stop = pos, length = buf.shape[0]
    cdef int64_t *out = &rows[0, 0] if capacity else NULL
    cdef const uint8_t *data = &buf[0] if length else NULL
    cdef int reason
    with nogil:
        reason = gw_pcapng_walk(data, length, pos, &state, out, capacity, &count, &stop)
    return count, stop, reason

cdef extern from "gw_headers.h" nogil:
    ctypedef struct gw_headers_batch:
        const uint8_t *data
        int64_t size
        const int64_t *offset
        const int32_t *caplen
        const int32_t *wirelen
        const uint16_t *linktype
        int64_t rows
        int strict_length
    ctypedef struct gw_headers_columns:
        uint8_t *status
        uint32_t *vlan
        int64_t *l3
        uint8_t *version
        uint8_t *proto
        uint64_t *src
        uint64_t *dst
        int64_t *ip_bytes
        uint16_t *sport
        uint16_t *dport
        uint8_t *tcp_flags
        uint32_t *tcp_seq
        int64_t *payload
        int64_t *payload_len
        int64_t *captured_len
        uint32_t *frag_id
        int64_t *frag_offset
        uint8_t *frag_more
        uint8_t *depth
        uint8_t *tunnel_kind
        int64_t *tunnel_ident
        uint8_t *outer_version
        uint64_t *outer_src
        uint64_t *outer_dst
    int64_t gw_parse_headers(const gw_headers_batch *batch, gw_headers_columns *out)
    int GW_MAX_TUNNELS


cdef inline void _headers_need(Py_ssize_t got, Py_ssize_t rows, str name) except *:
    if got != rows:
        raise ValueError(f"parse_headers: column {name} has {got} rows, not {rows}")


def headers_parse(const uint8_t[::1] data, const int64_t[::1] offset, const int32_t[::1] caplen,
                  const int32_t[::1] wirelen, const uint16_t[::1] linktype, bint strict_length,
                  uint8_t[::1] status, uint32_t[::1] vlan, int64_t[::1] l3, uint8_t[::1] version,
                  uint8_t[::1] proto, uint64_t[:, ::1] src, uint64_t[:, ::1] dst, int64_t[::1] ip_bytes,
                  uint16_t[::1] sport, uint16_t[::1] dport, uint8_t[::1] tcp_flags, uint32_t[::1] tcp_seq,
                  int64_t[::1] payload, int64_t[::1] payload_len, int64_t[::1] captured_len,
                  uint32_t[::1] frag_id, int64_t[::1] frag_offset, uint8_t[::1] frag_more, uint8_t[::1] depth,
                  uint8_t[:, ::1] tunnel_kind=None, int64_t[:, ::1] tunnel_ident=None,
                  uint8_t[::1] outer_version=None, uint64_t[:, ::1] outer_src=None,
                  uint64_t[:, ::1] outer_dst=None):
    """Fill the Headers columns (every row, every column) from the batch; the tunnel columns
    too when given (all five or none). Returns the number of rows that carry a tunnel."""
    cdef Py_ssize_t n = offset.shape[0]
    if data.shape[0] == 0:
        raise ValueError("parse_headers: the batch's data buffer is empty")
    for got, name in ((caplen.shape[0], "caplen"), (wirelen.shape[0], "wirelen"), (linktype.shape[0], "linktype"),
                      (status.shape[0], "status"), (vlan.shape[0], "vlan"), (l3.shape[0], "l3"),
                      (version.shape[0], "version"), (proto.shape[0], "proto"), (src.shape[0], "src"),
                      (dst.shape[0], "dst"), (ip_bytes.shape[0], "ip_bytes"), (sport.shape[0], "sport"),
                      (dport.shape[0], "dport"), (tcp_flags.shape[0], "tcp_flags"), (tcp_seq.shape[0], "tcp_seq"),
                      (payload.shape[0], "payload"), (payload_len.shape[0], "payload_len"),
                      (captured_len.shape[0], "captured_len"), (frag_id.shape[0], "frag_id"),
                      (frag_offset.shape[0], "frag_offset"), (frag_more.shape[0], "frag_more"),
                      (depth.shape[0], "depth")):
        _headers_need(got, n, name)
    if src.shape[1] != 2 or dst.shape[1] != 2:
        raise ValueError("parse_headers: src and dst must be [N, 2]")
    cdef bint tunnels = tunnel_kind is not None
    if tunnels != (tunnel_ident is not None) or tunnels != (outer_version is not None) or \
            tunnels != (outer_src is not None) or tunnels != (outer_dst is not None):
        raise ValueError("parse_headers: give all five tunnel columns or none")
    if tunnels:
        for got, name in ((tunnel_kind.shape[0], "tunnel_kind"), (tunnel_ident.shape[0], "tunnel_ident"),
                          (outer_version.shape[0], "outer_version"), (outer_src.shape[0], "outer_src"),
                          (outer_dst.shape[0], "outer_dst")):
            _headers_need(got, n, name)
        if tunnel_kind.shape[1] != GW_MAX_TUNNELS or tunnel_ident.shape[1] != GW_MAX_TUNNELS \
                or outer_src.shape[1] != 2 or outer_dst.shape[1] != 2:
            raise ValueError("parse_headers: tunnel columns of the wrong width")
    cdef gw_headers_batch batch
    cdef gw_headers_columns out
    cdef int64_t found = 0
    if n == 0:
        return 0
    batch.data = &data[0]
    batch.size = data.shape[0]
    batch.offset, batch.caplen, batch.wirelen, batch.linktype = &offset[0], &caplen[0], &wirelen[0], &linktype[0]
    batch.rows = n
    batch.strict_length = strict_length
    out.status, out.vlan, out.l3, out.version, out.proto = &status[0], &vlan[0], &l3[0], &version[0], &proto[0]
    out.src, out.dst, out.ip_bytes = &src[0, 0], &dst[0, 0], &ip_bytes[0]
    out.sport, out.dport, out.tcp_flags, out.tcp_seq = &sport[0], &dport[0], &tcp_flags[0], &tcp_seq[0]
    out.payload, out.payload_len, out.captured_len = &payload[0], &payload_len[0], &captured_len[0]
    out.frag_id, out.frag_offset, out.frag_more, out.depth = &frag_id[0], &frag_offset[0], &frag_more[0], &depth[0]
    out.tunnel_kind = &tunnel_kind[0, 0] if tunnels else NULL
    out.tunnel_ident = &tunnel_ident[0, 0] if tunnels else NULL
    out.outer_version = &outer_version[0] if tunnels else NULL
    out.outer_src = &outer_src[0, 0] if tunnels else NULL
    out.outer_dst = &outer_dst[0, 0] if tunnels else NULL
    with nogil:
        found = gw_parse_headers(&batch, &out)
    return found
