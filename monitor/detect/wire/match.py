"""What a wire parser reports, and small decoding helpers the parsers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..finding import Position

CHINA = timezone(timedelta(hours=8))  # JT/T 808 and GB/T 32960 times are GMT+8


@dataclass
class Match:
    category: str  # geolocation, video, mapping, identity
    protocol: str  # jt808, gbt32960, teltonika, ...
    seen: str  # what exactly: "location report 0x0200"
    confidence: float
    positions: list[Position] = field(default_factory=list)
    identity: dict = field(default_factory=dict)  # imei, vin, sim, device id
    evidence: dict = field(default_factory=dict)  # checksum verdicts, codec, destination...


def position_confidence(positions: list[Position], high: float, check_ok: bool | None = None) -> float:
    """A location message's confidence: high with a plausible fix, less without one or when
    the integrity check failed."""
    if not positions:
        return 0.6
    base = high if any(p.plausible for p in positions) else 0.6
    return checked(base, check_ok, 0.1)


def checked(confidence_ok: float, ok: bool | None, penalty: float = 0.15) -> float:
    """Confidence after an integrity check: unchanged if it passed or does not exist."""
    return confidence_ok if ok is None or ok else confidence_ok - penalty


def bcd(raw: bytes) -> str:
    return "".join(f"{b >> 4:x}{b & 0xF:x}" for b in raw)


def iso_time(year: int, month: int, day: int, hour: int, minute: int, second: float, tz=timezone.utc) -> str | None:
    """ISO 8601 UTC text, or None when the fields are not a real date (devices send zeros)."""
    try:
        whole = int(second)
        moment = datetime(year, month, day, hour, minute, whole, round((second - whole) * 1e6), tzinfo=tz)
    except (ValueError, OverflowError):
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def bcd_time(raw: bytes, tz=CHINA) -> str | None:
    """BCD YYMMDDhhmmss (JT/T 808) to ISO UTC."""
    digits = bcd(raw)
    if len(digits) != 12 or not digits.isdigit():
        return None
    y, mo, d, h, mi, s = (int(digits[i : i + 2]) for i in range(0, 12, 2))
    return iso_time(2000 + y, mo, d, h, mi, s, tz)


def binary_time(raw: bytes, tz=timezone.utc) -> str | None:
    """Six bytes YY MM DD hh mm ss as binary numbers (GT06, GB/T 32960)."""
    if len(raw) < 6:
        return None
    return iso_time(2000 + raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], tz)


def each_frame(payload: bytes, markers: tuple[bytes, ...], parse_one, limit: int = 16) -> list[Match]:
    """``parse_one`` at every place a frame marker starts, stepping over the marker each time
    (frames may be back to back or behind garbage); at most ``limit`` matches per payload."""
    out: list[Match] = []
    at = _first(payload, markers, 0)
    while at >= 0 and len(out) < limit:
        match = parse_one(payload[at:])
        if match:
            out.append(match)
        at = _first(payload, markers, at + len(markers[0]))
    return out


def _first(payload: bytes, markers: tuple[bytes, ...], at: int) -> int:
    hits = [i for i in (payload.find(m, at) for m in markers) if i >= 0]
    return min(hits) if hits else -1


def crc16_reflected(raw: bytes, poly: int, init: int = 0, xorout: int = 0) -> int:
    """A reflected CRC-16 (Teltonika's CRC-16/IBM: 0xA001; GT06's CRC-16/X-25: 0x8408, 0xFFFF, 0xFFFF)."""
    crc = init
    for b in raw:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ xorout


def u16(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 2], "big")


def u32(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 4], "big")
