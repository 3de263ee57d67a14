"""Which wire parsers a payload is worth, from its first bytes, and running them in isolation.

``scan_payload`` returns every Match the parsers find. A parser that raises on a crafted
payload is counted in ``errors`` (by parser name) and the others still run: bad input is data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import gbt32960, gt06, identifiers, j2735, jt808, jt1078, media, teltonika, text
from .jsonpos import json_positions, query_positions
from .match import Match, position_confidence
from .upload import METHODS, mqtt_publish, parse_request


@dataclass(frozen=True)
class Parser:
    """A wire parser and the first payload bytes that can open its format. ``accepts`` takes a
    closer look once the first byte fits. The numpy gate (FIRST_BYTES) is the union of what the
    parsers declare, so the gate and the choice of parsers cannot disagree."""

    name: str
    parse: Callable[[bytes], list[Match]]
    first: frozenset[int]
    accepts: Callable[[bytes], bool] = lambda p: True


def _bytes(*values: int | str) -> frozenset[int]:
    return frozenset(v if isinstance(v, int) else ord(v) for v in values)


DIGITS = _bytes(*"0123456789")
#: RTMP chunk basic headers an encoder's commands start with: fmt 0/1 on chunk streams 2, 3
#: (connect) and 8 (FFmpeg and librtmp send publish there), and 20.
RTMP_FIRST = _bytes(0x02, 0x03, 0x08, 0x14, 0x43, 0x48)
HTTP_FIRST = frozenset(m[0] for m in METHODS)


def _ascii(head: bytes) -> bool:
    return bool(head) and all(32 <= b < 127 or b in (9, 10, 13) for b in head)


PARSERS: tuple[Parser, ...] = (
    Parser("jt808", jt808.parse, _bytes(0x7E)),
    Parser("jt1078", jt1078.parse, _bytes(jt1078.MAGIC[0]), lambda p: p[:4] == jt1078.MAGIC),
    Parser("gbt32960", gbt32960.parse, _bytes("#", "$"), lambda p: p[:2] in (b"##", b"$$")),
    Parser("teltonika", teltonika.parse, _bytes(0x00)),
    Parser("dualcam", media.dualcam, _bytes(0x00)),
    Parser("gt06", gt06.parse, _bytes(0x78, 0x79), lambda p: p[:2] in (b"\x78\x78", b"\x79\x79")),
    Parser("j2735", j2735.parse, _bytes(0x00), lambda p: p[:2] == b"\x00\x14"),
    Parser("queclink", text.queclink, _bytes("+"), lambda p: _ascii(p[:32])),
    Parser("nmea", text.nmea, _bytes("$") | DIGITS, lambda p: _ascii(p[:32])),  # digits: behind an IMEI prefix
    Parser("taip", text.taip, _bytes(">"), lambda p: _ascii(p[:32])),
    Parser("http", lambda b: http(b), HTTP_FIRST, lambda p: p.startswith(METHODS)),
    Parser("json", lambda b: json_matches(b, "json"), _bytes("{", "[")),
    Parser("rtsp", media.rtsp, _bytes("A", "R")),
    Parser("mqtt", lambda b: mqtt(b), frozenset(range(0x30, 0x40))),
    Parser("rtmp", media.rtmp, RTMP_FIRST),
    # VINs and IMEIs in plaintext: JSON documents, forms and queries (HTTP), MQTT payloads.
    Parser("identifiers", identifiers.identifiers, _bytes("{", "[") | HTTP_FIRST | frozenset(range(0x30, 0x40)),
           lambda p: b"vin" in p.lower() or b"imei" in p.lower() or _ascii(p[:64])),
    Parser("containers", lambda b: media.containers(b, "payload"),
           _bytes(0x00, 0x1A, 0x47, 0x89, 0xFF, "#", "F", "L", "p", "D", "S", "V")),
)

#: First payload bytes that can open a format gatewatch parses. Payloads starting otherwise
#: (TLS records 0x14-0x17 aside from RTMP's, most encrypted bytes) never reach Python.
FIRST_BYTES = np.zeros(256, dtype=bool)
FIRST_BYTES[sorted(set().union(*(parser.first for parser in PARSERS)))] = True


def scan_payload(payload: bytes, errors: Counter | None = None) -> list[Match]:
    errors = errors if errors is not None else Counter()
    out: list[Match] = []
    for parser in _parsers_for(payload):
        try:
            out += parser.parse(payload)
        except Exception:  # noqa: BLE001 - a crafted payload must not stop the other parsers
            errors[parser.name] += 1
    return out


def _parsers_for(p: bytes) -> list[Parser]:
    if not p:
        return []
    return [parser for parser in PARSERS if p[0] in parser.first and parser.accepts(p)]


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
