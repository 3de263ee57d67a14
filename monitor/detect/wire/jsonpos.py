"""Positions in JSON documents and URL query strings, by the field names telematics clouds use:
lat/lon, lat/lng, latitude/longitude (any case, nested or flat "position.latitude"), GeoJSON
Point coordinates [lon, lat], and OsmAnd's ``location=lat,lon``."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from ..finding import Position

LAT_KEYS = ("lat", "latitude", "position.latitude", "gps_lat", "gpslat")
LON_KEYS = ("lon", "lng", "long", "longitude", "position.longitude", "gps_lon", "gpslon", "gps_lng")
# For text that is not valid JSON (cut off by the segment end): "lat": 1.5 ... "lon": "2.5"
LOOSE = re.compile(rb'"(lat|latitude|lon|lng|long|longitude)"\s*:\s*"?(-?\d{1,3}(?:\.\d+)?)"?', re.IGNORECASE)
MAX_NODES = 5000


def json_positions(text: bytes) -> tuple[list[Position], str]:
    """Positions in a JSON document, and how they were found ("json", "geojson", "json-loose")."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return _loose(text), "json-loose"
    found: list[Position] = []
    geo = _walk(document, found, [0])
    return found, "geojson" if geo else "json"


def _walk(node, found: list[Position], budget: list[int]) -> bool:
    budget[0] += 1
    if budget[0] > MAX_NODES:
        return False
    geo = False
    if isinstance(node, dict):
        lowered = {str(k).lower(): v for k, v in node.items()}
        pair = _pair(lowered)
        if pair:
            found.append(Position(*pair, time=_time(lowered)))
        coords = lowered.get("coordinates")
        if str(lowered.get("type", "")).lower() == "point" and isinstance(coords, list) and len(coords) >= 2:
            lon, lat = _number(coords[0]), _number(coords[1])
            if lat is not None and lon is not None:
                found.append(Position(lat, lon))
                geo = True
        children: list = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return False
    for child in children:
        geo |= _walk(child, found, budget)
    return geo


def _pair(fields: dict) -> tuple[float, float] | None:
    lat = next((_number(fields[k]) for k in LAT_KEYS if k in fields), None)
    lon = next((_number(fields[k]) for k in LON_KEYS if k in fields), None)
    return (lat, lon) if lat is not None and lon is not None else None


def _time(fields: dict) -> str | None:
    value = fields.get("timestamp") or fields.get("time")
    return value if isinstance(value, str) and len(value) >= 19 and value[4] == "-" else None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _loose(text: bytes) -> list[Position]:
    lat = lon = None
    out = []
    for m in LOOSE.finditer(text):
        value = float(m.group(2))
        if m.group(1).lower().startswith(b"lat"):
            lat = value
        else:
            lon = value
        if lat is not None and lon is not None:
            out.append(Position(lat, lon))
            lat = lon = None
    return out


def query_positions(query: str) -> list[Position]:
    """OsmAnd / Traccar Client: lat=..&lon=.. or location=lat,lon in a query or form body."""
    fields = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    pair = _pair(fields)
    if pair is None and "location" in fields:
        parts = fields["location"].split(",")
        if len(parts) == 2:
            lat, lon = _number(parts[0]), _number(parts[1])
            pair = (lat, lon) if lat is not None and lon is not None else None
    return [Position(*pair)] if pair else []
