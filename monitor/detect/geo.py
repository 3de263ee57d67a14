"""Positions on the sphere: longitude differences wrapped to ±180, great-circle distance, and
longitude spans that may cross the antimeridian.

Why: a track from 179.9 E to 179.9 W is 0.2 degrees of longitude long, not 359.8; its bounding
box is the short arc between them (west 179.9, east -179.9, as GeoJSON writes a box that crosses
the antimeridian), not the whole world. Plain min/max and subtraction get both wrong.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius


def wrap_lon(lon):
    """Longitude in [-180, 180): 180 E and 180 W are one meridian; values in range pass unchanged."""
    lon = np.asarray(lon, dtype=np.float64)
    out = np.where((lon >= -180.0) & (lon < 180.0), lon, (lon + 180.0) % 360.0 - 180.0)
    return float(out) if out.ndim == 0 else out


def lon_delta(a, b):
    """b - a the short way round, in [-180, 180)."""
    return wrap_lon(np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64))


def great_circle_km(lat1, lon1, lat2, lon2):
    """Haversine distance (numerically sound for short steps, which a track is made of)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon_delta(lon1, lon2))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def track_km(lats, lons) -> float:
    """The length of the path through the points in order."""
    lats, lons = np.asarray(lats, dtype=np.float64), np.asarray(lons, dtype=np.float64)
    if len(lats) < 2:
        return 0.0
    return float(great_circle_km(lats[:-1], lons[:-1], lats[1:], lons[1:]).sum())


def extend_span(span: tuple[float, float] | None, lon: float) -> tuple[float, float]:
    """The (west, east) arc grown to hold ``lon`` by the shorter extension; west > east when the
    arc crosses the antimeridian. Edges are the longitudes as given (an out-of-range one stays
    visible as it came)."""
    if span is None:
        return lon, lon
    west, east = span
    width = lon_delta(west, east) % 360.0
    if lon_delta(west, lon) % 360.0 <= width:
        return span  # already inside
    grow_east, grow_west = lon_delta(east, lon) % 360.0, lon_delta(lon, west) % 360.0
    return (west, lon) if grow_east <= grow_west else (lon, east)


def lon_span(lons) -> tuple[float, float]:
    """The smallest (west, east) arc holding every longitude: the complement of the widest gap
    between them, so points on both sides of 180 give a narrow arc across it."""
    values = np.sort(np.unique(wrap_lon(np.asarray(lons, dtype=np.float64)).ravel()))
    if len(values) == 1:
        return float(values[0]), float(values[0])
    gaps = np.diff(np.concatenate((values, [values[0] + 360.0])))
    widest = int(np.argmax(gaps))
    return float(values[(widest + 1) % len(values)]), float(values[widest])


def unwrap_lons(lons, west: float):
    """Longitudes as a continuous run from ``west`` (values past 180 rather than jumping to -180),
    for drawing and scaling a track that crosses the antimeridian."""
    return west + np.asarray(lon_delta(west, lons), dtype=np.float64) % 360.0


def normalize(lat, lon):
    """A position stepped past a pole or the antimeridian, back on the globe: a latitude past 90
    comes back down on the meridian opposite (longitude + 180), every longitude wrapped to
    [-180, 180). Positions already in range pass unchanged, bit for bit."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    over = np.abs(lat) > 90.0
    folded = np.where(over, np.sign(lat) * 180.0 - lat, lat)
    return folded, wrap_lon(np.where(over, lon + 180.0, lon))
