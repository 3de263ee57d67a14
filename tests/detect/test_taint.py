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
