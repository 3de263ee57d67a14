"""Headers, fragments, flows and the application parsers on packets built with scapy, plus
hypothesis: no byte string crashes a parser with anything but its own error."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.mpls import MPLS
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

from monitor.net.app import dns, gquic, h2, hpack, http, quic, tls
from monitor.net.community_id import community_id, community_ids
from monitor.net.flows import FlowConfig
from monitor.net.headers import Status, parse_headers
from monitor.net.packets import LINKTYPE_ETHERNET, from_packets
from monitor.net.pipeline import NetConfig, NetPipeline

from ..builders import client_hello

NS = 1_000_000_000


def run(packets, times=None, config: NetConfig | None = None, batch_size: int = 1000) -> tuple[list[dict], NetPipeline]:
    times = times if times is not None else [1_700_000_000 * NS + i * 1000 for i in range(len(packets))]
    pipeline = NetPipeline(config or NetConfig(keep_events=True))
    for start in range(0, len(packets), batch_size):
        chunk = packets[start : start + batch_size]
        pipeline.process(from_packets([bytes(p) for p in chunk], times[start : start + batch_size], LINKTYPE_ETHERNET))
    pipeline.finish()
    return pipeline.drain(), pipeline


def test_community_id_spec_example() -> None:
    import ipaddress

    src, dst = ipaddress.ip_address("128.232.110.120").packed, ipaddress.ip_address("66.35.250.204").packed
    assert community_id(src, dst, 6, 34855, 80) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert community_id(dst, src, 6, 80, 34855) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="


def test_bulk_community_ids_agree_with_the_spec_function() -> None:
    """community_ids builds the hash inputs as numpy rows; every row must hash like community_id."""
    from monitor.net.flowkeys import KEY_DTYPE

    rng = np.random.default_rng(7)
    n = 400
    keys = np.zeros(n, dtype=KEY_DTYPE)
    keys["version"] = rng.choice([4, 6], n)
    keys["proto"] = rng.choice([6, 17, 132, 47, 50, 1], n)
    for side in ("a", "b"):
        keys[f"{side}_lo"] = rng.integers(0, 2**63, n, dtype=np.uint64) * 2 + 1
        keys[f"{side}_hi"] = np.where(keys["version"] == 6, rng.integers(0, 2**63, n, dtype=np.uint64), 0)
    v4 = keys["version"] == 4
    keys["a_lo"][v4] &= 0xFFFFFFFF
    keys["b_lo"][v4] &= 0xFFFFFFFF
    keys["b_hi"][:50], keys["b_lo"][:50] = keys["a_hi"][:50], keys["a_lo"][:50]  # same address: ports order
    keys["a_port"], keys["b_port"] = rng.integers(0, 65536, n), rng.integers(0, 65536, n)
    # Canonical keys, as flowkeys builds them: the lower address (then port) is side a.
    a_first = [(int(k["a_hi"]), int(k["a_lo"]), int(k["a_port"])) <= (int(k["b_hi"]), int(k["b_lo"]), int(k["b_port"]))
               for k in keys]
    swap = ~np.array(a_first)
    for x, y in (("a_hi", "b_hi"), ("a_lo", "b_lo"), ("a_port", "b_port")):
        keys[x][swap], keys[y][swap] = keys[y][swap].copy(), keys[x][swap].copy()
    bulk = community_ids(keys)
    for key, got in zip(keys, bulk, strict=True):
        size = 4 if key["version"] == 4 else 16
        a = ((int(key["a_hi"]) << 64) | int(key["a_lo"])).to_bytes(size, "big")
        b = ((int(key["b_hi"]) << 64) | int(key["b_lo"])).to_bytes(size, "big")
        if key["proto"] == 1:
            assert got is None  # ICMP IDs need the first packet's type: computed when the flow opens
        else:
            assert got == community_id(b, a, int(key["proto"]), int(key["b_port"]), int(key["a_port"]))


def test_stacked_tags_mpls_and_ipv6_extension_headers() -> None:
    packets = [
        Ether() / Dot1AD(vlan=100) / Dot1Q(vlan=200) / IP(src="10.0.0.1", dst="1.1.1.1") / TCP(sport=1000, dport=443),
        Ether() / MPLS(label=16, s=0) / MPLS(label=17, s=1) / IP(src="10.0.0.1", dst="1.1.1.1") / UDP(sport=5, dport=6),
        Ether() / IPv6(src="fd00::1", dst="2001:db8::1") / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / UDP(sport=7, dport=8),
    ]
    h = parse_headers(from_packets([bytes(p) for p in packets], [0, 0, 0], LINKTYPE_ETHERNET))
    assert h.status.tolist() == [Status.OK] * 3
    assert h.vlan[0] == (100 << 12) | 200
    assert h.proto.tolist() == [6, 17, 17] and h.dport.tolist() == [443, 6, 8]
    assert h.payload_len[2] == 0 and h.ip_bytes[2] == len(packets[2]) - 14


def test_fragments_reassemble_in_any_order_with_duplicates() -> None:
    whole = IP(src="10.0.0.2", dst="9.9.9.9", id=77) / UDP(sport=4000, dport=4001) / (b"P" * 3000)
    pieces = [Ether() / f for f in fragment(whole, fragsize=800)]
    rng = random.Random(3)
    shuffled = pieces + [pieces[1]]  # a duplicate overlaps exactly
    rng.shuffle(shuffled)
    records, pipeline = run(shuffled)
    (flow,) = records
    assert flow["orig_pkts"] == 1 and flow["orig_ip_bytes"] == len(whole)
    stats = pipeline.fragments.stats
    assert stats.reassembled == 1 and stats.fragments == len(shuffled)


def test_garbage_fragments_are_counted_never_fatal() -> None:
    rng = random.Random(5)
    packets = []
    for i in range(300):
        offset = rng.randrange(0, 8192)
        packets.append(Ether() / IP(src="10.0.0.3", dst="9.9.9.9", id=rng.randrange(4), proto=17, frag=offset,
                                    flags=rng.choice([0, 1])) / bytes(rng.randrange(0, 64)))
    _records, pipeline = run(packets)
    stats = pipeline.fragments.stats
    assert stats.fragments == 300
    done = stats.reassembled
    assert stats.incomplete_fragments + done <= 300 and stats.incomplete_datagrams + stats.invalid >= 1
    assert pipeline.stats.packets == 300


def test_ipv6_fragments_reassemble() -> None:
    whole = IPv6(src="fd00::2", dst="2001:db8::53") / IPv6ExtHdrFragment(id=9) / UDP(sport=5353, dport=53) / (b"Q" * 2000)
    from scapy.layers.inet6 import fragment6

    records, _ = run([Ether() / f for f in fragment6(whole, 1280)])
    (flow,) = records
    assert flow["proto"] == "udp" and flow["orig_pkts"] == 1 and flow["resp_p"] == 53


def test_udp_idle_timeout_splits_flows_and_eviction_is_counted() -> None:
    p = Ether() / IP(src="10.0.0.2", dst="8.8.4.4") / UDP(sport=999, dport=123)
    t0 = 1_700_000_000 * NS
    records, _ = run([p, p, p], [t0, t0 + 10 * NS, t0 + 100 * NS])
    assert [r["orig_pkts"] for r in records] == [2, 1]
    assert records[0]["reason"] == "idle_timeout"
    many = [Ether() / IP(src="10.0.0.2", dst="8.8.4.4") / UDP(sport=1000 + i, dport=123) for i in range(64)]
    records, pipeline = run(many, config=NetConfig(flows=FlowConfig(max_flows=16)))
    assert len(records) == 64 and pipeline.flows.stats.evicted > 0
    assert sum(r["reason"] == "evicted" for r in records) == pipeline.flows.stats.evicted


def test_a_connection_repeated_after_an_idle_gap_is_two_flows_in_one_batch_or_many() -> None:
    """The same connection (same ports and ISNs) an hour later: the earlier one's FIN must not
    make the repeat's SYN/ACK look like a port reuse inside the repeat, in one batch or split."""
    a, b = {"src": "10.0.0.2", "dst": "198.51.100.7"}, {"src": "198.51.100.7", "dst": "10.0.0.2"}
    session = [Ether() / IP(**a) / TCP(sport=40000, dport=80, flags="S", seq=100),
               Ether() / IP(**b) / TCP(sport=80, dport=40000, flags="SA", seq=900, ack=101),
               Ether() / IP(**a) / TCP(sport=40000, dport=80, flags="A", seq=101, ack=901),
               Ether() / IP(**a) / TCP(sport=40000, dport=80, flags="FA", seq=101, ack=901),
               Ether() / IP(**b) / TCP(sport=80, dport=40000, flags="FA", seq=901, ack=102)]
    t0 = 1_700_000_000 * NS
    times = [t0 + k * NS // 100 for k in range(5)] + [t0 + 3600 * NS + k * NS // 100 for k in range(5)]
    for batch_size in (10, 6, 5, 4, 3, 2, 1):  # 4: the earlier FIN and the repeat share a batch, its SYN/ACK does not
        records, _ = run(session + session, times, batch_size=batch_size)
        assert [(r["orig_pkts"], r["resp_pkts"]) for r in records] == [(3, 2), (3, 2)], batch_size


def test_dns_names_later_flows_through_cname_chain_but_not_earlier_ones() -> None:
    answer = (Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=53, dport=3333)
              / DNS(id=1, qr=1, qd=DNSQR(qname="maps.example.com"),
                    an=[DNSRR(rrname="maps.example.com", type="CNAME", rdata="edge.cdn.net", ttl=60),
                        DNSRR(rrname="edge.cdn.net", type="A", rdata="203.0.113.7", ttl=60)]))
    early = Ether() / IP(src="10.0.0.2", dst="203.0.113.7") / TCP(sport=5000, dport=443, flags="S")
    late = Ether() / IP(src="10.0.0.2", dst="203.0.113.7") / TCP(sport=5001, dport=443, flags="S")
    records, _ = run([early, answer, late])
    names = {r["orig_p"]: {n["name"] for n in r["names"]} for r in records if r["proto"] == "tcp"}
    assert names == {5000: set(), 5001: {"maps.example.com", "edge.cdn.net"}}
    late_record = next(r for r in records if r["orig_p"] == 5001)
    assert late_record["direction"] == "outbound"


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


def test_icmp_echo_is_one_flow_with_type_and_code() -> None:
    base = IP(src="10.0.0.2", dst="1.1.1.1")
    records, _ = run([Ether() / base / ICMP(type=8), Ether() / IP(src="1.1.1.1", dst="10.0.0.2") / ICMP(type=0)])
    (flow,) = records
    assert (flow["orig_p"], flow["resp_p"], flow["orig_pkts"], flow["resp_pkts"]) == (8, 0, 1, 1)


def test_quic_initial_keys_match_rfc_9001_and_9369() -> None:
    dcid = bytes.fromhex("8394c8f03e515708")
    v1 = quic.client_initial_keys(quic.V1, dcid)
    assert (v1.key.hex(), v1.iv.hex(), v1.hp.hex()) == (
        "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2")
    v2 = quic.client_initial_keys(quic.V2, dcid)
    assert (v2.key.hex(), v2.iv.hex(), v2.hp.hex()) == (
        "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9")


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


