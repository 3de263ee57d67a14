"""GB/T 32960.3 frames (2016 "##", 2025 "$$"): VIN in every header, position in the
real-time (0x02) and reissue (0x03) reports.

The data unit after the 6-byte time is a run of typed items whose lengths the standard fixes;
the walk stops at the first item it cannot size. If the walk never reaches the position item
(0x05), a scan for a well-formed position item takes over at a lower confidence.
"""

from __future__ import annotations

from ..finding import Position
from . import downlink
from .match import CHINA, Match, binary_time, checked, each_frame, u16, u32

COMMANDS = {0x01: "vehicle login", 0x02: "real-time report", 0x03: "reissue report", 0x04: "vehicle logout",
            0x07: "heartbeat", 0x08: "time sync"}
POSITION_ITEM = 0x05


def parse(payload: bytes) -> list[Match]:
    return each_frame(payload, (b"##", b"$$"), _frame)


def _frame(f: bytes) -> Match | None:
    if len(f) < 25:
        return None
    command, vin = f[2], f[4:21]
    if not all(48 <= b < 91 for b in vin):
        return None
    edition = "2025" if f[0] == 0x24 else "2016"
    size = u16(f, 22)
    unit = f[24 : 24 + size]
    bcc_ok = len(f) > 24 + size and _xor(f[2 : 24 + size]) == f[24 + size]
    identity = {"vin": vin.decode("ascii")}
    evidence = {"command": f"0x{command:02x}", "edition": edition, "encryption": f"0x{f[21]:02x}", "bcc_ok": bcc_ok,
                "uplink": f[3] == 0xFE}
    if command in downlink.GBT32960_COMMANDS:
        return downlink.gbt32960_command(command, unit, identity, evidence)
    seen = f"{COMMANDS.get(command, 'command')} 0x{command:02x}"
    if command not in (0x02, 0x03) or f[21] != 0x01:
        return Match("identity", "gbt32960", seen, checked(0.9, bcc_ok), [], identity, evidence)
    time = binary_time(unit[:6], CHINA)
    position, walked = _walk(unit, edition)
    if position is None and not walked:
        position = _scan(unit, edition)
        evidence["position_by_scan"] = position is not None
    positions = [Position(position[0], position[1], time)] if position else []
    confidence = checked(0.95 if walked else 0.8, bcc_ok) if positions else 0.6
    return Match("geolocation", "gbt32960", seen, confidence, positions, identity, evidence)


def _walk(unit: bytes, edition: str) -> tuple[tuple[float, float] | None, bool]:
    """(position, reached): position from item 0x05 if the walk got there."""
    at = 6
    while at < len(unit):
        kind = unit[at]
        if kind == POSITION_ITEM:
            return _position(unit, at + 1, edition), True
        try:
            size = _item_size(unit, at, edition)
        except IndexError:  # an item's count runs past the data: the walk cannot go on
            size = None
        if size is None:
            return None, False
        at += size
    return None, False


def _item_size(unit: bytes, at: int, edition: str) -> int | None:
    kind = unit[at]
    fixed = {0x01: 21, 0x04: 6, 0x06: 15} if edition == "2016" else {0x01: 21, 0x04: 6}
    if kind in fixed:
        return fixed[kind]
    if kind == 0x02 and edition == "2016":
        return 2 + 12 * unit[at + 1]
    if kind == 0x07 and edition == "2016":
        return _alarm_size(unit, at)
    if kind == 0x08 and edition == "2016":
        return _voltage_size(unit, at)
    if kind == 0x09 and edition == "2016":
        return _temperature_size(unit, at)
    if kind >= 0x80 and at + 3 <= len(unit):
        return 3 + u16(unit, at + 1)
    return None


def _alarm_size(unit: bytes, at: int) -> int:
    pos = at + 1 + 1 + 4  # type, level, general flags
    for _ in range(4):  # battery, motor, engine, other fault lists
        pos += 1 + 4 * unit[pos] if pos < len(unit) else 0
    return pos - at


def _voltage_size(unit: bytes, at: int) -> int:
    pos = at + 2
    for _ in range(unit[at + 1]):
        if pos + 10 > len(unit):
            break
        pos += 10 + 2 * unit[pos + 9]
    return pos - at


def _temperature_size(unit: bytes, at: int) -> int:
    pos = at + 2
    for _ in range(unit[at + 1]):
        pos += 3 + u16(unit, pos + 1)
    return pos - at


def _position(unit: bytes, at: int, edition: str) -> tuple[float, float] | None:
    status = unit[at] if at < len(unit) else 0xFF
    at += 2 if edition == "2025" else 1  # 2025 adds a coordinate-system byte
    raw_lon, raw_lat = u32(unit, at), u32(unit, at + 4)
    if len(unit) < at + 8 or raw_lon >= 0xFFFFFFFE or raw_lat >= 0xFFFFFFFE or status > 7:
        return None
    lat = raw_lat / 1e6 * (-1 if status & 0x2 else 1)
    lon = raw_lon / 1e6 * (-1 if status & 0x4 else 1)
    return (lat, lon) if lat <= 90 and lon <= 180 else None


def _scan(unit: bytes, edition: str) -> tuple[float, float] | None:
    at = unit.find(bytes([POSITION_ITEM]), 6)
    while at >= 0:
        found = _position(unit, at + 1, edition)
        if found:
            return found
        at = unit.find(bytes([POSITION_ITEM]), at + 1)
    return None


def _xor(raw: bytes) -> int:
    value = 0
    for b in raw:
        value ^= b
    return value
