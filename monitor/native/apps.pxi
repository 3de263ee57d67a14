# apps kernels: the TLS ClientHello, DNS message and HTTP request-head extractors
# (src/gw_tls.c, ...). Each wrapper returns plain Python values that the owning module
# (monitor/net/app/*.py) turns into its own objects, so both paths build the same results.
from libc.stdint cimport uint8_t, uint16_t, int32_t, uint32_t, int64_t, INT32_MAX

import numpy as np

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
    if n > INT32_MAX:  # past the C's int32 offsets: tls.py reads it (as for too many ALPN names)
        return 6, 0, None, None
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
    if n > INT32_MAX:
        return 6, 0, None, None
    with nogil:
        verdict = gw_tls_parse_client_hello(&message[0], n, &out)
    return _apps_tls_result(verdict, &message[0], &out)


cdef extern from "gw_dns.h" nogil:
    ctypedef struct gw_dns_item:
        int32_t name_off
        int32_t name_len
        uint32_t type
        uint32_t klass_or_ttl
        int32_t rdata_kind
        int32_t rdata_off
        int32_t rdata_len
    ctypedef struct gw_dns_message:
        uint16_t id
        uint8_t is_response
        uint8_t rcode
        int32_t questions
        int32_t answers
        int32_t malformed
    int gw_dns_parse(const uint8_t *data, size_t n, gw_dns_message *msg, gw_dns_item *items, size_t items_cap,
                     uint8_t *text, size_t text_cap, int32_t *parts, size_t parts_cap)

# Room for a message of a few hundred questions and records, on the C stack (no allocation);
# a bigger one is read by dns.py (verdict GW_DNS_FULL).
cdef enum:
    _APPS_DNS_ITEMS = 128
    _APPS_DNS_TEXT = 32768
    _APPS_DNS_PARTS = 512


cdef inline str _apps_ascii(const uint8_t *base, int32_t off, int32_t length):
    return base[off:off + length].decode("ascii", "backslashreplace")


def dns_parse_message(const uint8_t[::1] data not None):
    """dns.parse_message in C: (verdict, id, is_response, rcode, questions, question_classes,
    answers as (name, rtype, ttl, rdata, strings), malformed); verdicts as in gw_dns.h."""
    cdef size_t n = data.shape[0]
    cdef gw_dns_message msg
    cdef gw_dns_item items[_APPS_DNS_ITEMS]
    cdef uint8_t text[_APPS_DNS_TEXT]
    cdef int32_t parts[2 * _APPS_DNS_PARTS]
    cdef int verdict, i, k
    cdef const uint8_t *d = &data[0] if n else NULL
    if n > INT32_MAX:  # past the C's int32 offsets: dns.py reads it, as a message too big for the arrays
        return 13, 0, False, 0, None, None, None, 0
    with nogil:
        verdict = gw_dns_parse(d, n, &msg, items, _APPS_DNS_ITEMS, text, _APPS_DNS_TEXT, parts, _APPS_DNS_PARTS)
    if verdict != 0:
        return verdict, 0, False, 0, None, None, None, 0
    questions, classes, answers = [], [], []
    cdef gw_dns_item *item
    for i in range(msg.questions):
        item = &items[i]
        questions.append((_apps_ascii(text, item.name_off, item.name_len), item.type))
        classes.append(item.klass_or_ttl)
    for i in range(msg.questions, msg.questions + msg.answers):
        item = &items[i]
        rdata, strings = None, ()
        if item.rdata_kind == 1:
            rdata = _apps_ascii(text, item.rdata_off, item.rdata_len)
        elif item.rdata_kind == 2:
            strings = tuple([d[parts[2 * k]:parts[2 * k] + parts[2 * k + 1]].decode("utf-8", "replace")
                             for k in range(item.rdata_off, item.rdata_off + item.rdata_len)])
            rdata = "".join(strings)
        answers.append((_apps_ascii(text, item.name_off, item.name_len), item.type, item.klass_or_ttl, rdata, strings))
    return 0, msg.id, bool(msg.is_response), msg.rcode, questions, classes, answers, msg.malformed


cdef extern from "gw_http.h" nogil:
    ctypedef struct gw_span:
        int32_t off
        int32_t len
    ctypedef struct gw_http_request:
        gw_span method, uri, version, host, content_type, upgrade
    int gw_http_parse_requests(const uint8_t *s, size_t n, gw_http_request *out, size_t cap, size_t *count,
                               size_t *consumed, int64_t max_digits)

cdef enum:
    _APPS_HTTP_REQUESTS = 64  # per stream on the C stack; more: read by http.py (GW_HTTP_FULL)


cdef inline object _apps_latin1(const uint8_t *s, gw_span sp):
    if sp.off < 0:
        return None
    return s[sp.off:sp.off + sp.len].decode("latin-1")


def http_parse_requests(const uint8_t[::1] stream not None, int64_t max_digits):
    """http.parse_requests in C: (verdict, requests as (method, uri, version, host,
    content_type, upgrade), consumed); verdict 1: more requests than the C holds."""
    cdef size_t n = stream.shape[0], count = 0, consumed = 0
    cdef gw_http_request out[_APPS_HTTP_REQUESTS]
    cdef int verdict
    cdef size_t i
    if n == 0:
        return 0, [], 0
    if n > INT32_MAX:  # past the C's int32 spans: http.py reads it
        return 1, None, 0
    cdef const uint8_t *s = &stream[0]
    with nogil:
        verdict = gw_http_parse_requests(s, n, out, _APPS_HTTP_REQUESTS, &count, &consumed, max_digits)
    if verdict != 0:
        return verdict, None, 0
    requests = [(_apps_latin1(s, out[i].method), _apps_latin1(s, out[i].uri), _apps_latin1(s, out[i].version),
                 _apps_latin1(s, out[i].host), _apps_latin1(s, out[i].content_type), _apps_latin1(s, out[i].upgrade))
                for i in range(count)]
    return 0, requests, consumed


cdef extern from "gw_apps.h" nogil:
    ctypedef struct gw_apps_rules:
        uint8_t mode_new, mode_tls, mode_http, mode_http_pending, mode_quic
        uint8_t proto_tcp, proto_udp, syn
        uint16_t dns_port
        const uint32_t *quic_versions
        size_t n_quic_versions
        const uint32_t *method_prefixes
        size_t n_method_prefixes
    ctypedef struct gw_apps_batch:
        const uint8_t *data
        size_t data_len
        const uint8_t *proto
        const int64_t *captured_len
        const int64_t *payload
        const uint16_t *sport
        const uint16_t *dport
        size_t n_packets
        const int64_t *rows
        const int64_t *slots
        const uint8_t *is_orig
        const uint8_t *in_order
        const uint8_t *moved
        size_t n
        const uint8_t *mode
        const uint8_t *flags
        size_t n_slots
    int gw_apps_select(const gw_apps_batch *b, const gw_apps_rules *rules, int64_t *picked, int64_t *kinds,
                       size_t *count)


cdef inline const uint8_t *_apps_u8(const uint8_t[::1] a):
    return &a[0] if a.shape[0] else NULL


def apps_select(const uint8_t[::1] data not None, const uint8_t[::1] proto not None,
                const int64_t[::1] captured_len not None, const int64_t[::1] payload not None,
                const uint16_t[::1] sport not None, const uint16_t[::1] dport not None,
                const int64_t[::1] rows not None, const int64_t[::1] slots not None,
                const uint8_t[::1] is_orig not None, dict chunks not None, const uint8_t[::1] past_depth,
                const uint8_t[::1] mode not None, const uint8_t[:, ::1] flags not None, tuple rules not None,
                const uint32_t[::1] quic_versions not None, const uint32_t[::1] method_prefixes not None):
    """AppInspector._select in C: (picked, kinds) as int64 arrays, or None where an index is
    outside its column (the numpy code then runs and fails, or not, as it does).
    rules: (NEW, TLS, HTTP, HTTP_PENDING, QUIC, TCP, UDP, SYN, DNS port)."""
    cdef Py_ssize_t n = rows.shape[0], n_packets = proto.shape[0]
    if not (captured_len.shape[0] == payload.shape[0] == sport.shape[0] == dport.shape[0] == n_packets):
        raise ValueError("the header columns differ in length")
    if slots.shape[0] != n or is_orig.shape[0] != n or (past_depth is not None and past_depth.shape[0] != n):
        raise ValueError("rows, slots, is_orig and past_depth differ in length")
    if flags.shape[1] != 2:
        raise ValueError("flags must have two columns (originator, responder)")
    cdef uint8_t[::1] in_order = np.zeros(n, np.uint8) if past_depth is None else np.array(past_depth, np.uint8)
    cdef uint8_t[::1] moved = np.zeros(n, np.uint8)
    cdef Py_ssize_t key
    for k, chunk in chunks.items():
        if type(k) is not int or not 0 <= k < n:
            return None
        key = k
        in_order[key] = 1
        moved[key] = len(chunk) != captured_len[rows[key]] if 0 <= rows[key] < <int64_t>n_packets else 0
    cdef gw_apps_rules r
    r.mode_new, r.mode_tls, r.mode_http, r.mode_http_pending, r.mode_quic = rules[:5]
    r.proto_tcp, r.proto_udp, r.syn, r.dns_port = rules[5:9]
    r.quic_versions = &quic_versions[0] if quic_versions.shape[0] else NULL
    r.n_quic_versions = quic_versions.shape[0]
    r.method_prefixes = &method_prefixes[0] if method_prefixes.shape[0] else NULL
    r.n_method_prefixes = method_prefixes.shape[0]
    cdef gw_apps_batch b
    b.data, b.data_len = _apps_u8(data), data.shape[0]
    b.proto, b.n_packets = _apps_u8(proto), <size_t>n_packets
    b.captured_len = &captured_len[0] if n_packets else NULL
    b.payload = &payload[0] if n_packets else NULL
    b.sport = &sport[0] if n_packets else NULL
    b.dport = &dport[0] if n_packets else NULL
    b.rows = &rows[0] if n else NULL
    b.slots = &slots[0] if n else NULL
    b.is_orig, b.in_order, b.moved, b.n = _apps_u8(is_orig), &in_order[0] if n else NULL, &moved[0] if n else NULL, <size_t>n
    b.mode = _apps_u8(mode)
    b.flags = &flags[0, 0] if flags.shape[0] else NULL
    b.n_slots = <size_t>min(mode.shape[0], flags.shape[0])
    picked = np.empty(n, np.int64)
    kinds = np.empty(n, np.int64)
    cdef int64_t[::1] p = picked, kd = kinds
    cdef size_t count = 0
    cdef int verdict
    with nogil:
        verdict = gw_apps_select(&b, &r, &p[0] if n else NULL, &kd[0] if n else NULL, &count)
    if verdict != 0:
        return None
    return picked[:count], kinds[:count]
