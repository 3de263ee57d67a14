"""Teltonika codec 8 / 8 Extended / 16 AVL packets (TCP and UDP) and the IMEI login.

TCP: ``00000000 | u32 length | codec | count | records | count | u32 CRC-16/IBM``.
UDP: ``u16 length | u16 packet id | u8 | u8 AVL id | u16 IMEI length | IMEI | codec ...``.
A record: u64 ms time, u8 priority, i32 longitude x1e7, i32 latitude x1e7, i16 altitude,
u16 angle, u8 satellites, u16 speed, then the IO element (layout depends on the codec).
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..finding import Position
from . import downlink
from .match import Match, crc16_reflected, position_confidence, u16, u32

COMMAND_CODECS = (0x0C, 0x0E)  # GPRS commands: codec 12, codec 14 (with the IMEI)
CODECS = {0x08: "codec 8", 0x8E: "codec 8 extended", 0x10: "codec 16"}
VIN_IO = (256, 325)
EPOCH_2000_MS, EPOCH_2100_MS = 946_684_800_000, 4_102_444_800_000


def parse(payload: bytes) -> list[Match]:
    if len(payload) == 17 and payload[:2] == b"\x00\x0f" and payload[2:].isdigit():
        return [Match("identity", "teltonika", "IMEI login", 0.8, [], {"imei": payload[2:].decode()})]
    if payload[:4] == b"\x00\x00\x00\x00" and len(payload) >= 12:
        size = u32(payload, 4)
        crc_ok = len(payload) >= 12 + size and crc16_reflected(payload[8 : 8 + size], 0xA001) == u32(payload, 8 + size) & 0xFFFF
        if len(payload) > 8 and payload[8] in COMMAND_CODECS:
            return downlink.teltonika_command(payload[8 : 8 + size], {"frame": "tcp", "crc_ok": crc_ok})
        return _avl(payload[8:], {}, {"frame": "tcp", "crc_ok": crc_ok})
    imei_len = u16(payload, 6)
    if len(payload) > 8 + imei_len and imei_len == 15 and payload[8:23].isdigit():
        return _avl(payload[23:], {"imei": payload[8:23].decode()}, {"frame": "udp"})
    return []


def _avl(data: bytes, identity: dict, evidence: dict) -> list[Match]:
    codec, count = data[0], data[1] if len(data) > 1 else 0
    if codec not in CODECS or count == 0:
        return []
    positions, vin, at = [], None, 2
    for _ in range(count):
        if at + 24 > len(data):
            break
        millis = int.from_bytes(data[at : at + 8], "big")
        if not EPOCH_2000_MS <= millis <= EPOCH_2100_MS:
            break  # not a record start: the IO walk lost step (vendor IO layouts), keep what we have
        time = datetime.fromtimestamp(millis / 1000, timezone.utc)
        lon = int.from_bytes(data[at + 9 : at + 13], "big", signed=True) / 1e7
        lat = int.from_bytes(data[at + 13 : at + 17], "big", signed=True) / 1e7
        positions.append(Position(lat, lon, time.isoformat().replace("+00:00", "Z")))
        at, found_vin = _skip_io(data, at + 24, codec)
        vin = vin or found_vin
        if at < 0:
            break
    if vin:
        identity = {**identity, "vin": vin}
    confidence = position_confidence(positions, 0.95, evidence.get("crc_ok"))
    return [Match("geolocation", "teltonika", f"AVL data {CODECS[codec]}", confidence, positions, identity,
                  {**evidence, "codec": f"0x{codec:02x}", "records": count})]


def _skip_io(data: bytes, at: int, codec: int) -> tuple[int, str | None]:
    """Offset after one record's IO element (-1 if it runs off the end), and a VIN if present."""
    wide = codec == 0x8E  # codec 8E: u16 ids and counts
    id_size = 2 if codec in (0x8E, 0x10) else 1
    count_size = 2 if wide else 1
    at += (2 if codec == 0x10 else id_size) + (1 if codec == 0x10 else 0) + count_size  # event id (+gen), total
    vin = None
    for width in (1, 2, 4, 8):
        n = int.from_bytes(data[at : at + count_size], "big")
        at += count_size + n * (id_size + width)
    if wide and at + 2 <= len(data):
        n, at = u16(data, at), at + 2
        for _ in range(n):
            io_id, size = u16(data, at), u16(data, at + 2)
            value = data[at + 4 : at + 4 + size]
            if io_id in VIN_IO and len(value) == 17 and value.isalnum():
                vin = value.decode()
            at += 4 + size
    return (at if at <= len(data) else -1), vin

