"""IPv4 and IPv6 fragments reassemble in any order with duplicates; garbage fragments are
counted, never fatal."""

from __future__ import annotations

import random

from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import Ether

from .conftest import run


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
