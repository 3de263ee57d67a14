"""SAE J2735 MessageFrame carrying a BasicSafetyMessage (UPER): ``00 14`` + length, then
3 preamble bits and the core data (msgCnt 7, id 32, secMark 16, lat 31 (+ -900000000),
long 32 (+ -1799999999), in 1e-7 degrees)."""

from __future__ import annotations

from ..finding import Position
from .match import Match

LAT_OFFSET, LON_OFFSET = -900_000_000, -1_799_999_999


def parse(payload: bytes) -> list[Match]:
    if payload[:2] != b"\x00\x14" or len(payload) < 3:
        return []
    size, at = payload[2], 3
    if size & 0x80:  # long form length (two bytes, top bits 10)
        if len(payload) < 4:
            return []
        size, at = ((payload[2] & 0x3F) << 8) | payload[3], 4
    body = payload[at : at + size]
    if len(body) < 16 or len(body) != size:  # the core data up to the longitude needs 121 bits
        return []
    bits = int.from_bytes(body, "big")
    total = len(body) * 8

    def field(start: int, width: int) -> int:
        return (bits >> (total - start - width)) & ((1 << width) - 1)

    lat = (field(3 + 7 + 32 + 16, 31) + LAT_OFFSET) / 1e7
    lon = (field(3 + 7 + 32 + 16 + 31, 32) + LON_OFFSET) / 1e7
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return []
    return [Match("geolocation", "j2735", "J2735 BasicSafetyMessage", 0.8, [Position(lat, lon)],
                  {"temporary_id": f"{field(10, 32):08x}"}, {"length": size})]
