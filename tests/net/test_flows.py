"""Flows: idle timeouts split them and eviction is counted; a connection repeated after an idle
gap is two flows; an ICMP echo is one."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether

from monitor.net.flows import FlowConfig
from monitor.net.pipeline import NetConfig

from .conftest import NS, run


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


def test_icmp_echo_is_one_flow_with_type_and_code() -> None:
    base = IP(src="10.0.0.2", dst="1.1.1.1")
    records, _ = run([Ether() / base / ICMP(type=8), Ether() / IP(src="1.1.1.1", dst="10.0.0.2") / ICMP(type=0)])
    (flow,) = records
    assert (flow["orig_p"], flow["resp_p"], flow["orig_pkts"], flow["resp_pkts"]) == (8, 0, 1, 1)
