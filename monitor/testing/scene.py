"""Builders the seed scripts share: a CAN log of the gateway's signals along a drive, and a
capture of real protocol bytes (TCP with handshakes and acknowledgements, DNS, TLS ClientHello,
NTP, RTP H.264, RTSP, RTMP, JT/T 808, GB/T 32960, HTTP) with realistic timing.

Everything is deterministic: fixed start time, fixed seeds, documentation addresses only
(RFC 5737 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; the vehicle in 192.168.50.0/24).
The seed scripts (``python seeds/<scenario>/make.py``) and ``make score``'s generated
drives build from here.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..canbus.dbc import load_dbc
from ..detect.geo import normalize
from ..net.packets import LINKTYPE_ETHERNET
from ..net.pcapwriter import write_pcap
from ..resources import shipped
from .drive import jt808_frame, jt808_location, xor_check

GATEWAY_DBC = shipped("dbc/gateway-telematics.dbc")
T0 = 1_767_258_000.0  # 2026-01-01T09:00:00Z
VEHICLE, RESOLVER = "192.168.50.2", "198.51.100.53"
VEHICLE6 = "fd00:50::2"  # the vehicle's address toward IPv6 destinations (a ULA: in-vehicle by default)
VIN = "WVWZZZ1JZXW000001"


def ip4(text: str) -> bytes:
    return bytes(int(part) for part in text.split("."))


# ------------------------------------------------------------------ the drive and its CAN log

@dataclass
class Track:
    ts: np.ndarray
    speed_kmh: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    odometer_km: np.ndarray

    def at(self, t: float) -> tuple[float, float]:
        i = min(int(np.searchsorted(self.ts, t)), len(self.ts) - 1)
        return float(self.lat[i]), float(self.lon[i])

    def fix_at(self, t: float) -> tuple[float, float]:
        """The latest fix at or before ``t``: what a device sending at ``t`` can know (``at`` takes
        the next fix, up to a sample interval ahead; the seeds were made with it)."""
        i = min(max(int(np.searchsorted(self.ts, t, side="right")) - 1, 0), len(self.ts) - 1)
        return float(self.lat[i]), float(self.lon[i])


MUNICH = (48.137154, 11.576124)  # where the seeds' drives start
MUNICH_KM_PER_LON_DEGREE = 74.0  # what the seeds were made with (111 km x cos 48.14 deg, rounded): kept so they rebuild byte for byte


def drive(seconds: int, hz: int = 10, stops: tuple[tuple[float, float], ...] = (), seed: int = 1,
          start: tuple[float, float] = MUNICH) -> Track:
    """A drive north-east from ``start`` (lat, lon; Munich unless told) at 30-70 km/h with the
    given stops (start s, length s), over a pole or the antimeridian if it gets there."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(0, seconds, 1 / hz)
    speed = 50 + 20 * np.sin(np.arange(len(ts)) / (hz * 45)) + rng.normal(0, 1.0, len(ts))
    for begin, length in stops:
        speed[(ts >= T0 + begin) & (ts < T0 + begin + length)] = 0
    speed = np.clip(speed, 0, None)
    km = np.cumsum(speed / 3600 / hz)
    per_degree = MUNICH_KM_PER_LON_DEGREE if start == MUNICH else 111.0 * max(np.cos(np.radians(start[0])), 1e-3)
    lat, lon = normalize(start[0] + km / 111.0 * 0.8, start[1] + km / per_degree * 0.6)
    return Track(ts, speed, lat, lon, 12_000 + km)


@dataclass
class CanLog:
    rows: list[tuple[float, str, int, bytes, bool]] = field(default_factory=list)

    def add(self, t: float, frame_id: int, data: bytes, bus: str = "can0", extended: bool = False) -> None:
        self.rows.append((t, bus, frame_id, data, extended))

    def write(self, path: Path) -> None:
        with path.open("w") as out:
            for t, bus, frame_id, data, extended in sorted(self.rows, key=lambda r: r[0]):
                ident = f"{frame_id:08X}" if extended else f"{frame_id:03X}"
                out.write(f"({t:.6f}) {bus} {ident}#{data.hex().upper()}\n")


def gateway_frames(log: CanLog, track: Track, camera=lambda t: False, vin: str | None = VIN) -> None:
    """Position and motion at 10 Hz, sensors at 5 Hz, the VIN once a second, as the DBC says."""
    db = load_dbc(GATEWAY_DBC)
    position, motion = db.get_message_by_name("GW_GNSS_Position"), db.get_message_by_name("GW_VehicleMotion")
    sensors, vin_msg = db.get_message_by_name("GW_Sensors"), db.get_message_by_name("GW_VIN")
    for i, t in enumerate(track.ts.tolist()):
        log.add(t, position.frame_id, position.encode({"Latitude": track.lat[i], "Longitude": track.lon[i]}))
        log.add(t + 0.003, motion.frame_id, motion.encode({"VehicleSpeed": round(float(track.speed_kmh[i]), 2),
                                                           "Odometer": round(float(track.odometer_km[i]), 1), "GearReverse": 0}))
        if i % 2 == 0:
            on = int(bool(camera(t)))
            log.add(t + 0.006, sensors.frame_id, sensors.encode({"CameraActive": on, "LidarActive": 0,
                                                                  "CamerasStreaming": on, "UplinkMode": 2}))
        if vin and i % 10 == 0:
            for k in range(3):
                log.add(t + 0.008 + 0.001 * k, vin_msg.frame_id, bytes([k]) + vin[7 * k : 7 * k + 7].ljust(7, "\0").encode())


# ------------------------------------------------------------------ the capture

VEHICLE_MAC, GATEWAY_MAC = bytes.fromhex("02005000000a"), bytes.fromhex("020050000001")


def _ip(src: str, dst: str, proto: int, l4: bytes, ident: int) -> bytes:
    """An Ethernet frame carrying an IPv4 packet (header checksum filled in), or an IPv6 packet
    when either end is IPv6 (the vehicle's IPv4 address then stands for VEHICLE6)."""
    if ":" in src or ":" in dst:
        return _ip6(VEHICLE6 if src == VEHICLE else src, VEHICLE6 if dst == VEHICLE else dst, proto, l4)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, 0x4000, 64, proto, 0, ip4(src), ip4(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    from_vehicle = src.startswith("192.168.")
    macs = GATEWAY_MAC + VEHICLE_MAC if from_vehicle else VEHICLE_MAC + GATEWAY_MAC  # destination, then source
    return macs + b"\x08\x00" + header + l4


def _ip6(src: str, dst: str, proto: int, l4: bytes) -> bytes:
    header = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
    macs = GATEWAY_MAC + VEHICLE_MAC if src == VEHICLE6 else VEHICLE_MAC + GATEWAY_MAC
    return macs + b"\x86\xdd" + header + l4


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass
class Capture:
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    ident: int = 1

    def _add(self, t: float, src: str, dst: str, proto: int, l4: bytes) -> None:
        self.ident += 1
        self.frames.append((t, _ip(src, dst, proto, l4, self.ident)))

    def udp(self, t: float, src: str, sport: int, dst: str, dport: int, payload: bytes) -> None:
        self._add(t, src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)

    def tcp_session(self, t: float, dst: str, dport: int, sport: int, exchanges: list[tuple[str, bytes, float]],
                    src: str = VEHICLE, rtt: float = 0.04, close: bool = True) -> float:
        """Handshake, then each (side "up"/"down", payload, delay before it) with an ACK back,
        segmenting at 1400 bytes, then FIN both ways. Returns the time it ends."""
        seq = {"up": 1_000 + sport * 7, "down": 50_000 + dport * 3}
        ends = {"up": (src, sport, dst, dport), "down": (dst, dport, src, sport)}

        def segment(at: float, side: str, flags: int, payload: bytes = b"") -> None:
            other = "down" if side == "up" else "up"
            a, ap, b, bp = ends[side]
            header = struct.pack("!HHIIBBHHH", ap, bp, seq[side], seq[other], 5 << 4, flags, 64240, 0, 0)
            self._add(at, a, b, 6, header + payload)
            seq[side] = (seq[side] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF

        segment(t, "up", 0x02)
        segment(t + rtt / 2, "down", 0x12)
        segment(t + rtt, "up", 0x10)
        now = t + rtt
        for side, payload, delay in exchanges:
            now += delay
            for k in range(0, max(len(payload), 1), 1400):
                segment(now, side, 0x18, payload[k : k + 1400])
                now += 0.0005
            segment(now + rtt / 2, "down" if side == "up" else "up", 0x10)
        if close:
            now += 0.05
            segment(now, "up", 0x11)
            segment(now + rtt / 2, "down", 0x11)
            segment(now + rtt, "up", 0x10)
        return now + rtt

    def dns_lookup(self, t: float, name: str, addresses: list[str], ttl: int = 300, sport: int = 41000) -> None:
        qid = (sport * 31) & 0xFFFF
        qtype = 28 if ":" in addresses[0] else 1  # AAAA or A
        question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0" + struct.pack("!HH", qtype, 1)
        self.udp(t, VEHICLE, sport, RESOLVER, 53, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question)
        answers = b"".join(struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(packed)) + packed
                           for packed in (ipaddress.ip_address(a).packed for a in addresses))
        self.udp(t + 0.021, RESOLVER, 53, VEHICLE, sport,
                 struct.pack("!HHHHHH", qid, 0x8180, 1, len(addresses), 0, 0) + question + answers)

    def ntp(self, t: float, server: str, sport: int = 123) -> None:
        request = bytes([0x23]) + bytes(39) + struct.pack("!II", int(t) + 2_208_988_800, 0)
        self.udp(t, VEHICLE, sport, server, 123, request)
        self.udp(t + 0.03, server, 123, VEHICLE, sport, bytes([0x24, 2, 0, 0xE9]) + bytes(44))

    def write(self, path: Path) -> None:
        records = sorted(self.frames, key=lambda f: f[0])
        write_pcap(path, ((round(t * 1e9), data, len(data)) for t, data in records), LINKTYPE_ETHERNET)


# ------------------------------------------------------------------ payloads

def client_hello(server_name: str, seed: int = 0) -> bytes:
    """A TLS 1.3 ClientHello record: SNI, ALPN h2/http1.1, supported_versions, key_share."""
    rng = random.Random(seed)
    name = server_name.encode()
    sni = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    alpn_list = b"\x02h2\x08http/1.1"
    alpn = struct.pack("!HHH", 16, len(alpn_list) + 2, len(alpn_list)) + alpn_list
    versions = struct.pack("!HHB", 43, 3, 2) + b"\x03\x04"
    key = bytes(rng.getrandbits(8) for _ in range(32))
    key_share = struct.pack("!HHHHH", 51, 38, 36, 0x001D, 32) + key
    groups = struct.pack("!HHH", 10, 4, 2) + b"\x00\x1d"
    sigs = struct.pack("!HHH", 13, 8, 6) + b"\x04\x03\x08\x04\x04\x01"
    extensions = sni + alpn + versions + key_share + groups + sigs
    random_bytes = bytes(rng.getrandbits(8) for _ in range(32))
    session = bytes(rng.getrandbits(8) for _ in range(32))
    body = (b"\x03\x03" + random_bytes + bytes([32]) + session + b"\x00\x06\x13\x01\x13\x02\x13\x03" + b"\x01\x00"
            + struct.pack("!H", len(extensions)) + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def server_hello_flight(seed: int = 0) -> bytes:
    """What a TLS 1.3 server answers, as opaque records (ServerHello + encrypted flight)."""
    rng = random.Random(seed + 1000)
    hello = b"\x16\x03\x03" + struct.pack("!H", 90) + bytes(rng.getrandbits(8) for _ in range(90))
    return hello + b"\x14\x03\x03\x00\x01\x01" + app_data(2400, seed + 2000)


def app_data(size: int, seed: int = 0) -> bytes:
    """TLS application-data records carrying ``size`` bytes of ciphertext."""
    rng = random.Random(seed)
    out = b""
    while size > 0:
        n = min(size, 16_384)
        out += b"\x17\x03\x03" + struct.pack("!H", n) + rng.randbytes(n)
        size -= n
    return out


def http_post(host: str, path: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tbox/4.2\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def rtp_h264(seq: int, timestamp: int, ssrc: int, nal_type: int, size: int, rng: random.Random) -> bytes:
    marker = 0x80 if nal_type in (1, 5) else 0
    header = struct.pack("!BBHII", 0x80, marker | 96, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    return header + bytes([0x60 | nal_type]) + rng.randbytes(size - 13)


def rtsp_push(url: str, session: str) -> list[tuple[str, bytes, float]]:
    sdp = (b"v=0\r\no=- 0 0 IN IP4 192.168.50.2\r\ns=dashcam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
           b"a=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n")
    announce = (f"ANNOUNCE {url} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
                f"Content-Length: {len(sdp)}\r\n\r\n").encode() + sdp
    setup = f"SETUP {url}/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n".encode()
    record = f"RECORD {url} RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\nRange: npt=0.000-\r\n\r\n".encode()
    ok = lambda cseq: f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n".encode()
    return [("up", announce, 0.01), ("down", ok(1), 0.04), ("up", setup, 0.01), ("down", ok(2), 0.04),
            ("up", record, 0.01), ("down", ok(3), 0.04)]


def rtmp_publish(app: str, stream: str, rng: random.Random) -> list[tuple[str, bytes, float]]:
    c0c1 = b"\x03" + bytes(8) + rng.randbytes(1528)
    s0s1s2 = b"\x03" + rng.randbytes(3072)
    c2 = rng.randbytes(1536)

    def amf_string(text: str) -> bytes:
        return b"\x02" + struct.pack("!H", len(text)) + text.encode()

    connect = amf_string("connect") + b"\x00" + struct.pack("!d", 1) + b"\x03" + \
        struct.pack("!H", 3) + b"app" + amf_string(app) + b"\x00\x00\x09"
    publish = amf_string("publish") + b"\x00" + struct.pack("!d", 5) + b"\x05" + amf_string(stream) + amf_string("live")

    def chunk(csid: int, body: bytes, stream_id: int = 0) -> bytes:
        return bytes([csid]) + b"\x00\x00\x00" + len(body).to_bytes(3, "big") + b"\x14" + struct.pack("<I", stream_id) + body

    return [("up", c0c1, 0.01), ("down", s0s1s2, 0.05), ("up", c2, 0.01), ("up", chunk(3, connect), 0.01),
            ("down", rng.randbytes(200), 0.05), ("up", chunk(8, publish, 1), 0.02), ("down", rng.randbytes(120), 0.05)]


def gbt32960_realtime(vin: str, t: float, lat: float, lon: float, speed_kmh: float, soc: int) -> bytes:
    """A GB/T 32960.3-2016 real-time report (0x02) with whole-vehicle data and the position."""
    import datetime as dt

    moment = dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=8)))
    clock = bytes([moment.year - 2000, moment.month, moment.day, moment.hour, moment.minute, moment.second])
    vehicle = bytes([0x01, 0x01, 0x03, 0x01]) + struct.pack("!HIHHB", int(speed_kmh * 10), 123_456, 3800, 1200, soc) + \
        bytes([0x01, 0x00]) + struct.pack("!H", 2500) + bytes([0x00, 0x00])
    hemisphere = (0x2 if lat < 0 else 0) | (0x4 if lon < 0 else 0)  # status: bit 1 south, bit 2 west
    position = b"\x05" + bytes([hemisphere]) + struct.pack("!II", round(abs(lon) * 1e6), round(abs(lat) * 1e6))
    unit = clock + b"\x01" + vehicle + position
    body = b"\x02\xfe" + vin.encode() + b"\x01" + struct.pack("!H", len(unit)) + unit
    return b"##" + body + bytes([xor_check(body)])


def isotp(can_id: int, payload: bytes, pad: int = 0xAA) -> list[tuple[int, bytes]]:
    """ISO 15765-2 frames: single frame, or first frame + consecutive frames."""
    if len(payload) <= 7:
        return [(can_id, (bytes([len(payload)]) + payload).ljust(8, bytes([pad])))]
    frames = [(can_id, bytes([0x10 | (len(payload) >> 8), len(payload) & 0xFF]) + payload[:6])]
    rest, index = payload[6:], 1
    while rest:
        frames.append((can_id, (bytes([0x20 | (index & 0x0F)]) + rest[:7]).ljust(8, bytes([pad]))))
        rest, index = rest[7:], index + 1
    return frames


__all__ = ["T0", "VEHICLE", "VIN", "CanLog", "Capture", "Track", "app_data", "client_hello", "drive", "gateway_frames",
           "gbt32960_realtime", "http_post", "isotp", "jt808_frame", "jt808_location", "rtmp_publish", "rtp_h264", "rtsp_push",
           "server_hello_flight"]


# ------------------------------------------------------------------ pieces several scenarios use

def drive_log(folder: Path, seconds: int, seed: int, stops: tuple = (), camera=lambda t: False,
              start: tuple[float, float] = MUNICH) -> Track:
    """A drive of ``seconds`` from ``start`` with its gateway CAN log written to folder/can.log."""
    track = drive(seconds, stops=stops, seed=seed, start=start)
    log = CanLog()
    gateway_frames(log, track, camera=camera)
    log.write(folder / "can.log")
    return track


def jt808_reports(track: Track, start: float, count: int, every: float = 10.0) -> list[tuple[str, bytes, float]]:
    """A tracker's JT/T 808 location reports of the vehicle's position, one every ``every`` s."""
    out = []
    for k in range(count):
        lat, lon = track.at(start + every * k)
        out.append(("up", jt808_location(lat, lon, k), every if k else 0.01))
    return out


def rtp_video(cap: Capture, start: float, end: float, dst: str, sport: int, ssrc: int, rng: random.Random,
              seq: int = 1000) -> None:
    """RTP H.264 at 25 frames/s (about 1.5 Mbit/s): SPS/PPS and an IDR every 2 s, 5-10 packets a frame."""
    frame, t = 0, start
    while t < end:
        idr = frame % 50 == 0
        for n, nal in enumerate(([7, 8] if idr else []) + [5 if idr else 1] * (8 if idr else 5)):
            cap.udp(t + n * 0.0008, VEHICLE, sport, dst, 5004,
                    rtp_h264(seq, frame * 3600, ssrc, nal, 60 if nal in (7, 8) else 1200, rng))
            seq += 1
        frame, t = frame + 1, t + 0.04


def mapping_uploads(track: Track, server_name: str, seed: int, rng: random.Random,
                    bytes_per_km: int = 30_000) -> list[tuple[str, bytes, float]]:
    """TLS to ``server_name``, then every 5 s an upload of what the last 5 s of driving mapped."""
    out = [("up", client_hello(server_name, seed), 0.01), ("down", server_hello_flight(seed), 0.05)]
    last, seconds = 0.0, int(track.ts[-1] - track.ts[0])
    for second in range(10, seconds, 5):
        i = second * 10
        km = float(track.odometer_km[i] - track.odometer_km[max(0, i - 50)])
        if km > 0.001:
            out += [("up", app_data(int(km * bytes_per_km) + rng.randint(0, 200), seed + second), second - last),
                    ("down", app_data(40, seed + 5000 + second), 0.07)]
            last = second + 0.07
    return out


RECORD_BYTES = 1400  # a mapping upload's records: about one TCP segment each


def _records(rng: random.Random, count: int, seed: int) -> bytes:
    """``count`` TLS records of about RECORD_BYTES of ciphertext each, sent back to back."""
    return b"".join(app_data(RECORD_BYTES + rng.randint(-100, 100), seed + k) for k in range(count))


def _upload_steps(track: Track, server_name: str, seed: int, rng: random.Random,
                  uploads: list[tuple[int, int]], begin_s: float) -> list[tuple[str, bytes, float]]:
    """TLS to ``server_name`` ``begin_s`` after the track's start, then at each (sample index,
    record count) an upload and a small acknowledgement (none before the handshake)."""
    out = [("up", client_hello(server_name, seed), 0.01), ("down", server_hello_flight(seed), 0.05)]
    last = 0.06
    for i, count in uploads:
        second = float(track.ts[i] - track.ts[0]) - begin_s
        if second <= last:
            continue
        out += [("up", _records(rng, count, seed + 7 * i), second - last), ("down", app_data(40, seed + 5000 + i), 0.07)]
        last = second + 0.07
    return out


def uploads_per_distance(track: Track, server_name: str, seed: int, rng: random.Random, every_m: float,
                         records: int, begin_s: float = 4.0) -> list[tuple[str, bytes, float]]:
    """A mapping upload each time the odometer passes another ``every_m`` metres: ``records`` TLS
    records of about 1.4 KB. Nothing while parked: the odometer does not move."""
    marks = np.floor((track.odometer_km - track.odometer_km[0]) * 1000 / every_m)
    crossings = np.flatnonzero(np.diff(marks) > 0) + 1
    return _upload_steps(track, server_name, seed, rng, [(int(i), records) for i in crossings], begin_s)


def uploads_per_time(track: Track, server_name: str, seed: int, rng: random.Random, every_s: float,
                     bytes_per_km: int, begin_s: float = 4.0) -> list[tuple[str, bytes, float]]:
    """Every ``every_s`` seconds while the vehicle moves, an upload of what it mapped since the
    last one (``bytes_per_km`` of the distance, in records of about 1.4 KB); none while parked."""
    hz = (len(track.ts) - 1) / float(track.ts[-1] - track.ts[0])
    uploads, last = [], 0
    for i in range(int(every_s * hz), len(track.ts), max(int(every_s * hz), 1)):
        km = float(track.odometer_km[i] - track.odometer_km[last])
        if track.speed_kmh[i] > 0.5 and km > 0.001:
            uploads.append((i, max(1, round(km * bytes_per_km / RECORD_BYTES))))
            last = i
    return _upload_steps(track, server_name, seed, rng, uploads, begin_s)


def tls_telemetry(server_name: str, seed: int, rng: random.Random, count: int, every: float = 30.0) -> list[tuple[str, bytes, float]]:
    """A long-lived TLS connection with a telemetry upload every ``every`` s (with jitter)."""
    out = [("up", client_hello(server_name, seed), 0.01), ("down", server_hello_flight(seed), 0.05)]
    for k in range(count):
        out += [("up", app_data(rng.randint(700, 1100), seed * 100 + k), every + rng.uniform(-2, 2)),
                ("down", app_data(90, seed * 100 + 50 + k), 0.08)]
    return out


def doip(payload_type: int, body: bytes) -> bytes:
    """A DoIP (ISO 13400-2, version 2) message."""
    return b"\x02\xfd" + struct.pack(">HI", payload_type, len(body)) + body


def many_alerts(folder: Path, count: int = 1500) -> Path:
    """A capture that makes an alert record every few milliseconds of replay: JT/T 808 position
    reports from the vehicle to ``count`` different servers, a second apart."""
    cap = Capture()
    for i in range(count):
        server = f"198.{18 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF}"
        cap.udp(1.7e9 + i, VEHICLE, 40000 + i % 20000, server, 7000, jt808_location(48.1 + i * 1e-4, 11.5, i))
    path = folder / "many-alerts.pcap"
    cap.write(path)
    return path
