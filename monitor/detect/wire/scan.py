"""Which wire parsers a payload is worth, from its first bytes, and running them in isolation.

``scan_payload`` returns every Match the parsers find. A parser that raises on a crafted
payload is counted in ``errors`` (by parser name) and the others still run: bad input is data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from . import gbt32960, gt06, j2735, jt808, jt1078, media, teltonika, text
from .jsonpos import json_positions, query_positions
from .match import Match, position_confidence
from .upload import METHODS, mqtt_publish, parse_request

#: First payload bytes that can open a format gatewatch parses. Payloads starting otherwise
#: (TLS records 0x14-0x17, most encrypted bytes) never reach Python.
FIRST_BYTES = np.zeros(256, dtype=bool)
FIRST_BYTES[[0x00, 0x03, 0x1A, 0x23, 0x24, 0x2B, 0x3E, 0x47, 0x5B, 0x7B, 0x7E, 0x78, 0x79, 0x89, 0xFF]] = True
#: RTMP chunk basic headers an encoder's commands start with: fmt 0/1 on chunk streams 2, 3
#: (connect) and 8 (FFmpeg and librtmp send publish there), and 20.
RTMP_FIRST = frozenset(bytes([b]) for b in (0x02, 0x03, 0x08, 0x14, 0x43, 0x48))
FIRST_BYTES[[b[0] for b in RTMP_FIRST]] = True
FIRST_BYTES[0x30:0x40] = True  # "01cd" (JT/T 1078) and MQTT PUBLISH
FIRST_BYTES[[ord(c) for c in "AGPRLpDSVF#"]] = True  # methods, ANNOUNCE/RECORD, LASF, ply, DRACO, SQLite, VERSION, FLV
FIRST_BYTES[ord("0"):ord("9") + 1] = True  # NMEA behind an IMEI prefix


def scan_payload(payload: bytes, errors: Counter | None = None) -> list[Match]:
    errors = errors if errors is not None else Counter()
    out: list[Match] = []
    for name, parser in _parsers_for(payload):
        try:
            out += parser(payload)
        except Exception:  # noqa: BLE001 - a crafted payload must not stop the other parsers
            errors[name] += 1
    return out


def _parsers_for(p: bytes) -> list[tuple[str, Callable[[bytes], list[Match]]]]:
    first = p[:1]
    picks: list[tuple[str, Callable[[bytes], list[Match]]]] = []
    if first == b"\x7e":
        picks.append(("jt808", jt808.parse))
    if p[:4] == jt1078.MAGIC:
        picks.append(("jt1078", jt1078.parse))
    if p[:2] in (b"##", b"$$"):
        picks.append(("gbt32960", gbt32960.parse))
    if first == b"\x00" or int.from_bytes(p[:2], "big") == len(p) - 2:
        picks += [("teltonika", teltonika.parse), ("dualcam", media.dualcam)]
    if p[:2] in (b"\x78\x78", b"\x79\x79"):
        picks.append(("gt06", gt06.parse))
    if p[:2] == b"\x00\x14":
        picks.append(("j2735", j2735.parse))
    if _ascii(p[:32]):
        picks += [("queclink", text.queclink), ("nmea", text.nmea), ("taip", text.taip)]
        if p.startswith(METHODS):
            picks.append(("http", http))
        if first in (b"{", b"["):
            picks.append(("json", lambda b: json_matches(b, "json")))
        picks.append(("rtsp", media.rtsp))
    if 0x30 <= (p[0] if p else 0) <= 0x3F:
        picks.append(("mqtt", mqtt))
    if first in RTMP_FIRST:
        picks.append(("rtmp", media.rtmp))
    picks.append(("containers", lambda b: media.containers(b, "payload")))
    return picks


def _ascii(head: bytes) -> bool:
    return bool(head) and all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def json_matches(document: bytes, where: str) -> list[Match]:
    positions, how = json_positions(document)
    if not positions:
        return []
    return [Match("geolocation", how, f"{'GeoJSON' if how == 'geojson' else 'JSON'} position fields in {where}",
                  position_confidence(positions, 0.85 if how != "json-loose" else 0.75), positions)]


def http(payload: bytes) -> list[Match]:
    request = parse_request(payload)
    if request is None:
        return []
    out: list[Match] = []
    where = f"HTTP {request.method}"
    positions = query_positions(request.query)
    if positions:
        out.append(Match("geolocation", "osmand", f"position in the {where} query string (OsmAnd/Traccar)",
                         position_confidence(positions, 0.9), positions))
    for part in request.parts:
        out += _body(part.data, part.content_type.lower(), f"{where} body", part.filename)
    for match in out:
        match.evidence.setdefault("url", request.target[:200])
        if request.host:
            match.evidence.setdefault("host", request.host)
    return out


def _body(data: bytes, content_type: str, where: str, filename: str | None) -> list[Match]:
    found = media.containers(data, where)
    if data[:1] in (b"{", b"[") or "json" in content_type:
        found += json_matches(data, where)
    elif "x-www-form-urlencoded" in content_type:
        positions = query_positions(data.decode("latin-1"))
        if positions:
            found.append(Match("geolocation", "osmand", f"position in the {where} form", position_confidence(positions, 0.9),
                               positions))
    elif _ascii(data[:32]):
        found += text.nmea(data) + text.queclink(data)
    for match in found:
        if filename:
            match.evidence["file_name"] = filename
    return found


def mqtt(payload: bytes) -> list[Match]:
    publish = mqtt_publish(payload)
    if publish is None:
        return []
    where = "MQTT PUBLISH"
    found = json_matches(publish.payload, where) if publish.payload[:1] in (b"{", b"[") else []
    found += media.containers(publish.payload, where)
    if _ascii(publish.payload[:32]):
        found += text.nmea(publish.payload)
    for match in found:
        match.evidence["topic"] = publish.topic
    return found
