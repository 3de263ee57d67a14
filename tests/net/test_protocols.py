"""The application parsers on TCP streams built with scapy (a ClientHello split over segments
out of order, an HTTP head cut by a segment boundary), plus hypothesis: no byte string crashes a
parser with anything but its own error, nor the pipeline."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from monitor.net.app import dns, gquic, h2, hpack, http, quic, tls
from monitor.net.packets import LINKTYPE_ETHERNET, from_packets
from monitor.net.pipeline import NetPipeline

from ..builders import client_hello
from .conftest import run


def test_client_hello_split_over_segments_out_of_order() -> None:
    hello = client_hello("uploads.example.org")
    seq = 1000
    syn = Ether() / IP(src="10.1.0.2", dst="198.51.100.9") / TCP(sport=40000, dport=443, flags="S", seq=seq - 1)
    pieces = [hello[i : i + 100] for i in range(0, len(hello), 100)]
    segments = [Ether() / IP(src="10.1.0.2", dst="198.51.100.9") / TCP(sport=40000, dport=443, flags="PA", seq=seq + 100 * i) / piece
                for i, piece in enumerate(pieces)]
    segments[0], segments[1] = segments[1], segments[0]
    records, _ = run([syn, *segments])
    (flow,) = records
    assert flow["app_proto"] == "tls"
    assert flow["names"] == [{"name": "uploads.example.org", "learned_from": ["tls_sni"]}]


def test_http_head_cut_by_a_segment_boundary() -> None:
    request = b"POST /v1/telemetry HTTP/1.1\r\nUser-Agent: t\r\nHost: collect.example.net:8080\r\nContent-Length: 2\r\n\r\n{}"
    base = Ether() / IP(src="10.1.0.2", dst="198.51.100.10")
    packets = [base / TCP(sport=40001, dport=8080, flags="S", seq=0),
               base / TCP(sport=40001, dport=8080, flags="PA", seq=1) / request[:30],
               base / TCP(sport=40001, dport=8080, flags="PA", seq=31) / request[30:]]
    records, pipeline = run(packets)
    (flow,) = records
    assert flow["app_proto"] == "http" and flow["names"][0]["name"] == "collect.example.net"
    (event,) = [e for e in pipeline.inspector.events if e.kind == "http_request"]
    assert (event.detail.method, event.detail.uri) == ("POST", "/v1/telemetry")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_parsers_only_raise_their_own_errors(data: bytes) -> None:
    for attempt, allowed in ((dns.parse_message, dns.DnsError), (tls.client_hello_from_records, (tls.NeedMore, tls.NotTls)),
                             (quic.initial_packets, quic.QuicError), (http.parse_requests, ()),
                             (hpack.Decoder().decode, hpack.HpackError),
                             (lambda d: h2.first_request(h2.PREFACE + d), (h2.NeedMore, h2.H2Error)),
                             (lambda d: gquic.client_hello(b"\xc3Q046" + d), ()),
                             (lambda d: gquic.client_hello(b"\x09" + bytes(8) + b"Q035" + d), ())):
        try:
            attempt(data)
        except allowed:  # type: ignore[misc]
            pass


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=120), min_size=1, max_size=40))
def test_random_frames_never_crash_the_pipeline(frames: list[bytes]) -> None:
    pipeline = NetPipeline()
    pipeline.process(from_packets(frames, list(range(len(frames))), LINKTYPE_ETHERNET))
    pipeline.finish()
    assert pipeline.stats.packets == len(frames)


def test_dns_over_tcp_replaces_another_parsers_state_in_its_slot() -> None:
    """A slot taken over within a batch (the table full) may still hold the last flow's TCP head:
    the DNS-over-TCP path starts its own state instead of failing on it."""
    import struct

    from monitor.net.app.streams import Head

    query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
    _, pipeline = run([Ether() / IP(src="10.0.0.1", dst="8.8.8.8") / TCP(sport=2000, dport=53, flags="S")])
    slot = 0
    pipeline.recorder.app_state[slot] = Head()  # what the TLS/HTTP path leaves in a slot
    pipeline.inspector._dns(slot, True, 1_700_000_001 * 10**9, struct.pack(">H", len(query)) + query, over_tcp=True)
    assert pipeline.inspector.stats.counts.get("dns_queries") == 1  # the framed query, read from a fresh state
    assert isinstance(pipeline.recorder.app_state[slot], dict)
