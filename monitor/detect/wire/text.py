"""ASCII tracker formats: Queclink @Track, NMEA 0183 and Trimble TAIP.

Parsed from text found anywhere in a payload (vendors wrap NMEA in their own prefixes). A bad
checksum lowers confidence; it never hides a position.
"""

from __future__ import annotations

import re
from functools import reduce

from ..finding import Position
from .match import Match, iso_time, position_confidence

QUECLINK = re.compile(rb"\+(RESP|BUFF|ACK):GT([A-Z]{3}),([^$\r\n]{0,2000})\$?")
DECIMAL = re.compile(r"-?\d{1,3}\.\d+\Z")
NMEA = re.compile(rb"\$(G[PNLAB]|BD)(RMC|GGA|GLL|GNS),([^*\r\n$]{0,120})(?:\*([0-9A-Fa-f]{2}))?")
TAIP = re.compile(rb">R(PV|GP|LN)([0-9+\-]{20,60})[^<]{0,200}<?")


def queclink(payload: bytes) -> list[Match]:
    out = []
    for m in QUECLINK.finditer(payload):
        fields = m.group(3).decode("ascii", "replace").split(",")
        positions = list(_lon_lat_time(fields))
        identity = {"imei": fields[1]} if len(fields) > 1 and fields[1].isalnum() else {}
        kind = "buffered report" if m.group(1) == b"BUFF" else "report"
        category = "geolocation" if positions else "identity"
        out.append(Match(category, "queclink", f"{kind} GT{m.group(2).decode()}", position_confidence(positions, 0.9),
                         positions, identity, {"ends_with_dollar": m.group(0).endswith(b"$")}))
    return out


def _lon_lat_time(fields: list[str]):
    """Queclink's longitude, latitude, YYYYMMDDhhmmss triplets (longitude first)."""
    for i in range(len(fields) - 2):
        lon, lat, when = fields[i], fields[i + 1], fields[i + 2]
        if DECIMAL.match(lon) and DECIMAL.match(lat) and len(when) == 14 and when.isdigit():
            y, mo, d, h, mi, s = int(when[:4]), *(int(when[k : k + 2]) for k in range(4, 14, 2))
            yield Position(float(lat), float(lon), iso_time(y, mo, d, h, mi, s))


def nmea(payload: bytes) -> list[Match]:
    out = []
    for m in NMEA.finditer(payload):
        fields = m.group(3).decode("ascii", "replace").split(",")
        position = _nmea_position(m.group(2).decode(), fields)
        if position is None:
            continue
        check_ok = None
        if m.group(4):
            body = m.group(0)[1 : m.group(0).index(b"*")]
            check_ok = reduce(lambda a, b: a ^ b, body, 0) == int(m.group(4), 16)
        out.append(Match("geolocation", "nmea", f"NMEA {m.group(1).decode()}{m.group(2).decode()}",
                         position_confidence([position], 0.85, check_ok), [position], {}, {"checksum_ok": check_ok}))
    return out


def _nmea_position(sentence: str, f: list[str]) -> Position | None:
    at = {"RMC": 2, "GGA": 1, "GLL": 0, "GNS": 1}[sentence]
    if len(f) < at + 4:
        return None
    lat, lon = degrees_minutes(f[at], f[at + 1], "S", 2), degrees_minutes(f[at + 2], f[at + 3], "W", 3)
    if lat is None or lon is None:
        return None
    return Position(lat, lon, _nmea_time(sentence, f))


def degrees_minutes(value: str, hemisphere: str, negative: str, width: int) -> float | None:
    """llmm.mmmm / yyymm.mmmm to degrees. NMEA fixes the degree digits (2 for latitude, 3 for
    longitude); like traccar and pynmea2 we take them by position, so a sender that drops a
    leading zero is read as NMEA says, not guessed at."""
    whole, dot, fraction = value.partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or hemisphere not in ("N", "S", "E", "W"):
        return None
    degrees, minutes = whole[:width], whole[width:] or "0"
    result = int(degrees or 0) + float(f"{minutes}{dot}{fraction}") / 60
    return -result if hemisphere == negative else result


def century(two_digits: int) -> int:
    """NMEA's ddmmyy: 80-99 are the 1900s (GPS began in 1980), 00-79 the 2000s."""
    return two_digits + (1900 if two_digits >= 80 else 2000)


def _nmea_time(sentence: str, f: list[str]) -> str | None:
    clock = f[0] if sentence in ("RMC", "GGA", "GNS") else (f[4] if len(f) > 4 else "")
    date = f[8] if sentence == "RMC" and len(f) > 8 else ""
    if len(clock) < 6 or len(date) != 6 or not (clock[:6] + date).isdigit():
        return None
    return iso_time(century(int(date[4:6])), int(date[2:4]), int(date[0:2]),
                    int(clock[0:2]), int(clock[2:4]), float(clock[4:]) if clock[4:].replace(".", "", 1).isdigit() else 0)


def taip(payload: bytes) -> list[Match]:
    out = []
    for m in TAIP.finditer(payload):
        position = _taip_position(m.group(1).decode(), m.group(2).decode())
        if position is None:
            continue
        text = m.group(0)
        ident = re.search(rb";ID=([^;<]+)", text)
        check_ok = None
        star = text.rfind(b";*")
        if star > 0 and len(text) >= star + 4:
            try:
                check_ok = reduce(lambda a, b: a ^ b, text[: star + 2], 0) == int(text[star + 2 : star + 4], 16)
            except ValueError:
                check_ok = False
        out.append(Match("geolocation", "taip", f"TAIP R{m.group(1).decode()}",
                         position_confidence([position], 0.85, check_ok), [position],
                         {"device_id": ident.group(1).decode("ascii", "replace")} if ident else {},
                         {"checksum_ok": check_ok}))
    return out


def _taip_position(message: str, data: str) -> Position | None:
    """PV: 5-digit seconds, lat +DDddddd, lon +DDDddddd. GP: 12-digit date-time first.
    LN: 8-digit time, lat +DDddddddd, lon +DDDddddddd (x1e7)."""
    layouts = {"PV": (5, 8, 9, 1e5), "GP": (12, 8, 9, 1e5), "LN": (8, 10, 11, 1e7)}
    skip, lat_len, lon_len, scale = layouts[message]
    lat_text, lon_text = data[skip : skip + lat_len], data[skip + lat_len : skip + lat_len + lon_len]
    if len(lon_text) != lon_len or lat_text[:1] not in "+-" or lon_text[:1] not in "+-":
        return None
    if not (lat_text[1:].isdigit() and lon_text[1:].isdigit()):
        return None
    return Position(int(lat_text) / scale, int(lon_text) / scale)
