"""The episodes of a generated drive: each one a kind of traffic to a destination of its own
(random address, port and name), with the alert category it must raise, or none for the
benign ones. Every builder takes the drive (track, capture, random source) and adds packets.
"""

from __future__ import annotations

import ipaddress
import math
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

from . import frames
from .scene import (
    VEHICLE,
    Capture,
    Track,
    app_data,
    client_hello,
    http_post,
    server_hello_flight,
    uploads_per_distance,
    uploads_per_time,
)

RESERVED_FIRST_OCTETS = {0, 10, 100, 127, 169, 172, 192, 198, 203, 224}
MAPPING_BEGIN_S = 4.0  # a mapping episode's first connection opens this long after the drive's start


@dataclass
class Episode:
    kind: str
    category: str | None  # the alert it must raise; None: benign, it must raise none
    address: str
    port: int
    start: float
    name: str | None = None
    end: float | None = None  # where an alert must fall in [start, end] (episodes on a shared destination)
    detail: str = ""  # how it was drawn, for the report (an upload period, a beacon's period)
    period: float | None = None  # a beacon's period, or the time from a mapping's first upload to its second, s:
                                 # its time to first alert depends on it
    also: tuple[str, ...] = ()  # other categories its traffic truly carries (an IMEI or VIN login): not false alerts


@dataclass
class Drive:
    track: Track
    cap: Capture
    rng: random.Random
    vin: str
    camera: tuple[float, float]  # seconds from the start while a camera is on
    fleet_domain: str  # the allowlisted telemetry backend's domain
    video_destination: tuple[str, str, int] | None = None  # (address, name, port) once the video episode is built

    @property
    def t0(self) -> float:
        return float(self.track.ts[0])

    @property
    def seconds(self) -> float:
        return float(self.track.ts[-1] - self.track.ts[0])

    def address(self) -> str:
        """A public address: IPv6 (2000::/3) one time in five, as on cellular networks that give both."""
        rng = self.rng
        if rng.random() < 0.2:
            return str(ipaddress.ip_address(bytes([0x20 | rng.randrange(16), rng.randrange(256)]) + rng.randbytes(14)))
        first = rng.choice([o for o in range(1, 224) if o not in RESERVED_FIRST_OCTETS])
        return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    def hostname(self, domain: str | None = None) -> str:
        label = lambda: "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(self.rng.randint(3, 9)))
        return f"{label()}.{domain or label() + '.' + self.rng.choice(('com', 'net', 'io', 'cn', 'ru', 'de'))}"

    def port(self) -> int:
        return self.rng.randint(1024, 65000)

    def sport(self) -> int:
        return self.rng.randint(32768, 60999)

    def when(self, earliest: float = 30, latest_before_end: float = 40) -> float:
        return self.t0 + self.rng.uniform(earliest, self.seconds - latest_before_end)

    def named(self, at: float, domain: str | None = None) -> tuple[str, str]:
        """A fresh address with a name the vehicle looks up just before ``at``."""
        address, name = self.address(), self.hostname(domain)
        self.cap.dns_lookup(at - 0.5, name, [address], ttl=self.rng.choice((60, 300, 3600)), sport=self.sport())
        return address, name


# ------------------------------------------------------------------ encrypted behaviour

def video(d: Drive) -> Episode:
    """Ciphertext at 0.4-2 Mbit/s while the camera is on: TLS over TCP, QUIC-like UDP, or spread
    over three parallel TLS connections (each of them may stay below the per-flow threshold)."""
    rng, (on, off) = d.rng, d.camera
    start, end, kbps = d.t0 + on + 1, d.t0 + off - 1, rng.uniform(400, 2000)
    address, name = d.named(start)
    port, shape = rng.choice((443, d.port())), rng.choice(("tls", "udp", "split"))
    connections = 3 if shape == "split" else 1
    chunk = int(kbps * 1000 / 8 / 10 / connections)
    if shape == "udp":
        sport, t, size = d.sport(), start, min(chunk, 1350)
        while t < end:
            d.cap.udp(t, VEHICLE, sport, address, port, bytes([0x40 | rng.getrandbits(6)]) + rng.randbytes(size))
            t += 0.1 * size / chunk
    for k in range(connections if shape != "udp" else 0):
        steps = [("up", client_hello(name, rng.getrandbits(16)), 0.01), ("down", server_hello_flight(), 0.05)]
        steps += [("up", app_data(chunk, rng.getrandbits(32)), 0.1) for _ in range(int((end - start) * 10))]
        d.cap.tcp_session(start + 0.03 * k, address, port, d.sport(), steps)
    d.video_destination = (address, name, port if shape != "udp" else 443)
    return Episode("video", "video", address, port, start, name, end=end + 5, detail=f"{shape}, {kbps:.0f} kbit/s")


def beacon(d: Drive) -> Episode:
    """Small uploads every 5-60 s with a few per cent of jitter, all drive long: TLS, or DTLS over UDP."""
    rng = d.rng
    start, period = d.t0 + rng.uniform(5, 60), rng.uniform(5, 60)
    address, name = d.named(start)
    port, size = rng.choice((443, 8883, d.port())), rng.randint(150, 900)
    count = int((d.t0 + d.seconds - start - 10) / period)
    if rng.random() < 0.3:
        sport, t = d.sport(), start
        for _ in range(count):
            d.cap.udp(t, VEHICLE, sport, address, port, b"\x17\xfe\xfd" + rng.randbytes(10) + rng.randbytes(size))
            t += period * rng.uniform(0.97, 1.03)
        return Episode("beacon", "geolocation", address, port, start, name, detail=f"DTLS, period {period:.1f} s", period=period)
    steps = [("up", client_hello(name, rng.getrandbits(16)), 0.01), ("down", server_hello_flight(), 0.05)]
    for _ in range(count):
        steps += [("up", app_data(size + rng.randint(-20, 20), rng.getrandbits(32)), period * rng.uniform(0.97, 1.03)),
                  ("down", app_data(40, rng.getrandbits(32)), 0.06)]
    d.cap.tcp_session(start, address, port, d.sport(), steps)
    return Episode("beacon", "geolocation", address, port, start, name, detail=f"TLS, period {period:.1f} s", period=period)


def _mapping_steps(d: Drive, name: str, per: str) -> tuple[list, str]:
    """An upload schedule ``per`` distance (every 50 m to 1 km, log-uniform, 5-10 records of about
    1.4 KB, at least 15 kB per km) or time (every 5-30 s while moving, 15-150 kB per km)."""
    rng, seed = d.rng, d.rng.getrandbits(16)
    if per == "distance":
        every = round(math.exp(rng.uniform(math.log(50), math.log(1000))))
        records = max(rng.randint(5, 10), math.ceil(15 * every / 1400))  # 15 kB/km: every/1000 km x 15000 B / 1400 B
        return (uploads_per_distance(d.track, name, seed, rng, every, records, MAPPING_BEGIN_S),
                f"every {every} m, {records} records")
    every_s, per_km = rng.uniform(5, 30), rng.randint(15_000, 150_000)
    return (uploads_per_time(d.track, name, seed, rng, every_s, per_km, MAPPING_BEGIN_S),
            f"every {every_s:.0f} s moving, {per_km // 1000} kB/km")


def _upload_at(d: Drive, steps: list, k: int) -> float | None:
    """When the schedule's ``k``-th upload (from 0) leaves: steps are the TLS handshake's two, then
    an upload and its acknowledgement each."""
    step = 2 + 2 * k
    return d.t0 + MAPPING_BEGIN_S + sum(delay for _, _, delay in steps[: step + 1]) if len(steps) > step else None


def _first_upload(d: Drive, steps: list) -> float:
    first = _upload_at(d, steps, 0)
    return d.t0 + d.seconds if first is None else first


def _mapping_to(d: Drive, kind: str, address: str, name: str, port: int, per: str) -> Episode:
    """The uploads on one connection, or a new connection for every upload; the episode starts
    with the first upload and lasts the drive."""
    steps, detail = _mapping_steps(d, name, per)
    if d.rng.random() < 0.5:
        d.cap.tcp_session(d.t0 + MAPPING_BEGIN_S, address, port, d.sport(), steps)
    else:
        t, hello = d.t0 + MAPPING_BEGIN_S, steps[:2]
        for side, payload, delay in steps[2:]:
            t += delay
            if side == "up":
                d.cap.tcp_session(t, address, port, d.sport(), [*hello, ("up", payload, 0.01)])
        detail += ", a connection each"
    start, second = _first_upload(d, steps), _upload_at(d, steps, 1)
    return Episode(kind, "mapping", address, port, start, name, end=d.t0 + d.seconds + 5, detail=detail,
                   period=None if second is None else round(second - start, 3))


def mapping(per: str) -> Callable[[Drive], Episode]:
    """TLS uploads that follow the distance driven, none while parked, to a destination of their own."""
    def build(d: Drive) -> Episode:
        address, name = d.named(d.t0 + MAPPING_BEGIN_S - 1)
        return _mapping_to(d, f"mapping:{per}", address, name, d.rng.choice((443, d.port())), per)
    return build


def mapping_beside_video(d: Drive) -> Episode:
    """Mapping uploads to the video episode's destination (per distance or time): two episodes
    on one address, each with its own category and span."""
    if d.video_destination is None:
        raise ValueError("mapping_beside_video needs the video episode built first")
    address, name, port = d.video_destination
    return _mapping_to(d, "mapping:video-destination", address, name, port, d.rng.choice(("distance", "time")))


# ------------------------------------------------------------------ the position or the VIN in plaintext

def _send(d: Drive, at: float, payloads: list[bytes], every: float = 0.0, http_host: str | None = None) -> tuple[str, int]:
    """The payloads to a fresh destination, over TCP (raw or as HTTP POSTs) or UDP."""
    address, port, rng = d.address(), d.port(), d.rng
    if http_host is None and rng.random() < 0.3:
        for k, payload in enumerate(payloads):
            d.cap.udp(at + k * every, VEHICLE, d.sport(), address, port, payload)
        return address, port
    if http_host:
        payloads = [http_post(http_host, "/" + d.hostname().split(".")[0], p, "application/octet-stream") for p in payloads]
    d.cap.tcp_session(at, address, port, d.sport(), [("up", p, every if k else 0.01) for k, p in enumerate(payloads)])
    return address, port


def taint(encoding: str) -> Callable[[Drive], Episode]:
    def build(d: Drive) -> Episode:
        rng, at = d.rng, d.when()
        lat, lon = d.track.fix_at(at)
        if encoding == "text":
            body = frames.text_position(rng, lat, lon)
        elif encoding == "nmea":
            body = frames.vendor_nmea(rng, lat, lon)
        else:
            body = frames.binary_position(rng, encoding, lat, lon)
        host = d.hostname() if encoding in ("text", "nmea") and rng.random() < 0.5 else None
        address, port = _send(d, at, [body], http_host=host)
        return Episode(f"taint:{encoding}", "geolocation", address, port, at)
    return build


def vin_leak(d: Drive) -> Episode:
    rng, at = d.rng, d.when()
    key = "".join(rng.choice("abcdefghkmnpqrstuvwxyz") for _ in range(rng.randint(2, 6)))
    body = (f'{{"{key}":"{d.vin}","fw":"{rng.randint(1, 9)}.{rng.randint(0, 99)}"}}'.encode() if rng.random() < 0.5
            else rng.randbytes(rng.randint(4, 30)) + d.vin.encode() + rng.randbytes(rng.randint(0, 30)))
    address, port = _send(d, at, [body], http_host=d.hostname() if rng.random() < 0.5 else None)
    return Episode("vin", "identity", address, port, at)


def plaintext(protocol: str) -> Callable[[Drive], Episode]:
    """A tracker's position reports in ``protocol``, 3-6 of them 10-30 s apart, on a random port."""
    def build(d: Drive) -> Episode:
        rng, at = d.rng, d.when(latest_before_end=200)
        every, imei = rng.uniform(10, 30), str(rng.randint(10**14, 10**15 - 1))
        host = d.hostname()
        reports = []
        for k in range(rng.randint(3, 6)):
            t = at + k * every
            reports.append(position_report(protocol, *d.track.fix_at(t), t, k + 1, imei, host, d.vin))
        if protocol == "teltonika":
            reports.insert(0, struct.pack(">H", 15) + imei.encode())
        address, port = d.address(), d.port()
        if protocol in ("queclink", "taip", "nmea") and rng.random() < 0.5:
            sport = d.sport()
            for k, report in enumerate(reports):
                d.cap.udp(at + k * every, VEHICLE, sport, address, port, report)
        else:
            d.cap.tcp_session(at, address, port, d.sport(), [("up", r, every if k else 0.01) for k, r in enumerate(reports)])
        return Episode(f"plaintext:{protocol}", "geolocation", address, port, at, also=IDENTIFIED.get(protocol, ()))
    return build


# Trackers whose reports carry the vehicle's identity (an IMEI login or field, the VIN): an
# identity alert on them is true.
IDENTIFIED = {p: ("identity",) for p in ("teltonika", "gbt32960", "queclink", "osmand")}


def position_report(protocol: str, lat: float, lon: float, t: float, serial: int, imei: str, host: str, vin: str) -> bytes:
    """One position report of a tracker speaking ``protocol``."""
    if protocol == "jt808":
        return frames.jt808(lat, lon, t, serial)
    if protocol == "gbt32960":
        return frames.gbt32960(lat, lon, t, vin, 50.0)
    if protocol == "teltonika":
        return frames.teltonika(lat, lon, t)
    if protocol == "gt06":
        return frames.gt06(lat, lon, t, serial)
    if protocol == "queclink":
        return frames.queclink(lat, lon, t, imei)
    if protocol == "taip":
        return frames.taip(lat, lon, t, imei[-4:])
    if protocol == "osmand":
        return frames.osmand(lat, lon, t, imei, host)
    return frames.nmea_rmc(lat, lon, t)
