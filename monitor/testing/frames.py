"""Wire bytes for the detection benchmark's generated drives: each plaintext telematics protocol's
position report, the downlink commands that reach into a vehicle, and the taint encodings of a
position, all for any point on Earth (hemisphere flags where the format has them).

Layouts follow ../shared/docs/telematics-wire-formats.md; checksums and CRCs are filled in, so a
parser that checks them is exercised as on real devices.
"""

from __future__ import annotations

import random
import struct
from datetime import datetime, timezone

from ..detect.wire.match import crc16_reflected
from .drive import xor_check
from .scene import gbt32960_realtime, jt808_frame


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


# ------------------------------------------------------------------ position reports (uplink)

def jt808(lat: float, lon: float, t: float, serial: int) -> bytes:
    status = 0x3 | (0x4 if lat < 0 else 0) | (0x8 if lon < 0 else 0)  # ACC on, fixed, S, W
    clock = bytes.fromhex(_utc(t + 8 * 3600).strftime("%y%m%d%H%M%S"))  # BCD, Beijing time
    body = struct.pack(">IIIIHHH", 0, status, round(abs(lat) * 1e6), round(abs(lon) * 1e6), 120, 500, 90) + clock
    return jt808_frame(0x0200, body, serial)


def gbt32960(lat: float, lon: float, t: float, vin: str, speed_kmh: float) -> bytes:
    frame = bytearray(gbt32960_realtime(vin, t, abs(lat), abs(lon), speed_kmh, 80))
    frame[-10] = (0x2 if lat < 0 else 0) | (0x4 if lon < 0 else 0)  # the position item ends the unit: 05 status lon lat
    frame[-1] = xor_check(bytes(frame[2:-1]))
    return bytes(frame)


def teltonika(lat: float, lon: float, t: float) -> bytes:
    record = struct.pack(">QBiihHBH", int(t * 1000), 0, round(lon * 1e7), round(lat * 1e7), 120, 90, 9, 50)
    record += bytes([0, 1, 1, 0x15, 3]) + bytes([0, 0, 0])  # event, total, one 1-byte IO, no 2/4/8-byte IO
    return _teltonika_packet(bytes([0x08, 1]) + record + bytes([1]))


def _teltonika_packet(data: bytes) -> bytes:
    """Preamble, data length, the data (codec id .. record count 2), CRC-16/IBM in a u32."""
    return bytes(4) + struct.pack(">I", len(data)) + data + struct.pack(">I", crc16_reflected(data, 0xA001))


def gt06(lat: float, lon: float, t: float, serial: int) -> bytes:
    course = 90 | 0x1000 | (0x400 if lat >= 0 else 0) | (0x800 if lon < 0 else 0)
    moment = _utc(t)
    gps = bytes([moment.year - 2000, moment.month, moment.day, moment.hour, moment.minute, moment.second, 0xC9])
    gps += struct.pack(">IIBH", round(abs(lat) * 1_800_000), round(abs(lon) * 1_800_000), 50, course)
    gps += struct.pack(">HBHI", 262, 1, 0x1234, 0x00ABCD)[:8]  # MCC, MNC, LAC, cell id
    return _gt06_packet(bytes([0x12]) + gps + struct.pack(">H", serial))


def _gt06_packet(body: bytes) -> bytes:
    """78 78, the length (protocol byte to CRC), the body (protocol .. serial), CRC-16/X-25, CR LF."""
    head = bytes([len(body) + 2]) + body
    return b"\x78\x78" + head + struct.pack(">H", crc16_reflected(head, 0x8408, 0xFFFF, 0xFFFF)) + b"\r\n"


def queclink(lat: float, lon: float, t: float, imei: str) -> bytes:
    clock = _utc(t).strftime("%Y%m%d%H%M%S")
    return (f"+RESP:GTFRI,DF0200,{imei},gv300,0,0,1,1,0.4,48,264.1,{lon:.6f},{lat:.6f},{clock},"
            f"0262,0001,1A2B,00C3D4,,{clock},0A1B$").encode()


def taip(lat: float, lon: float, t: float, ident: str) -> bytes:
    seconds = int(t) % 86400
    body = f">RPV{seconds:05d}{round(lat * 1e5):+08d}{round(lon * 1e5):+09d}03109012;ID={ident};*"
    return f"{body}{xor_check(body.encode()):02X}<".encode()


def osmand(lat: float, lon: float, t: float, ident: str, host: str) -> bytes:
    query = f"id={ident}&timestamp={int(t)}&lat={lat:.6f}&lon={lon:.6f}&speed=13.2&bearing=90&altitude=120"
    return f"GET /?{query} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Traccar Client\r\n\r\n".encode()


def nmea_rmc(lat: float, lon: float, t: float) -> bytes:
    moment = _utc(t)
    body = (f"GPRMC,{moment:%H%M%S}.00,A,{_dm(lat, 2)},{'N' if lat >= 0 else 'S'},{_dm(lon, 3)},"
            f"{'E' if lon >= 0 else 'W'},27.5,90.0,{moment:%d%m%y},,,A")
    return f"${body}*{xor_check(body.encode()):02X}\r\n".encode()


def vendor_nmea(rng: random.Random, lat: float, lon: float) -> bytes:
    """NMEA's ddmm.mmmm fields in a vendor's own framing (an id and a counter first), not a sentence."""
    return (f"{rng.randint(10**14, 10**15 - 1)},{rng.randint(0, 9999)},{_dm(lat, 2)},{'N' if lat >= 0 else 'S'},"
            f"{_dm(lon, 3)},{'E' if lon >= 0 else 'W'},{rng.randint(0, 120)}#").encode()


def _dm(value: float, width: int) -> str:
    degrees, minutes = divmod(abs(value) * 60, 60)
    return f"{int(degrees):0{width}d}{minutes:07.4f}"


# ------------------------------------------------------------------ commands into the vehicle (downlink)

def jt808_command(rng: random.Random, server: str, port: int) -> bytes:
    choice = rng.randrange(4)
    if choice == 0:
        return jt808_frame(0x8105, b"\x02" + f";{server};{port};;;;;".encode())
    if choice == 1:
        address = server.encode()
        body = bytes([2]) + struct.pack(">IB", 0x0013, len(address)) + address + struct.pack(">IBI", 0x0018, 4, port)
        return jt808_frame(0x8103, body)
    if choice == 2:
        return jt808_frame(0x8500, bytes([rng.choice((0x01, 0x02, 0x04))]))
    return jt808_frame(0x8202, struct.pack(">HI", 5, 3600))


def teltonika_command(rng: random.Random) -> bytes:
    text = rng.choice(("setdigout 1", "setdigout 01", "cpureset", "setparam 2004:fleet.example.net"))
    return _teltonika_packet(b"\x0c\x01\x05" + struct.pack(">I", len(text)) + text.encode() + b"\x01")


def gt06_command(rng: random.Random) -> bytes:
    text = rng.choice(("RELAY,1#", "DYD,123456#", "SERVER,1,203.0.113.5,5023,0#")).encode()
    info = bytes([4 + len(text)]) + struct.pack(">I", rng.getrandbits(32)) + text + b"\x00\x02"
    return _gt06_packet(bytes([0x80]) + info + struct.pack(">H", 7))


def gbt32960_command(rng: random.Random, vin: str, t: float) -> bytes:
    """Terminal control 0x82: a remote upgrade from a URL, or a terminal reset."""
    clock = bytes(int(x) for x in _utc(t + 8 * 3600).strftime("%y %m %d %H %M %S").split())
    control = b"\x01URL=ftp://update.example/fw.bin" if rng.random() < 0.5 else b"\x03"
    unit = clock + control
    body = b"\x82\xfe" + vin.encode() + b"\x01" + struct.pack(">H", len(unit)) + unit
    return b"##" + body + bytes([xor_check(body)])


# ------------------------------------------------------------------ taint encodings of a position

def text_position(rng: random.Random, lat: float, lon: float) -> bytes:
    """The position as decimal text under random keys, at 4-7 decimals, in one of three shapes."""
    digits = rng.randint(4, 7)
    keys = ["".join(rng.choice("abcdefghkmnpqrstuvwxyz") for _ in range(rng.randint(1, 5))) for _ in range(3)]
    a, b = f"{lat:.{digits}f}", f"{lon:.{digits}f}"
    shape = rng.randrange(3)
    if shape == 0:
        return f'{{"{keys[0]}":{{"{keys[1]}":{a},"{keys[2]}":{b}}},"seq":{rng.randint(1, 9999)}}}'.encode()
    if shape == 1:
        return f"{keys[0]}={a}&{keys[1]}={b}&{keys[2]}={rng.randint(1, 999)}".encode()
    return f"{rng.randint(1, 99)};{a};{b};{rng.randint(0, 360)}\n".encode()


FLOAT_FORMATS = {"float32-le": "<f", "float32-be": ">f", "float64-le": "<d", "float64-be": ">d"}


def binary_position(rng: random.Random, encoding: str, lat: float, lon: float) -> bytes:
    """Random bytes with the position in ``encoding`` inside, latitude or longitude first.
    ``int32`` is scaled by 1e6 or 1e7 in either byte order, drawn here."""
    if encoding == "int32":
        scale, order = rng.choice((1e6, 1e7)), rng.choice("<>")
        values = struct.pack(f"{order}i", round(lat * scale)), struct.pack(f"{order}i", round(lon * scale))
    else:
        fmt = FLOAT_FORMATS[encoding]
        values = struct.pack(fmt, lat), struct.pack(fmt, lon)
    first, second = values if rng.random() < 0.5 else values[::-1]
    return rng.randbytes(rng.randint(4, 40)) + first + rng.randbytes(rng.randint(0, 12)) + second + rng.randbytes(rng.randint(0, 40))
