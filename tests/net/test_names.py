"""NameCache: addresses named by the DNS answers seen before a flow, through CNAME chains, with
a TTL floor and a bound."""

from __future__ import annotations

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from monitor.net.app.dns import Message, Record
from monitor.net.names import NS, NameCache

from .conftest import run

ANSWER = Message(id=1, is_response=True, rcode=0, answers=[
    Record("maps.example.com", 5, 60, "edge.cdn.example.net"),
    Record("edge.cdn.example.net", 5, 60, "a1.cdn.example.net"),
    Record("a1.cdn.example.net", 1, 30, "203.0.113.7"),
    Record("a1.cdn.example.net", 28, 30, "2001:db8::7"),
])


def test_an_address_carries_every_name_on_its_cname_chain():
    cache = NameCache()
    assert cache.learn(ANSWER, 10 * NS) == 6
    assert set(cache.names_at("203.0.113.7", 11 * NS)) == {"a1.cdn.example.net", "edge.cdn.example.net", "maps.example.com"}
    assert set(cache.names_at("2001:db8::7", 11 * NS)) == set(cache.names_at("203.0.113.7", 11 * NS))


def test_only_answers_learned_before_the_flow_started_name_it_and_ttls_have_a_floor():
    cache = NameCache(min_ttl=300)
    cache.learn(ANSWER, 10 * NS)
    assert cache.names_at("203.0.113.7", 9 * NS) == []  # the flow started before the answer
    assert cache.names_at("203.0.113.7", (10 + 299) * NS)  # TTL 30 s, kept for the 300 s floor
    assert cache.names_at("203.0.113.7", (10 + 301) * NS) == []


def test_the_cache_is_bounded_and_counts_what_it_evicts():
    cache = NameCache(max_addresses=2)
    for i in range(5):
        cache.learn(Message(id=i, is_response=True, rcode=0, answers=[Record(f"h{i}.example", 1, 60, f"192.0.2.{i}")]), NS)
    assert len(cache.entries) == 2 and cache.evicted == 3
    assert cache.names_at("192.0.2.4", NS) == ["h4.example"] and cache.names_at("192.0.2.0", NS) == []


def test_a_cname_loop_ends():
    loop = Message(id=2, is_response=True, rcode=0, answers=[
        Record("a.example", 5, 60, "b.example"), Record("b.example", 5, 60, "a.example"),
        Record("a.example", 1, 60, "198.51.100.1")])
    cache = NameCache()
    cache.learn(loop, NS)
    assert set(cache.names_at("198.51.100.1", NS)) == {"a.example", "b.example"}


def test_names_per_address_and_chain_length_are_bounded_and_counted():
    from monitor.net.names import MAX_CHAIN, MAX_NAMES_PER_ADDRESS

    cache = NameCache()
    for i in range(3 * MAX_NAMES_PER_ADDRESS):  # one address answered under ever new names
        cache.learn(Message(id=i, is_response=True, rcode=0, answers=[Record(f"n{i}.example", 1, 60, "192.0.2.9")]), NS)
    names = cache.names_at("192.0.2.9", NS)
    assert len(names) == MAX_NAMES_PER_ADDRESS and cache.names_forgotten == 2 * MAX_NAMES_PER_ADDRESS
    assert f"n{3 * MAX_NAMES_PER_ADDRESS - 1}.example" in names and "n0.example" not in names  # the newest stay
    chain = [Record(f"c{i + 1}.example", 5, 60, f"c{i}.example") for i in range(4 * MAX_CHAIN)]
    cache.learn(Message(id=0, is_response=True, rcode=0, answers=[*chain, Record("c0.example", 1, 60, "192.0.2.10")]), NS)
    named = cache.names_at("192.0.2.10", NS)
    assert named[:2] == ["c0.example", "c1.example"] and len(named) == MAX_CHAIN and cache.chains_cut == 1


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
