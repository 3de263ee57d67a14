"""Concox/Jimi GT06 family: ``78 78 | u8 len | proto | info | serial | CRC-ITU | 0D 0A`` (or
``79 79`` with a u16 length). Location protocols carry a GPS block right after the protocol
byte: binary UTC date-time, GPS-length/satellites, latitude and longitude in degrees x
1 800 000, speed, course/status (bit 10 north, bit 11 west)."""

from __future__ import annotations

from ..finding import Position
from . import downlink
from .match import (
    Match,
    binary_time,
    checked,
    crc16_reflected,
    each_frame,
    position_confidence,
    u16,
    u32,
)

GPS_PROTOCOLS = {0x10, 0x11, 0x12, 0x16, 0x18, 0x19, 0x1A, 0x22, 0x26, 0x27, 0x28, 0x2D, 0x31, 0x32, 0x37, 0x38,
                 0xA0, 0xA2}
LOGIN = 0x01


def parse(payload: bytes) -> list[Match]:
    return each_frame(payload, (b"\x78\x78", b"\x79\x79"), _packet)


def _packet(p: bytes) -> Match | None:
    long_form = p[0] == 0x79
    size = u16(p, 2) if long_form else (p[2] if len(p) > 2 else 0)
    head = 4 if long_form else 3
    if len(p) < head + 1:
        return None
    proto = p[head]
    end = head + size  # index of the first stop byte
    framed = p[end : end + 2] == b"\r\n"
    crc_ok = framed and crc16_reflected(p[2:end - 2], 0x8408, 0xFFFF, 0xFFFF) == u16(p, end - 2) if framed else None
    evidence = {"protocol_number": f"0x{proto:02x}", "stop_ok": framed, "crc_ok": crc_ok}
    if proto == LOGIN and size >= 13:
        imei = p[head + 1 : head + 9].hex().lstrip("0")
        return Match("identity", "gt06", "login 0x01", checked(0.85, crc_ok), [], {"imei": imei}, evidence)
    if proto == downlink.ONLINE_COMMAND:
        return downlink.gt06_command(p[head + 1 : end - 4], evidence)
    if proto not in GPS_PROTOCOLS or len(p) < head + 18:
        return None
    gps = p[head + 1 :]
    time = binary_time(gps[:6])
    course = u16(gps, 16)
    lat = u32(gps, 7) / 1_800_000 * (1 if course & 0x400 else -1)
    lon = u32(gps, 11) / 1_800_000 * (-1 if course & 0x800 else 1)
    if time is None:  # overloaded protocol numbers: a block without a real date is not a fix
        return None
    positions = [Position(lat, lon, time)]
    confidence = position_confidence(positions, 0.95 if framed else 0.7, crc_ok)
    return Match("geolocation", "gt06", f"location 0x{proto:02x}", confidence, positions, {}, evidence)

