"""TCP evasions that once hid the destination's name, each a capture built with real bytes
(scapy) and replayed through the real pipeline: the flow record must carry the real name.

The receiver's view is the reference: it reorders by sequence number, drops a segment whose
checksum is wrong, and reads data in a SYN from ISN+1 on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import IP, TCP, Ether, wrpcap

from monitor.detect.signatures import RESCAN_BUDGET
from monitor.net.capture import read_capture
from monitor.net.pipeline import NetPipeline
from monitor.testing.scene import client_hello

CLIENT, SERVER = "10.1.0.5", "203.0.113.9"
ISN, SERVER_ISN = 1_000_000, 5_000_000
REAL, ALLOWED = "tracker.evil.example", "maps.allowed.example"


def _packet(seq: int, flags: str, data: bytes = b"", t: float = 0.0, bad: bool = False, to_server: bool = True):
    src, dst, sport, dport = (CLIENT, SERVER, 40000, 443) if to_server else (SERVER, CLIENT, 443, 40000)
    ack = SERVER_ISN + 1 if to_server else ISN + 1
    tcp = TCP(sport=sport, dport=dport, seq=seq % (1 << 32), ack=ack if "A" in flags else 0, flags=flags)
    frame = Ether(bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=dst) / tcp / data))  # checksums filled in
    if bad:
        frame[TCP].chksum ^= 0x5A5A
    frame.time = 1_700_000_000 + t
    return frame


def _handshake(syn_data: bytes = b"") -> list:
    return [_packet(ISN, "S", syn_data), _packet(SERVER_ISN, "SA", t=0.01, to_server=False), _packet(ISN + 1, "A", t=0.02)]


def _segments(data: bytes, size: int, first_seq: int = ISN + 1) -> list[tuple[int, bytes]]:
    return [(first_seq + i, data[i : i + size]) for i in range(0, len(data), size)]


def _data(segments: list[tuple[int, bytes]], t0: float = 0.1, bad: set[int] = frozenset()) -> list:
    """Data segments as sent; PSH on the one that ends the write, as a sender's TCP sets it."""
    last = max(seq + len(chunk) for seq, chunk in segments)
    return [_packet(seq, "PA" if seq + len(chunk) == last else "A", chunk, t0 + i * 0.001, bad=i in bad)
            for i, (seq, chunk) in enumerate(segments)]


def _names(tmp_path: Path, packets: list, **config) -> tuple[list[str], dict]:
    path = tmp_path / "evasion.pcap"
    wrpcap(str(path), packets)
    pipeline = NetPipeline()
    for batch in read_capture(path):
        pipeline.process(batch)
    pipeline.finish()
    records = [r for r in pipeline.drain() if r["proto"] == "tcp"]
    assert len(records) == 1, records
    return [n["name"] for n in records[0].get("names", [])], pipeline.summary()["streams"]


def test_plain_connection_is_named(tmp_path) -> None:
    names, _ = _names(tmp_path, _handshake() + _data(_segments(client_hello(REAL), 1400)))
    assert names == [REAL]


def test_one_byte_per_segment(tmp_path) -> None:
    names, _ = _names(tmp_path, _handshake() + _data(_segments(client_hello(REAL), 1)))
    assert names == [REAL]


def test_fourteen_segments_last_first(tmp_path) -> None:
    hello = client_hello(REAL)
    segments = _segments(hello, -(-len(hello) // 14))
    assert len(segments) == 14
    names, _ = _names(tmp_path, _handshake() + _data(segments[::-1]))
    assert names == [REAL]


@pytest.mark.parametrize("decoy_first", [True, False])
def test_midstream_decoy_far_ahead_does_not_become_the_base(tmp_path, decoy_first: bool) -> None:
    real = _segments(client_hello(REAL), 1400, first_seq=ISN + 1)
    decoy = [(ISN + 1 + (1 << 31) - 1, b"\x00")]
    names, streams = _names(tmp_path, _data(decoy + real if decoy_first else real + decoy))  # no SYN
    assert names == [REAL]
    assert streams.get("midstream_rebased", 0) + streams.get("beyond_window", 0) == 1


@pytest.mark.parametrize("same_length", [False, True])
def test_insertion_with_a_bad_checksum_is_dropped_as_the_receiver_drops_it(tmp_path, same_length: bool) -> None:
    fake = client_hello(ALLOWED if same_length else "allowed.example")
    real = client_hello(REAL)
    assert (len(fake) == len(real)) == same_length
    packets = _handshake() + _data([(ISN + 1, fake), (ISN + 1, real)], bad={0})
    names, streams = _names(tmp_path, packets)
    assert names == [REAL]
    assert streams["bad_checksum"] == 1


def test_data_in_syn_keeps_its_first_byte(tmp_path) -> None:
    hello = client_hello(REAL)
    names, _ = _names(tmp_path, _handshake(syn_data=hello))  # TCP Fast Open: the whole hello in the SYN
    assert names == [REAL]


def test_http_host_in_syn_and_one_byte_segments(tmp_path) -> None:
    request = b"GET /track HTTP/1.1\r\nHost: " + REAL.encode() + b"\r\nUser-Agent: x\r\n\r\n"
    names, _ = _names(tmp_path, _handshake(syn_data=request[:1]) + _data(_segments(request[1:], 1, ISN + 2)))
    assert names == [REAL]


def test_gatewatch_flows_cli_finds_the_real_name_of_an_insertion(tmp_path) -> None:
    packets = _handshake() + _data([(ISN + 1, client_hello(ALLOWED)), (ISN + 1, client_hello(REAL))], bad={0})
    path, out = tmp_path / "insertion.pcap", tmp_path / "flows.jsonl"
    wrpcap(str(path), packets)
    done = subprocess.run([sys.executable, "-m", "monitor", "flows", str(path), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [n["name"] for r in records for n in r.get("names", [])] == [REAL]


def _wire_findings(path: Path) -> tuple[list, dict]:
    from types import SimpleNamespace

    from monitor.detect.signatures import WireSignatures, WireThresholds

    detector = WireSignatures()
    detector.configure(SimpleNamespace(wire=WireThresholds()))
    pipeline, found = NetPipeline(), []
    for batch in read_capture(path):
        view = pipeline.process(batch)
        if view is not None:
            found += detector.on_net(view, None)
    return found, detector.stats()


@pytest.mark.parametrize("order", ["in order", "shuffled", "last first"])
def test_jt808_report_in_one_byte_segments_out_of_order_is_found(tmp_path, order: str) -> None:
    import random
    import struct

    from tests.builders import jt808

    location = struct.pack(">IIIIHHH", 0, 3, 31_230_000, 121_470_000, 20, 600, 90) + bytes.fromhex("261130120000")
    segments = _segments(jt808(0x0200, location), 1)
    if order == "shuffled":
        random.Random(7).shuffle(segments)
    elif order == "last first":
        segments.reverse()
    path = tmp_path / "jt808.pcap"
    wrpcap(str(path), _handshake() + _data(segments))
    found, stats = _wire_findings(path)
    positions = [(round(f.position.lat, 5), round(f.position.lon, 5)) for f in found if f.position]
    assert positions == [(31.23, 121.47)], (found, stats)
    assert stats.get("held_rescans", 0) <= 10, stats  # the held start is not rescanned per segment


def test_a_long_held_head_is_not_rescanned_per_segment(tmp_path) -> None:
    """20 requests with a 16 KB header line, every segment pushed: the held head's rescans are
    bounded per message (doubling plus a budget), not one full rescan per segment."""
    head = b"POST /x HTTP/1.1\r\nX-Pad: " + b"ab, " * 4_000 + b"\r\n"  # no long word: the regex is not the subject
    segments, seq = [], ISN + 1
    for _ in range(20):
        for part in range(0, len(head), 1400):
            segments.append((seq, head[part : part + 1400]))
            seq += len(head[part : part + 1400])
    packets = _handshake() + [_packet(s_, "PA", c, 0.1 + i * 0.001) for i, (s_, c) in enumerate(segments)]
    path = tmp_path / "long_heads.pcap"
    wrpcap(str(path), packets)
    _, stats = _wire_findings(path)
    messages = stats["payloads_scanned"]  # each message start is scanned alone once, then held
    assert stats["held_rescans_over_budget"] > 0
    assert stats["bytes_scanned"] <= messages * (16_384 + 2 * 16_384 + RESCAN_BUDGET), stats
