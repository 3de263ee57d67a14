"""Header parsing on packets built with scapy: stacked VLAN tags, MPLS, IPv6 extension headers."""

from __future__ import annotations

from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

from monitor.net.headers import Status, parse_headers
from monitor.net.packets import LINKTYPE_ETHERNET, from_packets


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
