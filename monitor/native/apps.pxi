# apps kernels: the TLS ClientHello, DNS message and HTTP request-head extractors
# (src/gw_tls.c, ...). Each wrapper returns plain Python values that the owning module
# (monitor/net/app/*.py) turns into its own objects, so both paths build the same results.
from libc.stdint cimport uint8_t, int32_t

cdef extern from "gw_tls.h" nogil:
    enum:
        GW_TLS_MAX_ALPN
    ctypedef struct gw_tls_hello:
        int32_t version
        int32_t sni_off
        int32_t sni_len
        int32_t alpn_count
        int32_t alpn_off[GW_TLS_MAX_ALPN]
        int32_t alpn_len[GW_TLS_MAX_ALPN]
    int gw_tls_parse_client_hello(const uint8_t *msg, size_t n, gw_tls_hello *out)
    int gw_tls_hello_from_records(const uint8_t *stream, size_t n, uint8_t *scratch, size_t cap,
                                  gw_tls_hello *out)


cdef object _apps_tls_result(int verdict, const uint8_t *base, gw_tls_hello *out):
    """(verdict, version, sni, alpn); the last three only for a hello (verdict 0)."""
    if verdict != 0:
        return verdict, 0, None, None
    cdef int i
    sni = None
    if out.sni_off >= 0:
        sni = base[out.sni_off:out.sni_off + out.sni_len].decode("ascii", "backslashreplace")
    alpn = [base[out.alpn_off[i]:out.alpn_off[i] + out.alpn_len[i]].decode("ascii", "backslashreplace")
            for i in range(out.alpn_count)]
    return 0, out.version, sni, alpn


def tls_hello_from_records(const uint8_t[::1] stream not None):
    """tls.client_hello_from_records in C: (verdict, version, sni, alpn), verdicts as in gw_tls.h."""
    cdef size_t n = stream.shape[0]
    cdef gw_tls_hello out
    cdef int verdict
    if n == 0:
        return 1, 0, None, None  # no record header yet: need more
    cdef uint8_t[::1] scratch = bytearray(n)
    with nogil:
        verdict = gw_tls_hello_from_records(&stream[0], n, &scratch[0], n, &out)
    return _apps_tls_result(verdict, &scratch[0], &out)


def tls_parse_client_hello(const uint8_t[::1] message not None):
    """tls.parse_client_hello in C: (verdict, version, sni, alpn)."""
    cdef size_t n = message.shape[0]
    cdef gw_tls_hello out
    cdef int verdict
    if n == 0:
        return 5, 0, None, None  # the type byte runs past the end
    with nogil:
        verdict = gw_tls_parse_client_hello(&message[0], n, &out)
    return _apps_tls_result(verdict, &message[0], &out)
