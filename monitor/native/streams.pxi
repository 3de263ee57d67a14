# streams kernels: TCP checksum verdicts for the reassembly (src/gw_checksum.c). Names start
# with streams: this file is included into one module beside the other kernels' .pxi files.
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
