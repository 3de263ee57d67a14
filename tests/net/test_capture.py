"""pcap/pcapng replay: formats, link types, damaged and truncated files."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.utils import PcapWriter

from monitor.errors import SourceError
from monitor.net.capture import ReplayStats, read_capture
from monitor.net.headers import Status, parse_headers
from monitor.net.packets import LINKTYPE_ETHERNET, LINKTYPE_RAW
from monitor.net.pcapwriter import write_pcap

from ..conftest import corpus

UDP_PACKET = Ether() / IP(src="10.0.0.2", dst="8.8.8.8") / UDP(sport=1234, dport=53) / (b"x" * 20)


def _records(path, **kw):
    stats = ReplayStats()
    batches = list(read_capture(path, stats=stats, **kw))
    return batches, stats


def test_pcap_written_by_scapy_reads_back(tmp_path) -> None:
    path = tmp_path / "a.pcap"
    packets = [UDP_PACKET, Ether() / Dot1Q(vlan=7) / IP(dst="1.2.3.4") / TCP(dport=443, flags="S")]
    for i, p in enumerate(packets):
        p.time = 1_700_000_000 + i / 4
    with PcapWriter(str(path)) as writer:
        writer.write(packets)
    (batch,), stats = _records(path)
    assert stats.records == 2 and not stats.warnings
    assert batch.packet(0) == bytes(packets[0]) and batch.packet(1) == bytes(packets[1])
    assert batch.ts_ns.tolist() == [1_700_000_000_000_000_000, 1_700_000_000_250_000_000]
    h = parse_headers(batch)
    assert h.status.tolist() == [Status.OK, Status.OK]
    assert h.vlan.tolist() == [0, 7] and h.dport.tolist() == [53, 443]


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _interface(linktype: int, name: bytes, tsresol: int | None = None) -> bytes:
    options = struct.pack("<HH", 2, len(name)) + name + b"\0" * (-len(name) % 4)
    if tsresol is not None:
        options += struct.pack("<HHB3x", 9, 1, tsresol)
    return _block(1, struct.pack("<HHI", linktype, 0, 0) + options + b"\0\0\0\0")


def _packet(interface: int, ticks: int, data: bytes) -> bytes:
    return _block(6, struct.pack("<IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data)) + data)


def test_pcapng_mixes_interfaces_link_types_and_resolutions(tmp_path) -> None:
    path = tmp_path / "mixed.pcapng"
    raw = bytes(IP(src="100.64.0.9", dst="52.1.2.3") / UDP(dport=443))
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    path.write_bytes(shb + _interface(LINKTYPE_ETHERNET, b"eth0") + _interface(LINKTYPE_RAW, b"wwan0", tsresol=9)
                     + _packet(0, 1_700_000_000_000_000, bytes(UDP_PACKET))  # microseconds (default)
                     + _packet(1, 1_700_000_000_500_000_000, raw))  # nanoseconds
    (batch,), stats = _records(path)
    assert stats.records == 2 and not stats.warnings
    assert batch.linktype.tolist() == [LINKTYPE_ETHERNET, LINKTYPE_RAW]
    assert [batch.interface_names[i] for i in batch.interface] == ["eth0", "wwan0"]
    assert batch.ts_ns.tolist() == [1_700_000_000_000_000_000, 1_700_000_000_500_000_000]
    h = parse_headers(batch)
    assert (h.status == Status.OK).all() and h.dport.tolist() == [53, 443]


def test_file_ending_inside_a_record_stops_with_a_warning(tmp_path) -> None:
    path = tmp_path / "cut.pcap"
    write_pcap(path, [(i * 1000, bytes(UDP_PACKET), len(UDP_PACKET)) for i in range(5)], LINKTYPE_ETHERNET)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    batches, stats = _records(path)
    assert sum(len(b) for b in batches) == 4
    assert stats.truncated_file and "file ends inside a record" in stats.warnings[0]


def test_damaged_record_is_counted_and_skipped(tmp_path) -> None:
    path = tmp_path / "damaged.pcap"
    write_pcap(path, [(i * 1000, bytes(UDP_PACKET), len(UDP_PACKET)) for i in range(4)], LINKTYPE_ETHERNET)
    data = bytearray(path.read_bytes())
    second = 24 + 16 + len(UDP_PACKET)
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)  # an impossible captured length
    path.write_bytes(bytes(data))
    batches, stats = _records(path)
    assert stats.damaged == 1 and "damaged record at byte" in stats.warnings[0]
    assert sum(len(b) for b in batches) == 3  # only the damaged record is lost


def test_small_batches_split_a_chunk(tmp_path) -> None:
    path = tmp_path / "many.pcap"
    write_pcap(path, [(i, bytes(UDP_PACKET), len(UDP_PACKET)) for i in range(10)], LINKTYPE_ETHERNET)
    batches, _ = _records(path, batch_size=3)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert np.concatenate([b.ts_ns for b in batches]).tolist() == list(range(10))


def test_not_a_capture_is_one_line_error(tmp_path) -> None:
    path = tmp_path / "x.pcap"
    path.write_text("hello")
    with pytest.raises(SourceError, match="not a pcap or pcapng file"):
        list(read_capture(path))


@pytest.mark.corpus
def test_sll2_and_null_link_types_parse() -> None:
    for name in ("sv_decode-sll2.pcap", "sv_quic-v2.pcap", "ndpi_rtsp.pcapng", "sv_dns-additionals-with-cname.pcap"):
        for batch in read_capture(corpus("pcap", name)):
            assert (parse_headers(batch).status == Status.OK).all(), name
