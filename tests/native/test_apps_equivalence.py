"""The apps kernels (src/gw_tls.c, gw_dns.c, gw_http.c) against the Python parsers they
replace: the same results, the same errors with the same messages, on real parser inputs from
the corpus and the seeds, the bytes of tests/net/app, and hypothesis-damaged messages; and the
whole pipeline (flow records, app counters, events) the same both ways on every capture."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.net.app import dns, http, tls
from tests.builders import client_hello
from tests.conftest import PROJECT, corpus_files, ids

from .apps_cases import damaged, parser_inputs, run_pipeline

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/capture.pcap"))
EXAMPLES = settings(max_examples=200, deadline=None)




def outcome(function, data):
    """What a call gives: its result's repr, or its exception's type and message."""
    try:
        return "ok", repr(function(data))
    except Exception as error:  # noqa: BLE001 - the exception is the outcome compared
        return type(error).__name__, str(error)


def both_ways(function, data):
    native_side = outcome(function, data)
    with native.use_numpy():
        reference = outcome(function, data)
    return native_side, reference


def assert_same(function, data):
    native_side, reference = both_ways(function, data)
    assert native_side == reference, data


# ------------------------------------------------------------------ real inputs


@pytest.mark.parametrize("path", CAPTURES, ids=ids(CAPTURES))
def test_pipeline_is_the_same_both_ways_on_the_corpus(on, path: Path) -> None:
    native_side = run_pipeline(path)
    with native.use_numpy():
        reference = run_pipeline(path)
    assert native_side == reference


@pytest.mark.parametrize("path", SEEDS, ids=[p.parent.name for p in SEEDS])
def test_pipeline_is_the_same_both_ways_on_the_seeds(on, path: Path) -> None:
    native_side = run_pipeline(path)
    with native.use_numpy():
        reference = run_pipeline(path)
    assert native_side == reference


@pytest.mark.parametrize("path", CAPTURES, ids=ids(CAPTURES))
def test_parsers_agree_on_every_input_of_a_corpus_capture(on, path: Path) -> None:
    inputs = parser_inputs([path])
    for data in inputs["dns"]:
        assert_same(dns.parse_message, data)
        for cut in range(0, len(data), max(len(data) // 16, 1)):
            assert_same(dns.parse_message, data[:cut])
    for data in inputs["http"]:
        assert_same(http.parse_requests, data)
        for cut in range(0, len(data), max(len(data) // 16, 1)):
            assert_same(http.parse_requests, data[:cut])
    for data in inputs["tls"]:
        assert_same(tls.client_hello_from_records, data)
        for cut in range(0, len(data), max(len(data) // 16, 1)):
            assert_same(tls.client_hello_from_records, data[:cut])


# ------------------------------------------------------------------ TLS

HELLOS = [client_hello(name) for name in ("uploads.example.org", "a", "x" * 300)]


def test_tls_hellos_of_the_net_tests(on) -> None:
    for hello in HELLOS:
        assert_same(tls.client_hello_from_records, hello)
        assert_same(tls.parse_client_hello, hello[5:])
        for cut in range(len(hello)):
            assert_same(tls.client_hello_from_records, hello[:cut])
    assert tls.client_hello_from_records(HELLOS[0]).sni == "uploads.example.org"


def _split_records(hello: bytes, sizes: list[int]) -> bytes:
    """The handshake of one record re-cut into records of the given sizes."""
    body, out = hello[5:], b""
    while body:
        size = sizes[len(out) % len(sizes)] or 1
        out += hello[:3] + min(size, len(body)).to_bytes(2, "big") + body[:size]
        body = body[size:]
    return out


def test_tls_too_many_alpn_names_reads_in_python(on) -> None:
    names = b"".join(b"\x01" + bytes([65 + i % 26]) for i in range(100))
    alpn = b"\x00\x10" + (len(names) + 2).to_bytes(2, "big") + len(names).to_bytes(2, "big") + names
    body = b"\x03\x03" + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00" + len(alpn).to_bytes(2, "big") + alpn
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    assert_same(tls.parse_client_hello, message)
    assert len(tls.parse_client_hello(message).alpn) == 100


tls_messages = st.sampled_from(HELLOS) | st.builds(_split_records, st.sampled_from(HELLOS), st.lists(st.integers(0, 400), min_size=1, max_size=4))


@EXAMPLES
@given(damaged(tls_messages))
def test_tls_damaged_hellos(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(tls.client_hello_from_records, data)
        assert_same(tls.parse_client_hello, data[5:])


@EXAMPLES
@given(st.binary(max_size=300))
def test_tls_garbage(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(tls.client_hello_from_records, b"\x16\x03\x01" + data)
        assert_same(tls.client_hello_from_records, data)
        assert_same(tls.parse_client_hello, b"\x01" + data)


# ------------------------------------------------------------------ DNS


def _name(labels: list[bytes]) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def _dns(questions: list[bytes], answers: list[bytes], ident: int = 0x1234, flags: int = 0x8180,
         counts: tuple[int, int] | None = None) -> bytes:
    qd, an = counts or (len(questions), len(answers))
    return (ident.to_bytes(2, "big") + flags.to_bytes(2, "big") + qd.to_bytes(2, "big") + an.to_bytes(2, "big")
            + bytes(4) + b"".join(questions) + b"".join(answers))


def _rr(owner: bytes, rtype: int, rdata: bytes, ttl: int = 300) -> bytes:
    return owner + rtype.to_bytes(2, "big") + b"\0\1" + ttl.to_bytes(4, "big") + len(rdata).to_bytes(2, "big") + rdata


QUESTION = _name([b"api", b"vehicle", b"example"]) + b"\0\1\0\1"
POINTER = b"\xc0\x0c"  # to the first question's name
RESPONSE = _dns([QUESTION], [
    _rr(POINTER, 5, b"\x03cdn" + POINTER),
    _rr(POINTER, 1, bytes([93, 184, 216, 34])),
    _rr(POINTER, 28, bytes.fromhex("20010db8000000000000ff0000420001")),
    _rr(POINTER, 28, bytes(10) + b"\xff\xff\x0a\x00\x00\x01"),
    _rr(POINTER, 15, b"\0\x0a\x04mail" + POINTER),
    _rr(POINTER, 16, b"\x05hello\x00\x03\xc3\xa9!\x09cut"),
    _rr(POINTER, 16, b""),
    _rr(POINTER, 12, b"\x01x\xc0\xff"),  # a bad name in rdata: rdata None, the record kept
    _rr(POINTER, 6, bytes(22)),
    _rr(_name([b"a" * 63] * 4), 1, bytes(4)),  # owner over 255 octets: skipped and counted
    _rr(POINTER, 41, b"", ttl=0xFFFFFFFF),
])
QUERY = _dns([QUESTION, _name([b"\xff\x80", b"x"]) + b"\0\x1c\0\1"], [], flags=0x0100)


def test_dns_messages_of_the_net_tests(on) -> None:
    for message in (RESPONSE, QUERY):
        assert_same(dns.parse_message, message)
        for cut in range(len(message) + 1):
            assert_same(dns.parse_message, message[:cut])
    parsed = dns.parse_message(RESPONSE)
    assert parsed.malformed_records == 1 and len(parsed.answers) == 10
    assert parsed.answers[2].rdata == "2001:db8::ff00:42:1" and parsed.answers[5].strings == ("hello", "", "é!", "cut")


def test_dns_pointer_loops_and_long_chains(on) -> None:
    loop = _dns([b"\xc0\x0c\0\1\0\1"], [])
    two = _dns([b"\xc0\x0e\xc0\x0c" + b"\0\1\0\1"], [])
    chain = b"".join(b"\x01a" for _ in range(200)) + b"\0"  # 401 octets, no pointer: walked to the end
    for message in (loop, two, _dns([chain + b"\0\1\0\1"], []), _dns([chain + b"\0\1"], []),
                    _dns([b"\x01a\xc0\x0c\0\1\0\1"], []), _dns([], [], counts=(65535, 65535))):
        assert_same(dns.parse_message, message)


def test_dns_messages_too_big_for_the_c_arrays(on) -> None:
    many = _dns([QUESTION] + [POINTER + b"\0\1\0\1"] * 300, [])
    long_txt = _dns([QUESTION], [_rr(POINTER, 16, b"\x00" * 1000)])
    for message in (many, long_txt):
        assert_same(dns.parse_message, message)
    assert len(dns.parse_message(many).questions) == 301


labels = st.lists(st.binary(min_size=0, max_size=70), min_size=0, max_size=6)
names = st.builds(_name, labels) | st.just(POINTER) | st.builds(lambda n: n[:-1] + POINTER, st.builds(_name, labels))
records = st.builds(_rr, names, st.sampled_from([1, 2, 5, 6, 12, 15, 16, 28, 41, 65, 0xFFFF]),
                    st.binary(max_size=40) | st.sampled_from([bytes(4), bytes(16), POINTER, b"\0\1" + POINTER]),
                    st.integers(0, 2**32 - 1))
questions = st.builds(lambda n, t: n + t, names, st.binary(min_size=4, max_size=4))
dns_messages = st.builds(_dns, st.lists(questions, min_size=0, max_size=4), st.lists(records, max_size=6),
                         st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)) | st.just(RESPONSE) | st.just(QUERY)


@EXAMPLES
@given(damaged(dns_messages))
def test_dns_damaged_messages(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(dns.parse_message, data)


@EXAMPLES
@given(st.binary(max_size=200), st.integers(0, 300), st.integers(0, 300))
def test_dns_garbage_after_a_header(core, body: bytes, qd: int, an: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(dns.parse_message, _dns([body], [], counts=(qd, an)))
        assert_same(dns.parse_message, body)


@EXAMPLES
@given(st.lists(st.sampled_from([0, 0, 0, 1, 0xABC, 0xFFFF]), min_size=8, max_size=8), st.binary(min_size=4, max_size=4))
def test_dns_addresses_read_as_text(core, hextets: list[int], v4: bytes) -> None:
    v6 = b"".join(h.to_bytes(2, "big") for h in hextets)
    message = _dns([QUESTION], [_rr(POINTER, 28, v6), _rr(POINTER, 1, v4)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(dns.parse_message, message)


# ------------------------------------------------------------------ HTTP

REQUESTS = [
    b"POST /v1/telemetry HTTP/1.1\r\nUser-Agent: t\r\nHost: collect.example.net:8080\r\nContent-Length: 2\r\n\r\n{}",
    b"GET http://proxy.example/x HTTP/1.1\r\nUpgrade: h2c\r\nContent-Type: a/b\r\n\r\n",
    b"\r\n\nM-SEARCH * HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: \"ssdp:discover\"\n\n",
    b"DESCRIBE rtsp://cam.local/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n",
    b"BREW /pot HTTP/1.1\r\nhost:\xa0tea.example\x85\r\n\r\n",
    b"CONNECT api.example:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET  /two  spaces  HTTP/1.1\r\r\nHost : x \r\n\r\n",
]
LENGTHS = ["0", "3", "+3", "-3", "1_0", "_1", "1_", "1__0", "007", "", " ", "0x10", "\xb2", "9" * 30, "1" * 4300,
           "1" * 4301, "1_" * 4300 + "1", "\x1c5\x1f"]


def test_http_requests_of_the_net_tests(on) -> None:
    for stream in REQUESTS + [b"".join(REQUESTS)]:
        assert_same(http.parse_requests, stream)
        for cut in range(len(stream) + 1):
            assert_same(http.parse_requests, stream[:cut])
    requests, _ = http.parse_requests(REQUESTS[0])
    assert http.host_of(requests[0]) == "collect.example.net"


def test_http_content_length_is_read_as_int_reads_it(on) -> None:
    for value in LENGTHS:
        stream = b"GET / HTTP/1.1\r\nContent-Length: " + value.encode("latin-1") + b"\r\n\r\n" + b"x" * 20 + b"\r\nGET /2 HTTP/1.1\r\n\r\n"
        assert_same(http.parse_requests, stream)


def test_http_limits(on) -> None:
    long_head = b"GET / HTTP/1.1\r\nX: " + b"y" * http.MAX_HEAD + b"\r\n\r\n"
    long_line = b"FOO /" + b"z" * http.MAX_LINE + b" HTTP/1.1\r\n\r\n"
    long_method = b"A" * 33 + b" / HTTP/1.1\r\n\r\n"
    many = b"GET / HTTP/1.1\r\n\r\n" * 100
    for stream in (long_head, long_line, long_method, b"A" * 32 + b" / HTTP/1.1\r\n\r\n", many):
        assert_same(http.parse_requests, stream)
    assert len(http.parse_requests(many)[0]) == 100


header_lines = st.lists(st.sampled_from([b"Host: h.example", b"host:x", b"Content-Length: 4", b"Content-Length: 99999",
                                         b"Upgrade: websocket", b"content-type : t", b"X-Y: z", b"no colon", b"",
                                         b"\xa0Host\x85: sp"]), max_size=5)
request_heads = st.builds(
    lambda line, fields, eol, body: line + eol + eol.join(fields) + (eol if fields else b"") + eol + body,
    st.sampled_from([b"GET / HTTP/1.1", b"POST /p HTTP/1.0", b"NOTIFY * HTTP/1.1", b"FOO /x RTSP/1.0", b"GET /",
                     b"BAR /y HTTP/1.1 ", b"get / HTTP/1.1", b"SETUP rtsp://a/b RTSP/1.0"]),
    header_lines, st.sampled_from([b"\r\n", b"\n"]), st.binary(max_size=6))
http_streams = st.builds(b"".join, st.lists(request_heads | st.sampled_from([b"\r\n", b"\n", b"\r"]), min_size=1, max_size=5))


@EXAMPLES
@given(damaged(http_streams))
def test_http_damaged_streams(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(http.parse_requests, data)


@EXAMPLES
@given(st.binary(max_size=120))
def test_http_garbage(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(http.parse_requests, data)
        assert_same(http.parse_requests, b"GET / HTTP/1.1\r\n" + data)


# ------------------------------------------------------------------ the whole pipeline on hostile frames


def _frame(ip_proto: int, sport: int, dport: int, payload: bytes, flags: int = 0x18) -> bytes:
    """Ethernet/IPv4 with a UDP or TCP header (checksums zero: not verified here)."""
    if ip_proto == 17:
        l4 = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + (8 + len(payload)).to_bytes(2, "big") + bytes(2)
    else:
        l4 = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + (1000).to_bytes(4, "big") + bytes(4) + bytes([0x50, flags]) + b"\xff\xff" + bytes(4)
    total = 20 + len(l4) + len(payload)
    ip = b"\x45\0" + total.to_bytes(2, "big") + bytes(4) + b"\x40" + bytes([ip_proto]) + bytes(2) + bytes([10, 0, 0, 2, 10, 0, 0, 9])
    return bytes(6) + bytes([2]) + bytes(5) + b"\x08\x00" + ip + l4 + payload


app_payloads = damaged(st.sampled_from([RESPONSE, QUERY, *HELLOS, *REQUESTS]))
frames = st.builds(_frame, st.sampled_from([6, 17]), st.sampled_from([53, 443, 80, 40000]), st.sampled_from([53, 443, 80, 8080]),
                   app_payloads | st.binary(max_size=60))


@settings(max_examples=60, deadline=None)
@given(st.lists(frames, min_size=1, max_size=12))
def test_pipeline_is_the_same_both_ways_on_hostile_frames(core, frame_list: list[bytes]) -> None:
    from monitor.net.packets import LINKTYPE_ETHERNET, from_packets
    from monitor.net.pipeline import NetConfig, NetPipeline

    def run():
        pipeline = NetPipeline(NetConfig(keep_events=True))
        pipeline.process(from_packets(frame_list, list(range(len(frame_list))), LINKTYPE_ETHERNET))
        pipeline.finish()
        events = [(e.kind, e.slot, repr(e.detail)) for e in pipeline.inspector.events]
        return pipeline.drain(), pipeline.summary(), events

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        native_side = run()
    with native.use_numpy():
        assert run() == native_side
