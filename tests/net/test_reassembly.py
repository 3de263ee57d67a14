"""Unit tests of net/reassembly.py: overlap policies, wrap-around, mid-stream base, caps."""

from __future__ import annotations

from collections import Counter

import pytest

from monitor.net.reassembly import MOD, Memory, Sender, StreamConfig, checksum_state, new_wins


def _sender(memcap: int = 1 << 20) -> tuple[Sender, Counter]:
    sender = Sender(Memory(memcap))
    sender.syn(99)  # first data byte at 100
    return sender, Counter()


def _feed(segments, config: StreamConfig, sender: Sender | None = None) -> tuple[bytes, Counter]:
    stats: Counter = Counter()
    sender = sender or _sender()[0]
    return b"".join(sender.add(seq, data, config, stats) for seq, data in segments), stats


# Held segments 102..106 "AAAA" and then a second one overlapping; 100..102 fills the gap last.
@pytest.mark.parametrize(("policy", "expected"), [
    ("first", b"xBAAAAB"), ("last", b"xxBBBBB"), ("bsd", b"xxBBBBB"), ("linux", b"xxBBBBB")])
def test_new_segment_starting_before_the_held_one(policy, expected) -> None:
    out, stats = _feed([(102, b"AAAA"), (101, b"BBBBBB"), (100, b"xx")], StreamConfig(policy=policy))
    assert out == expected
    assert stats["overlap_conflicts"] >= 1


@pytest.mark.parametrize(("policy", "expected"), [
    ("first", b"xxAAAAB"), ("last", b"xxBBBBB"), ("bsd", b"xxAAAAB"), ("linux", b"xxBBBBB")])
def test_same_start_longer_new_segment(policy, expected) -> None:
    out, _ = _feed([(102, b"AAAA"), (102, b"BBBBB"), (100, b"xx")], StreamConfig(policy=policy))
    assert out == expected


@pytest.mark.parametrize(("policy", "expected"), [
    ("first", b"xxAAAA"), ("last", b"xxABBA"), ("bsd", b"xxAAAA"), ("linux", b"xxAAAA")])
def test_new_segment_inside_the_held_one(policy, expected) -> None:
    out, _ = _feed([(102, b"AAAA"), (103, b"BB"), (100, b"xx")], StreamConfig(policy=policy))
    assert out == expected


def test_policy_rules() -> None:
    assert new_wins("linux", 5, 9, 5, 8) and not new_wins("linux", 5, 8, 5, 8) and not new_wins("bsd", 5, 9, 5, 8)
    assert not new_wins("first", 0, 9, 5, 8) and new_wins("last", 6, 7, 5, 8)
    with pytest.raises(ValueError, match="stream.policy"):
        StreamConfig(policy="windows")


def test_bytes_already_in_order_are_final() -> None:
    out, stats = _feed([(100, b"abcd"), (100, b"XXXXef")], StreamConfig(policy="last"))
    assert out == b"abcdef"
    _, stats = _feed([(100, b"abcd"), (100, b"ab")], StreamConfig())
    assert stats["retransmitted"] == 1


def test_sequence_wraps_around() -> None:
    sender = Sender(Memory(1 << 20))
    sender.syn(MOD - 3)  # first byte at 2^32-2
    out, _ = _feed([(0, b"cd"), (MOD - 2, b"ab"), (2, b"ef")], StreamConfig(), sender)
    assert out == b"abcdef"


def test_midstream_base_is_tentative_until_confirmed() -> None:
    config = StreamConfig(confirm=6)
    sender = Sender(Memory(1 << 20))
    out, stats = _feed([(5000 + (1 << 31) - 1, b"D"), (5002, b"cdef"), (5000, b"ab")], config, sender)
    assert out == b"abcdef" and stats["midstream_rebased"] == 1
    out, stats = _feed([(5006 + (1 << 31) - 1, b"D")], config, sender)  # confirmed: the decoy is not kept
    assert out == b"" and stats["beyond_window"] == 1


def test_depth_cuts_the_stream() -> None:
    out, stats = _feed([(100, b"x" * 10), (110, b"y" * 10)], StreamConfig(depth=15))
    assert out == b"x" * 10 + b"y" * 5 and stats["depth_reached"] == 1


def test_flow_and_global_memcaps_and_the_bytes_are_given_back() -> None:
    memory = Memory(100)
    config = StreamConfig(flow_memcap=60)
    a, b = Sender(memory), Sender(memory)
    a.syn(99)
    b.syn(99)
    stats: Counter = Counter()
    assert a.add(200, b"z" * 50, config, stats) == b""
    # at the sender's cap the hole before its held bytes is given up, not the new bytes
    assert a.add(300, b"w" * 50, config, stats) == b"z" * 50 and stats["gaps_skipped"] == 1
    assert b.add(200, b"v" * 55, config, stats) == b"" and stats["memcap_refused"] == 1  # 50 + 55 > 100
    assert b.add(200, b"v" * 70, config, stats) == b"" and stats["flow_memcap_refused"] == 1  # one piece over 60
    assert memory.used == 50
    assert a.add(250, b"q" * 50, config, stats) == b"q" * 50 + b"w" * 50
    assert memory.used == 0
    b.add(200, b"z" * 40, config, stats)
    assert memory.used == 40
    del b
    assert memory.used == 0


def test_checksum_states() -> None:
    from scapy.all import IP, TCP
    import numpy as np
    packet = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="PA") / b"hello")
    data = np.frombuffer(packet, np.uint8).copy()
    assert checksum_state(data, 0, 4, 20, len(packet)) == "good"
    data[36] ^= 0xFF
    assert checksum_state(data, 0, 4, 20, len(packet)) == "bad"
    data[36:38] = 0
    assert checksum_state(data, 0, 4, 20, len(packet)) == "offloaded"


def test_senders_of_ended_flows_are_forgotten_and_give_their_bytes_back(tmp_path) -> None:
    from scapy.all import IP, TCP, Ether, wrpcap

    from monitor.net.capture import read_capture
    from monitor.net.pipeline import NetPipeline
    from monitor.net.reassembly import PURGE_EVERY

    packets = []
    for port in range(40000, 40010):  # each: a segment waiting for a gap that never fills, then RST
        for flags, seq, data in (("S", 0, b""), ("A", 50, b"x" * 100), ("R", 150, b"")):
            frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=port, dport=80, flags=flags, seq=seq) / data
            frame.time = 1_700_000_000 + (port - 40000)
            packets.append(frame)
    wrpcap(str(tmp_path / "gaps.pcap"), packets)
    pipeline = NetPipeline()
    for batch in read_capture(tmp_path / "gaps.pcap"):
        pipeline.process(batch)
    assert pipeline.streams.memory.used == 1000
    pipeline.finish()
    for _ in range(PURGE_EVERY):
        pipeline.streams.purge(pipeline.recorder.flow_id)
    assert pipeline.streams.memory.used == 0 and not pipeline.streams.senders


def test_past_the_depth_segments_stand_as_they_come(tmp_path) -> None:
    from scapy.all import IP, TCP, Ether, wrpcap

    from monitor.net.capture import read_capture
    from monitor.net.pipeline import NetConfig, NetPipeline

    packets = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="192.0.2.7") / TCP(sport=4000, dport=7018, flags="S", seq=0)]
    packets += [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="192.0.2.7") / TCP(sport=4000, dport=7018, flags="PA", seq=1 + 80 * k)
                / (bytes([65 + k]) * 80) for k in range(3)]
    wrpcap(str(tmp_path / "deep.pcap"), packets)
    pipeline = NetPipeline(NetConfig(stream=StreamConfig(depth=100)))
    views = [pipeline.process(batch) for batch in read_capture(tmp_path / "deep.pcap")]
    view = views[0]
    assert [view.stream(i) for i in range(4)] == [b"", b"A" * 80, b"B" * 20, b"C" * 80]
    assert view.past_depth.tolist() == [False, False, False, True]
    assert pipeline.summary()["streams"]["depth_reached"] == 1


def test_a_hole_the_capture_lost_is_skipped_after_the_gap_timeout() -> None:
    config = StreamConfig(gap_timeout_s=10)
    sender, stats = _sender()
    assert sender.add(100, b"ab", config, stats, ts_ns=0) == b"ab"
    assert sender.add(110, b"later", config, stats, ts_ns=1_000_000_000) == b""  # 102..110 lost
    assert sender.add(115, b"more", config, stats, ts_ns=5_000_000_000) == b""  # still within the timeout
    assert sender.add(119, b"!", config, stats, ts_ns=12_000_000_000) == b"latermore!"
    assert stats["gaps_skipped"] == 1 and sender.held == 0
    assert sender.add(102, b"12345678", config, stats) == b"" and stats["retransmitted"] == 1


def test_a_hole_is_skipped_when_the_held_bytes_reach_the_cap() -> None:
    config = StreamConfig(flow_memcap=10)
    sender, stats = _sender()
    assert sender.add(105, b"x" * 8, config, stats) == b""
    assert sender.add(113, b"y" * 8, config, stats) == b"x" * 8 + b"y" * 8
    assert stats["gaps_skipped"] == 1
