"""A recorded drive for ``gatewatch bench daemon``: CAN on two buses and the uplink capture.

- bus ``telematics``: the gateway DBC's position, motion and sensor frames at their DBC cycle
  times (10 Hz, 5 Hz), the VIN once a second; the position moves along a road at the speed;
- bus ``chassis``: every message of the Tesla Model 3 party DBC at 10 Hz with random payloads
  (a busy bus, decoded with its own DBC list; range checks fire on it);
- the uplink: a TLS-like telemetry upload every second, a JT/T 808 position report every
  10 s with the CAN position, a 1 Mbit/s RTP video stream while the camera is on for two
  minutes, DNS lookups, and acknowledgements back.

Everything is built from seeds and written with numpy and struct: the same drive every time.
"""

from __future__ import annotations

import operator
import struct
from functools import reduce
from pathlib import Path

import numpy as np

from ..canbus.dbc import load_dbc
from ..detect.geo import normalize
from ..net.packets import LINKTYPE_ETHERNET
from ..net.pcapwriter import write_pcap
from ..resources import shipped

GATEWAY_DBC, CHASSIS_DBC = "dbc/gateway-telematics.dbc", "dbc/opendbc/tesla_model3_party.dbc"
VEHICLE, CLOUD, VIDEO = bytes([192, 168, 50, 2]), bytes([203, 0, 113, 9]), bytes([198, 51, 100, 7])
VIN = "WVWZZZ1JZXW000001"


def config_text() -> str:
    """The bench's configuration: the shipped default plus the two buses (chassis with its own DBC)."""
    return (f"version: 1\nextends: default\nsources:\n"
            f"  can:\n    - {{name: telematics, interface: virtual, channel: bench-telematics}}\n"
            f"    - {{name: chassis, interface: virtual, channel: bench-chassis, dbc: [{shipped(CHASSIS_DBC)}]}}\n")


START = (48.137154, 11.576124)  # Munich


def write_drive(directory: Path, seconds: int = 600, t0: float = 1_700_000_000.0,
                start: tuple[float, float] = START) -> tuple[Path, Path]:
    """The drive's CAN log and capture (made once: an existing pair is reused). A drive from
    elsewhere than Munich names its start in the file names."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"drive-{seconds}s" + ("" if start == START else f"-{start[0]:+.4f}{start[1]:+.4f}")
    log, capture = directory / f"{stem}.log", directory / f"{stem}.pcap"
    if not log.exists():
        _write_can(log, seconds, t0, start)
    if not capture.exists():
        _write_uplink(capture, seconds, t0, start)
    return log, capture


def _track(seconds: int, t0: float, hz: float, start: tuple[float, float] = START):
    """Due north from ``start`` (over the pole, if the drive gets there)."""
    ts = t0 + np.arange(0, seconds, 1 / hz)
    speed = 50 + 20 * np.sin(np.arange(len(ts)) / (hz * 60))  # km/h
    lat, lon = normalize(start[0] + np.cumsum(speed / 3600 / hz) / 111.0, np.full(len(ts), start[1]))
    return ts, speed, lat, lon


def _write_can(path: Path, seconds: int, t0: float, start: tuple[float, float], chassis_hz: int = 10) -> None:
    gateway, chassis = load_dbc(str(shipped(GATEWAY_DBC))), load_dbc(str(shipped(CHASSIS_DBC)))
    rows: list[tuple[float, str, int, bool, bytes]] = []
    ts, speed, lat, lon = _track(seconds, t0, 10, start)
    position, motion = gateway.get_message_by_name("GW_GNSS_Position"), gateway.get_message_by_name("GW_VehicleMotion")
    odometer = 12_000 + np.cumsum(speed / 36000)
    for i in range(len(ts)):
        rows.append((ts[i], "telematics", position.frame_id, False, position.encode({"Latitude": lat[i], "Longitude": lon[i]})))
        rows.append((ts[i] + 0.002, "telematics", motion.frame_id, False,
                     motion.encode({"VehicleSpeed": round(speed[i], 1), "Odometer": round(odometer[i], 1), "GearReverse": 0})))
    sensors = gateway.get_message_by_name("GW_Sensors")
    for t in np.arange(t0, t0 + seconds, 0.2):
        camera = int(120 <= t - t0 < 240)
        rows.append((t + 0.004, "telematics", sensors.frame_id, False,
                     sensors.encode({"CameraActive": camera, "LidarActive": 0, "CamerasStreaming": camera, "UplinkMode": 2})))
    vin = gateway.get_message_by_name("GW_VIN")
    for t in np.arange(t0, t0 + seconds, 1.0):
        for k in range(3):
            rows.append((t + 0.006 + 0.001 * k, "telematics", vin.frame_id, False,
                         bytes([k]) + VIN[7 * k : 7 * k + 7].ljust(7, "\0").encode()))
    rng = np.random.default_rng(7)
    for n, message in enumerate(chassis.messages):
        payloads = rng.integers(0, 256, (seconds * chassis_hz, message.length), dtype=np.uint8)
        for i, t in enumerate(t0 + 0.0001 * n + np.arange(seconds * chassis_hz) / chassis_hz):
            rows.append((t, "chassis", message.frame_id, message.is_extended_frame, payloads[i].tobytes()))
    rows.sort(key=lambda row: row[0])
    with path.open("w") as out:
        for t, bus, frame_id, extended, data in rows:
            out.write(f"({t:.6f}) {bus} {_ident(frame_id, extended)}#{data.hex().upper()}\n")


def _ident(frame_id: int, extended: bool) -> str:
    return f"{frame_id:08X}" if extended else f"{frame_id:03X}"


def _ether_ip(src: bytes, dst: bytes, proto: int, l4: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst)
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + l4


def _tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    return _ether_ip(src, dst, 6, struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload)


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    return _ether_ip(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


def xor_check(data: bytes) -> int:
    """The XOR of every byte: the check code of JT/T 808, GB/T 32960, NMEA and TAIP."""
    return reduce(operator.xor, data, 0)


def jt808_frame(msg_id: int, body: bytes, serial: int = 1, phone: str = "017051564189") -> bytes:
    """A JT/T 808 (2013) frame: header, body, XOR check code, escaped, between 7E delimiters."""
    frame = struct.pack(">HH", msg_id, len(body)) + bytes.fromhex(phone) + struct.pack(">H", serial) + body
    check = xor_check(frame)
    return b"\x7e" + (frame + bytes([check])).replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def jt808_location(lat: float, lon: float, serial: int) -> bytes:
    """A JT/T 808 0x0200 location report (escaped, with its check code) for this position: the
    magnitudes x1e6, the hemisphere in the status word (bit 2 south, bit 3 west)."""
    status = 0x3 | (0x4 if lat < 0 else 0) | (0x8 if lon < 0 else 0)  # ACC on, fixed, S, W
    body = struct.pack(">IIIIHHH", 0, status, int(abs(lat) * 1e6), int(abs(lon) * 1e6), 120, 500, 90) + bytes.fromhex("231122115639")
    return jt808_frame(0x0200, body, serial)


def _write_uplink(path: Path, seconds: int, t0: float, start: tuple[float, float]) -> None:
    records: list[tuple[float, bytes]] = []
    _, _, lat, lon = _track(seconds, t0, 10, start)
    seq_up, seq_down = 1000, 5000
    for s in range(seconds):
        t = t0 + s + 0.5
        payload = bytes([0x17, 3, 3]) + struct.pack(">H", 600) + bytes(600)  # TLS application data
        records.append((t, _tcp(VEHICLE, CLOUD, 41000, 443, seq_up, seq_down, 0x18, payload)))
        records.append((t + 0.03, _tcp(CLOUD, VEHICLE, 443, 41000, seq_down, seq_up + len(payload), 0x10, b"")))
        seq_up += len(payload)
        if s % 10 == 0:
            i = s * 10
            records.append((t + 0.1, _tcp(VEHICLE, CLOUD, 41001, 5015, 1 + s, 1, 0x18, jt808_location(lat[i], lon[i], s))))
        if s % 30 == 0:
            query = struct.pack(">HHHHHH", s, 0x0100, 1, 0, 0, 0) + b"\x05fleet\x07example\x00\x00\x01\x00\x01"
            records.append((t + 0.2, _udp(VEHICLE, bytes([192, 168, 50, 1]), 40000 + s, 53, query)))
    for k in range(max(0, min(seconds - 120, 120)) * 100):  # 100/s of 1200 bytes while the camera is on (t0+120 ..)
        t = t0 + 120 + k / 100
        header = struct.pack(">BBHII", 0x80, 96, k & 0xFFFF, k * 1800, 0x1234)
        records.append((t, _udp(VEHICLE, VIDEO, 42000, 5004, header + bytes([0x41]) + bytes(1199))))
    records.sort(key=lambda r: r[0])
    write_pcap(path, ((int(t * 1e9), data, len(data)) for t, data in records), LINKTYPE_ETHERNET)
