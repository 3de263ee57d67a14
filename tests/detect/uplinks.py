"""Drives for the beacon and mapping tests: a speed profile as the gateway's CAN log (speed and
odometer at 10 Hz, as the shipped DBC lays them out) and uploads over real TLS sessions
(monitor.testing.scene: handshake, ClientHello, records, acknowledgements)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from monitor.testing.scene import VEHICLE, Capture, app_data, client_hello, server_hello_flight

from ..builders import encode, gateway_db, packet, write_log, write_pcap

T0 = 1_700_000_000.0
HZ = 10
RECORD = 1400


def constant(kmh: float, seconds: int) -> np.ndarray:
    return np.full(seconds * HZ, float(kmh))


def profile(segments: list[tuple[float, float]]) -> np.ndarray:
    """(km/h, seconds) pieces, ramped at 2.5 m/s^2 from one to the next (starting from the first)."""
    target = np.concatenate([np.full(int(s * HZ), float(v)) for v, s in segments])
    speed, current = np.empty(len(target)), float(target[0])
    for i, goal in enumerate(target):
        current += float(np.clip(goal - current, -0.9, 0.9))  # 9 km/h per second at 10 Hz
        speed[i] = current
    return speed


def speed_log(path: Path, speeds: np.ndarray) -> Path:
    db, odometer, lines = gateway_db(), 1000.0, []
    for k, v in enumerate(speeds.tolist()):
        odometer += v / 3600 / HZ
        lines.append(encode(db, "GW_VehicleMotion", T0 + k / HZ, VehicleSpeed=round(v, 2), Odometer=round(odometer, 1), GearReverse=0))
    return write_log(path, lines)


def km_travelled(speeds: np.ndarray) -> np.ndarray:
    """km driven by each sample's time."""
    return np.cumsum(speeds) / 3600 / HZ


def per_distance(speeds: np.ndarray, every_m: float, records: int, begin_s: float = 5.0) -> list[tuple[float, int]]:
    """(time, bytes): ``records`` records each time another ``every_m`` metres are driven."""
    km, out, next_km = km_travelled(speeds), [], every_m / 1000
    for i in range(int(begin_s * HZ), len(km)):
        if km[i] >= next_km:
            out.append((T0 + i / HZ, records * RECORD))
            next_km += every_m / 1000
    return out


def per_time(speeds: np.ndarray, every_s: float, bytes_per_km: float, moving_only: bool = True) -> list[tuple[float, int]]:
    """(time, bytes) every ``every_s``: what was driven since the last one, at ``bytes_per_km``
    (at least one record); only while moving unless told."""
    km, out, last = km_travelled(speeds), [], 0
    for i in range(int(every_s * HZ), len(km), int(every_s * HZ)):
        if moving_only and speeds[i] < 1:
            continue
        out.append((T0 + i / HZ, max(RECORD, int((km[i] - km[last]) * bytes_per_km))))
        last = i
    return out


def tls_uploads(cap: Capture, address: str, uploads: list[tuple[float, int]], port: int = 443, sport: int = 45000,
                name: str = "ingest.example", opened: float | None = None, seed: int = 1) -> None:
    """One TLS connection, opened 2 s before the first upload unless told, carrying each upload as
    back-to-back records with a small answer."""
    rng = random.Random(seed)
    start = uploads[0][0] - 2 if opened is None else opened
    steps, now = [], start + 0.04  # Capture.tcp_session's clock: the handshake, then each step's delay and segments

    def step(side: str, payload: bytes, at: float) -> None:
        nonlocal now
        steps.append((side, payload, at - now))
        now = at + 0.0005 * max(1, -(-len(payload) // 1400))

    step("up", client_hello(name, seed), now + 0.01)
    step("down", server_hello_flight(seed), now + 0.05)
    for t, size in uploads:
        step("up", b"".join(app_data(min(RECORD, size - k), rng.getrandbits(32)) for k in range(0, size, RECORD)), t)
        step("down", app_data(40, rng.getrandbits(32)), now + 0.07)
    cap.tcp_session(start, address, port, sport, steps)


def udp_uploads(cap: Capture, address: str, uploads: list[tuple[float, int]], port: int = 7000, sport: int = 46000) -> None:
    for t, size in uploads:
        cap.udp(t, VEHICLE, sport, address, port, b"\x17\xfe\xfd" + bytes(10) + random.Random(int(t)).randbytes(size))


def by(findings: list, detector: str, address: str | None = None) -> list:
    return [f for f in findings if f.detector == detector and (address is None or f.flow["resp_h"] == address)]


def drive_park_drive(tmp_path: Path, size_at) -> tuple[Path, Path]:
    """A minute at 72 km/h, a minute parked, a minute at 72 km/h: the CAN log, and one TCP flow
    with ``size_at(second, moving)`` bytes half a second into each second (none when 0)."""
    speeds = np.concatenate([constant(72, 60), constant(0, 60), constant(72, 60)])
    uploads, seq = [], 1
    for second in range(180):
        size = size_at(second, not 60 <= second < 120)
        if size:
            uploads.append(packet(T0 + second + 0.5, bytes(size), dport=443, sport=40030, seq=seq))
            seq += size
    return speed_log(tmp_path / "can.log", speeds), write_pcap(tmp_path / "m.pcap", uploads)
