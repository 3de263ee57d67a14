"""Every encapsulation a gateway may carry, as an evader would stack it.

Each case wraps a real TCP session (handshake, then a TLS ClientHello built by the bench's
scene builder) in scapy-built headers, writes a pcap and runs ``gatewatch flows`` on it: the
flow must be keyed on the inner 5-tuple, name the SNI, and carry the encapsulation path in
``tunnel``. Past a bound (16 VLAN tags, 16 MPLS labels, 16 IPv6 extension headers, 8 tunnel
layers) the packet is counted as depth_limit, never parsed as something else.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import GRE, Dot1Q, Ether
from scapy.layers.ppp import PPPoE
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from monitor.alerts.flowlog import zeek_record
from monitor.testing.frames import jt808
from monitor.testing.scene import client_hello
from monitor.detect.wire.scan import scan_payload
from monitor.net.headers import Status, parse_headers
from monitor.net.packets import LINKTYPE_ETHERNET, from_packets
from monitor.net.pipeline import NetPipeline

from ..builders import run, write_pcap

CLIENT, SERVER, CLIENT6, SERVER6 = "10.20.0.5", "203.0.113.80", "fd00:20::5", "2001:db8:80::1"
TUNNEL_A, TUNNEL_B = "198.51.100.1", "198.51.100.2"  # the vehicle's tunnel end, the far end
NAME = "hidden.example.net"
OUTER = f"{TUNNEL_A}->{TUNNEL_B}"
MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}  # given, so scapy asks no neighbour table


def session(v6: bool = False, ext_headers: int = 0, payload: bytes | None = None, dport: int = 443) -> list:
    """(from the client?, inner IP packet) of a TCP handshake and one data segment."""
    client, server = (CLIENT6, SERVER6) if v6 else (CLIENT, SERVER)

    def ip(src, dst):
        if not v6:
            return IP(src=src, dst=dst)
        layer = IPv6(src=src, dst=dst)
        for _ in range(ext_headers):
            layer = layer / IPv6ExtHdrDestOpt()
        return layer

    data = client_hello(NAME) if payload is None else payload
    return [(True, ip(client, server) / TCP(sport=50123, dport=dport, flags="S", seq=100)),
            (False, ip(server, client) / TCP(sport=dport, dport=50123, flags="SA", seq=900, ack=101)),
            (True, ip(client, server) / TCP(sport=50123, dport=dport, flags="A", seq=101, ack=901)),
            (True, ip(client, server) / TCP(sport=50123, dport=dport, flags="PA", seq=101, ack=901) / data)]


def outer(up: bool):
    return IP(src=TUNNEL_A, dst=TUNNEL_B) if up else IP(src=TUNNEL_B, dst=TUNNEL_A)


def eth(inner):
    return Ether(**MACS) / inner


def ip_type(packet) -> int:
    return 0x86DD if packet.version == 6 else 0x0800


def inner_eth(inner):
    """An Ethernet frame around an inner IP packet (what VXLAN, Geneve, ERSPAN carry)."""
    return Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b", type=ip_type(inner)) / inner


def mpls_stack(count: int, inner):
    stack = MPLS(label=100, s=0, ttl=64)
    for k in range(1, count):
        stack = stack / MPLS(label=100 + k, s=int(k == count - 1), ttl=64)
    if count == 1:
        stack.s = 1
    return stack / inner


def pppoe(ppp_protocol: bytes):
    return lambda p, up: Ether(**MACS, type=0x8864) / PPPoE(sessionid=7) / Raw(ppp_protocol) / p


def over_ip(*headers):
    """Wrap in the outer IP header, then ``headers`` (layers or a callable of the inner packet)."""
    def wrap(p, up):
        stack = outer(up)
        for header in headers:
            stack = stack / (header(p, up) if callable(header) else header.copy())
        return eth(stack)
    return wrap


GENEVE_OPTION = GeneveOptions(classid=0x0102, type=0x80, data=b"\x00" * 8)
GTP_EXT = over_ip(UDP(sport=2152, dport=2152),
                  lambda p, up: GTP_U_Header(teid=0x1234 if up else 0x5678, gtp_type=255, E=1, next_ex=0x85),
                  GTPPDUSessionContainer(type=1, QFI=9), lambda p, up: p)
GRE_ALL_FLAGS = GRE(chksum_present=1, key_present=1, key=77, seqnum_present=1, sequence_number=5, proto=0x0800)
VLANS = Dot1Q(vlan=10) / Dot1Q(vlan=20) / Dot1Q(vlan=30) / Dot1Q(vlan=40) / Dot1Q(vlan=50)
AS_IS, IN_ETHERNET = (lambda p, up: p), (lambda p, up: inner_eth(p))

WRAPS = {
    # name: (wrap(inner, up) -> frame, expected tunnel field)
    "vlan x5": (lambda p, up: eth(VLANS.copy() / p), None),
    "mpls x9": (lambda p, up: Ether(**MACS, type=0x8847) / mpls_stack(9, p), None),
    "pppoe, 2-byte ppp": (pppoe(b"\x00\x21"), None),
    "pppoe, 1-byte ppp": (pppoe(b"\x21"), None),
    "gre": (over_ip(GRE(proto=0x0800), AS_IS), [{"type": "gre", "outer": OUTER}]),
    "gre key seq checksum": (over_ip(GRE_ALL_FLAGS, AS_IS), [{"type": "gre", "key": 77, "outer": OUTER}]),
    "gre ethernet": (over_ip(GRE(proto=0x6558), IN_ETHERNET), [{"type": "gre", "outer": OUTER}]),
    "gre mpls": (over_ip(GRE(proto=0x8847), lambda p, up: mpls_stack(2, p)), [{"type": "gre", "outer": OUTER}]),
    "erspan ii": (over_ip(GRE(seqnum_present=1, proto=0x88BE), ERSPAN_II(session_id=33), IN_ETHERNET),
                  [{"type": "erspan2", "session": 33, "outer": OUTER}]),
    "erspan iii": (over_ip(GRE(seqnum_present=1, proto=0x22EB), ERSPAN_III(session_id=44, o=1),
                           ERSPAN_PlatformSpecific(platf_id=3), IN_ETHERNET),
                   [{"type": "erspan3", "session": 44, "outer": OUTER}]),
    "vxlan": (over_ip(UDP(sport=40001, dport=4789), VXLAN(vni=42, flags=0x08), IN_ETHERNET),
              [{"type": "vxlan", "vni": 42, "outer": OUTER}]),
    "geneve with options": (over_ip(UDP(sport=40002, dport=6081), GENEVE(vni=4242, proto=0x6558, options=[GENEVE_OPTION]),
                                    IN_ETHERNET),
                            [{"type": "geneve", "vni": 4242, "outer": OUTER}]),
    "ip-in-ip": (over_ip(AS_IS), [{"type": "ipip", "outer": OUTER}]),
    "gtp-u with extension": (GTP_EXT, [{"type": "gtpu", "teid": 0x1234, "outer": OUTER}]),
}


def flows_of(tmp_path, frames: list, *extra: str) -> tuple[list[dict], str]:
    for i, frame in enumerate(frames):
        frame.time = 1_700_000_000 + i * 0.01
    path = write_pcap(tmp_path / "evasion.pcap", frames)
    code, out, err = run("flows", str(path), "--vehicle-net", "10.20.0.0/16", "--vehicle-net", "fd00:20::/32", *extra)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()], err


def the_flow(records: list[dict], port: int = 443) -> dict:
    (flow,) = [r for r in records if r["resp_p"] == port]
    return flow


@pytest.mark.parametrize("name", list(WRAPS))
def test_the_inner_flow_and_its_name_are_found(tmp_path, name: str) -> None:
    wrap, tunnel = WRAPS[name]
    records, err = flows_of(tmp_path, [wrap(packet, up) for up, packet in session()])
    flow = the_flow(records)
    assert (flow["orig_h"], flow["orig_p"], flow["resp_h"], flow["proto"]) == (CLIENT, 50123, SERVER, "tcp")
    assert (flow["orig_pkts"], flow["resp_pkts"], flow["direction"]) == (3, 1, "outbound")
    assert {"name": NAME, "learned_from": ["tls_sni"]} in flow["names"], err
    assert flow.get("tunnel") == tunnel
    assert zeek_record(flow, "VIN1").get("tunnel") == tunnel  # the daemon's flow log keeps it
    assert len(records) == 1, records  # the tunnel's own addresses make no second flow


def test_six_in_four_and_ipv6_inside_gre(tmp_path) -> None:
    for wrap, tunnel in ((lambda p, up: eth(outer(up) / p), "6in4"),
                         (lambda p, up: eth(outer(up) / GRE(proto=0x86DD) / p), "gre")):
        records, _ = flows_of(tmp_path, [wrap(packet, up) for up, packet in session(v6=True)])
        flow = the_flow(records)
        assert (flow["orig_h"], flow["resp_h"]) == (CLIENT6, SERVER6)
        assert flow["names"] == [{"name": NAME, "learned_from": ["tls_sni"]}]
        assert flow["tunnel"] == [{"type": tunnel, "outer": OUTER}]


def test_nine_ipv6_destination_options_headers_are_read(tmp_path) -> None:
    records, err = flows_of(tmp_path, [eth(packet) for _up, packet in session(v6=True, ext_headers=9)])
    flow = the_flow(records)
    records16, _ = flows_of(tmp_path, [long_chain(packet, 16) for _up, packet in session(v6=True)])
    assert the_flow(records16)["names"] == [{"name": NAME, "learned_from": ["tls_sni"]}]  # the bound itself is read
    assert (flow["orig_h"], flow["resp_h"], flow["orig_pkts"]) == (CLIENT6, SERVER6, 3)
    assert flow["names"] == [{"name": NAME, "learned_from": ["tls_sni"]}]
    assert "depth_limit" not in err


def long_chain(packet, count: int):
    """The IPv6 packet with ``count`` empty destination-options headers (8 bytes each, PadN)
    before its TCP header, as bytes (scapy takes seconds to build 300 layers)."""
    tcp = bytes(packet[TCP])
    chain = b"".join(bytes([60 if k < count - 1 else 6, 0, 1, 4, 0, 0, 0, 0]) for k in range(count))
    return eth(IPv6(src=packet.src, dst=packet.dst, nh=60) / Raw(chain + tcp))


def test_three_hundred_ipv6_extension_headers_are_counted_as_cut(tmp_path) -> None:
    """Past 16 extension headers the chain is not followed: every packet is counted, none
    becomes a flow of whatever bytes the cut happens to land on."""
    records, err = flows_of(tmp_path, [long_chain(packet, 300) for _up, packet in session(v6=True)])
    assert records == []
    assert "packets: 4 (depth_limit 4)" in err


def test_vlan_and_mpls_past_their_bounds_are_counted_as_cut() -> None:
    _up, packet = session()[0]
    tags = eth(Dot1Q(vlan=1))
    for k in range(2, 18):
        tags = tags / Dot1Q(vlan=k)
    frames = [bytes(tags / packet), bytes(Ether(**MACS, type=0x8847) / mpls_stack(17, packet)),
              bytes(eth(Dot1Q(vlan=1) / packet)), bytes(Ether(**MACS, type=0x8847) / mpls_stack(16, packet))]
    h = parse_headers(from_packets(frames, [0, 1, 2, 3], LINKTYPE_ETHERNET))
    assert [Status(s).label for s in h.status] == ["depth_limit", "depth_limit", "ok", "ok"]


def test_tunnels_past_eight_layers_are_counted_as_cut(tmp_path) -> None:
    def nested(layers: int):
        def wrap(p, up):
            for _ in range(layers):
                p = outer(up) / p
            return eth(p)
        return wrap

    records, err = flows_of(tmp_path, [nested(9)(p, up) for up, p in session()])
    assert records == [] and "packets: 4 (depth_limit 4)" in err
    records, _ = flows_of(tmp_path, [nested(8)(p, up) for up, p in session()])
    assert the_flow(records)["tunnel"] == [{"type": "ipip", "outer": OUTER}] + [{"type": "ipip"}] * 7


def test_jt808_reports_inside_gre_inside_vxlan_inside_gtpu_are_found(tmp_path) -> None:
    reports = b"".join(jt808(31.2304 + k / 1000, 121.4737, 1_700_000_000 + k, k) for k in range(3))

    def wrap(p, up):
        gre = IP(src="172.31.0.1", dst="172.31.0.2") / GRE(key_present=1, key=9, proto=0x0800) / p
        vxlan = IP(src="192.0.2.10", dst="192.0.2.20") / UDP(sport=40003, dport=4789) / VXLAN(vni=808) / inner_eth(gre)
        return eth(outer(up) / UDP(sport=2152, dport=2152) / GTP_U_Header(teid=0xAB, gtp_type=255) / vxlan)

    frames = [wrap(p, up) for up, p in session(payload=reports, dport=7018)]
    records, _ = flows_of(tmp_path, frames)
    flow = the_flow(records, 7018)
    assert (flow["orig_h"], flow["resp_h"], flow["orig_bytes"]) == (CLIENT, SERVER, len(reports))
    assert flow["tunnel"] == [{"type": "gtpu", "teid": 0xAB, "outer": OUTER}, {"type": "vxlan", "vni": 808},
                              {"type": "gre", "key": 9}]
    pipeline = NetPipeline()
    view = pipeline.process(from_packets([bytes(f) for f in frames], list(range(4)), LINKTYPE_ETHERNET))
    assert view is not None
    found = [m for i in range(len(view)) for m in scan_payload(view.payload(i)) if m.protocol == "jt808"]
    assert len(found) >= 3, found  # each position report of the stream
    assert view.outbound.tolist() == [True, False, True, True]


def test_a_stream_split_between_tunnelled_and_plain_packets_stays_one_flow(tmp_path) -> None:
    vxlan, _ = WRAPS["vxlan"]
    packets = session()
    frames = [eth(p) if k % 2 else vxlan(p, up) for k, (up, p) in enumerate(packets)]
    flow = the_flow(flows_of(tmp_path, frames)[0])
    assert (flow["orig_pkts"], flow["resp_pkts"]) == (3, 1)
    assert flow["names"] == [{"name": NAME, "learned_from": ["tls_sni"]}]
    assert flow["tunnel"] == [{"type": "vxlan", "vni": 42, "outer": OUTER}]  # its first tunnelled packet's


def test_inner_fragments_inside_a_tunnel_are_reassembled_into_the_flow(tmp_path) -> None:
    from scapy.layers.inet import fragment

    gtp, _ = WRAPS["gtp-u with extension"]
    *handshake, (up, hello) = session()
    hello[IP].id = 99
    pieces = fragment(hello, fragsize=96)  # the ClientHello's IP datagram cut inside the tunnel
    assert len(pieces) > 2
    frames = [gtp(p, u) for u, p in handshake] + [gtp(piece, True) for piece in pieces]
    records, err = flows_of(tmp_path, frames)
    flow = the_flow(records)
    assert (flow["orig_pkts"], flow["resp_pkts"]) == (3, 1)
    assert flow["names"] == [{"name": NAME, "learned_from": ["tls_sni"]}], err
    assert flow["tunnel"][0]["type"] == "gtpu"


def test_gtp_u_signalling_and_malformed_tunnels_stay_outer_flows(tmp_path) -> None:
    """Only a G-PDU carries a user packet; an echo request, a GRE with routing, a VXLAN without
    its I flag are flows of their outer addresses, not guesses at what follows."""
    _up, packet = session()[3]
    frames = [eth(outer(True) / UDP(sport=2152, dport=2152) / GTP_U_Header(teid=1, gtp_type=1) / b"\x00\x00\x00\x00"),
              eth(outer(True) / GRE(routing_present=1, proto=0x0800) / packet),
              eth(outer(True) / UDP(sport=40004, dport=4789) / VXLAN(vni=5, flags=0) / inner_eth(packet))]
    records, _ = flows_of(tmp_path, frames)
    assert sorted((r["proto"], r["resp_p"]) for r in records) == [("gre", 0), ("udp", 2152), ("udp", 4789)]
    assert all(r["orig_h"] == TUNNEL_A and "tunnel" not in r for r in records)


def test_vxlan_carrying_arp_is_counted_as_not_ip() -> None:
    frame = eth(outer(True) / UDP(sport=40005, dport=4789) / VXLAN(vni=7) / Ether(**MACS, type=0x0806) / bytes(28))
    h = parse_headers(from_packets([bytes(frame)], [0], LINKTYPE_ETHERNET))
    assert Status(h.status[0]) == Status.NOT_IP and h.depth[0] == 1


# ------------------------------------------------------------------ random nesting

LAYERS = ["vlan", "mpls", "pppoe", "gre", "gre_eth", "erspan2", "erspan3", "vxlan", "geneve", "ipip", "gtpu", "ext6"]


def nest(kinds: list[str], inner) -> tuple[bytes, int]:
    """Wrap ``inner`` (an IP packet) in the given layers, innermost first, as one Ethernet
    frame; with the number of tunnel layers around it."""
    p, at_ip, depth = inner, True, 0  # at_ip: p is an IP packet (else an Ethernet frame)
    for kind in kinds:
        if not at_ip:
            p, depth = IP(src=TUNNEL_A, dst=TUNNEL_B) / GRE(proto=0x6558) / p, depth + 1
        if kind == "vlan":
            p = Ether(src="02:00:00:00:00:0c", dst="02:00:00:00:00:0d") / Dot1Q(vlan=3) / p
            at_ip = False
            continue
        if kind in ("mpls", "pppoe"):
            if kind == "mpls":
                p = Ether(**MACS, type=0x8847) / mpls_stack(2, p)
            else:
                p = Ether(**MACS, type=0x8864) / PPPoE() / Raw(bytes([0x57 if p.version == 6 else 0x21])) / p
            at_ip = False
            continue
        frame = inner_eth(p)
        p = {"gre": lambda: outer(True) / GRE(proto=ip_type(p)) / p,
             "gre_eth": lambda: outer(True) / GRE(proto=0x6558) / frame,
             "erspan2": lambda: outer(True) / GRE(seqnum_present=1, proto=0x88BE) / ERSPAN_II() / frame,
             "erspan3": lambda: outer(True) / GRE(seqnum_present=1, proto=0x22EB) / ERSPAN_III() / frame,
             "vxlan": lambda: outer(True) / UDP(dport=4789) / VXLAN(vni=1) / frame,
             "geneve": lambda: outer(True) / UDP(dport=6081) / GENEVE(proto=0x6558) / frame,
             "ipip": lambda: outer(True) / p,
             "gtpu": lambda: outer(True) / UDP(sport=2152, dport=2152) / GTP_U_Header(gtp_type=255) / p,
             "ext6": lambda: (IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrDestOpt()
                              / GRE(proto=ip_type(p)) / p),
             }[kind]()
        at_ip, depth = True, depth + 1
    return (bytes(eth(p)) if at_ip else bytes(p)), depth


@settings(max_examples=150, deadline=None)
@given(kinds=st.lists(st.sampled_from(LAYERS), max_size=12), cut=st.integers(0, 400), flip=st.integers(0, 400),
       seed=st.integers(0, 2**32 - 1))
def test_random_nesting_never_raises_and_every_packet_gets_a_status(kinds, cut, flip, seed) -> None:
    _up, packet = session()[3]
    built, depth = nest(kinds, packet)
    frame = bytearray(built)
    rng = random.Random(seed)
    mangled = bytearray(frame)
    for _ in range(flip % 8):  # a few random bytes changed, anywhere in the headers
        mangled[rng.randrange(len(mangled))] = rng.randrange(256)
    frames = [bytes(frame), bytes(mangled), bytes(frame[: max(len(frame) - cut, 0)])]
    h = parse_headers(from_packets(frames, [0, 1, 2], LINKTYPE_ETHERNET))
    assert set(h.status.tolist()) <= {s.value for s in Status}
    assert (h.depth <= 8).all()
    if depth > 8:
        assert Status(h.status[0]) == Status.DEPTH_LIMIT
    else:  # the intact frame is read to its innermost packet
        assert (Status(h.status[0]), int(h.depth[0]), len(h.layers(0))) == (Status.OK, depth, depth)
        assert h.src[0].tolist() == [0, int.from_bytes(bytes([10, 20, 0, 5]), "big")] and h.dport[0] == 443
    pipeline = NetPipeline()
    pipeline.process(from_packets(frames, [0, 1, 2], LINKTYPE_ETHERNET))
    pipeline.finish()
    assert pipeline.stats.packets == 3
