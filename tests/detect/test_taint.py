"""Taint reads TCP as the receiver does: a position cut into one-byte segments, or sent last
segment first, is found with the position sent; a segment with a bad checksum carrying a fake
position (an insertion: the receiver drops it) is not what is recorded. End to end through
``gatewatch replay``, from a CAN log of the drive and a capture whose segments carry real TCP
checksums."""

from __future__ import annotations

import struct

from monitor.testing.scene import T0, VEHICLE, Capture, drive_log, ip4

from ..builders import alerts_in, run

SERVER = "198.51.100.40"
ONE_BY_ONE, REVERSED, INSERTION = 7101, 7102, 7103  # server ports, one connection each


def _sum16(data: bytes) -> int:
    data += b"\0" * (len(data) & 1)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Connection:
    """One TCP connection from the vehicle, every segment with its own checksum (good unless asked)."""

    def __init__(self, cap: Capture, t: float, dport: int) -> None:
        self.cap, self.t, self.dport, self.sport = cap, t, dport, dport + 30000
        self.isn, self.server_isn = 4_000_000_000 + dport, 77_000 + dport  # the client's wraps past 2^32
        self.segment(VEHICLE, self.isn, 0, 0x02)
        self.segment(SERVER, self.server_isn, self.isn + 1, 0x12)
        self.segment(VEHICLE, self.isn + 1, self.server_isn + 1, 0x10)

    def segment(self, src: str, seq: int, ack: int, flags: int, payload: bytes = b"", good: bool = True) -> None:
        up = src == VEHICLE
        ports = (self.sport, self.dport) if up else (self.dport, self.sport)
        dst = SERVER if up else VEHICLE
        header = struct.pack("!HHIIBBHHH", *ports, seq % (1 << 32), ack % (1 << 32), 5 << 4, flags, 64240, 0, 0)
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(header) + len(payload))
        checksum = _sum16(pseudo + header + payload) ^ (0 if good else 0x0F0F)
        self.t += 0.001
        self.cap._add(self.t, src, dst, 6, header[:16] + struct.pack("!H", checksum) + header[18:] + payload)

    def send(self, offset: int, payload: bytes, good: bool = True) -> None:
        """Vehicle data at stream offset ``offset`` (0: the first byte after the SYN)."""
        self.segment(VEHICLE, self.isn + 1 + offset, self.server_isn + 1, 0x18, payload, good)


def report(lat: float, lon: float) -> bytes:
    return b"POS1" + struct.pack(">ii", round(lat * 1e7), round(lon * 1e7))


def scene(tmp_path):
    track = drive_log(tmp_path, 120, seed=25)
    cap = Capture()
    sent = {}
    one = Connection(cap, T0 + 40, ONE_BY_ONE)
    sent[ONE_BY_ONE] = track.at(T0 + 40)
    for k, byte in enumerate(report(*sent[ONE_BY_ONE])):
        one.send(k, bytes([byte]))
    rev = Connection(cap, T0 + 60, REVERSED)
    sent[REVERSED] = track.at(T0 + 60)
    data = report(*sent[REVERSED])
    for k in reversed(range(len(data))):
        rev.send(k, data[k : k + 1])
    ins = Connection(cap, T0 + 80, INSERTION)
    sent[INSERTION], fake = track.at(T0 + 80), track.at(T0 + 20)  # the fake: where it was a minute before
    assert abs(fake[0] - sent[INSERTION][0]) + abs(fake[1] - sent[INSERTION][1]) > 0.002
    ins.send(0, report(*fake), good=False)  # same length, same place: the receiver drops it
    ins.send(0, report(*sent[INSERTION]))
    cap.write(tmp_path / "capture.pcap")
    return sent, fake


def test_a_position_split_reordered_or_faked_by_an_insertion_is_read_as_delivered(tmp_path):
    sent, fake = scene(tmp_path)
    code, _out, err = run("replay", str(tmp_path / "can.log"), str(tmp_path / "capture.pcap"), "-o",
                          str(tmp_path / "out"), "--vehicle-id", "stream")
    assert code == 0, err
    found: dict[int, list] = {}
    for alert in alerts_in(tmp_path / "out", activity=None):
        if alert["detector"] == "taint.position":
            port = alert["record"]["evidences"][0]["dst_endpoint"]["port"]
            found.setdefault(port, []).append(alert["record"])
    assert set(found) == {ONE_BY_ONE, REVERSED, INSERTION}, found.keys()
    for port, records in found.items():
        for record in records:
            got = record["unmapped"]["gatewatch"]["position"]
            lat, lon = got["lat"], got["lon"]
            assert abs(lat - sent[port][0]) < 2e-7 and abs(lon - sent[port][1]) < 2e-7, (port, got, sent[port])
            assert record["unmapped"]["gatewatch"]["evidence"]["stream_offset"] == 4  # after "POS1"
    assert not any(abs(r["unmapped"]["gatewatch"]["position"]["lat"] - fake[0]) < 1e-4 for r in found[INSERTION])


def test_a_finding_names_its_rule_and_rate_and_a_north_east_magnitude_is_one_finding(tmp_path):
    """JT/T 808's unsigned x1e6 magnitudes of a north-east position are also int32 x1e6: one
    finding, as the signed one; it names its rule and that rule's expected random matches per GB,
    and the stats sum what the bytes searched should have held by chance. A payload of more
    decimal numbers than are examined counts the rest."""
    from ..builders import encode, gateway_db, packet, write_log, write_pcap
    from .conftest import run_monitor

    db, t0 = gateway_db(), 1_700_000_000.0
    fixes = [(48.137154 + k * 2e-5, 11.576124 + k * 3e-5) for k in range(300)]
    log = write_log(tmp_path / "can.log", [encode(db, "GW_GNSS_Position", t0 + 0.1 * k, Latitude=lat, Longitude=lon)
                                           for k, (lat, lon) in enumerate(fixes)])
    lat, lon = fixes[200]
    jt808_like = b"\x00\x00\x00\x00\x00\x00\x00\x03" + struct.pack(">II", int(lat * 1e6), int(lon * 1e6)) + bytes(8)
    numbers = b",".join(b"1.2345" for _ in range(5000))
    packets = [packet(t0 + 20.05, jt808_like, dport=7018, sport=40001), packet(t0 + 21.0, numbers, dport=8080, sport=40002)]
    findings, monitor = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "up.pcap", packets)])
    taint = [f for f in findings if f.detector == "taint.position"]
    assert [f.evidence["encoding"] for f in taint] == ["int32 x1e6 big-endian"]
    assert taint[0].evidence["match_rule"] == "adjacent"
    assert 0 < taint[0].evidence["expected_random_matches_per_gb"] < 1e-3
    stats = monitor.summary()["detectors"]["taint"]
    assert 0 < stats["expected_random_positions"] < 1e-3
    assert stats["text_over_limit"] == 5000 - 4096
