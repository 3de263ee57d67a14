"""Positions in payload bytes, looked for inside a box: the clock estimator's reader.

The clock estimator (clocks.py) knows where the vehicle drove from the CAN track but not when
each payload position was sent by the CAN clock, so it cannot ask "is this position here?" as
taint does; it asks "which values in these bytes fall in the box the CAN track covers?". Every
encoding taint reads is tried at every offset (int32 x1e6 / x1e7 in both byte orders, signed
or as a magnitude with the hemisphere elsewhere, the J1939 offset encoding, float32 and
float64 in both byte orders), and decimal text and NMEA ddmm.mmmm by regex; a position is a
latitude and a longitude of one encoding within a few bytes of each other in one packet.

The box is what keeps random bytes out: a box of a few kilometres is about 1e-5 of an int32
encoding's range, and a latitude must find a longitude next to it. What still gets through
meets the CAN track's test in clocks.py and then the vote on the offset.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

BINARY_NEAR = 32  # bytes between a latitude and its longitude (as taint)
TEXT_NEAR = 64
MAX_GATED = 1 << 18  # offsets per buffer and encoding whose top bits fit, tested exactly
GATE_SLICE = 1 << 16  # offsets whose second byte is read at a time (bounds the temporaries)
MAX_CANDIDATES = 4096  # latitude-like values per buffer and encoding examined (a hostile payload full of them)
FRACTION = re.compile(rb"\.\d{2,}")
WHOLE = re.compile(rb"(?<![\d.])(-?)(\d{1,5})$")  # the digits right before a fraction
HEMISPHERES = (b"N", b"S", b"E", b"W")


@dataclass(frozen=True)
class Box:
    """Latitudes and longitudes the CAN track covers, widened by a margin (no antimeridian
    crossing: a track across 180 degrees gives a box as wide as the world, which still works)."""

    lat_lo: float
    lat_hi: float
    lon_lo: float
    lon_hi: float

    @classmethod
    def around(cls, lats: np.ndarray, lons: np.ndarray, margin: float) -> Box:
        return cls(float(lats.min()) - margin, float(lats.max()) + margin,
                   float(lons.min()) - margin, float(lons.max()) + margin)


@dataclass(frozen=True)
class Encoding:
    dtype: str
    scale: float
    offset: float = 0.0
    magnitude: bool = False  # the sign may be elsewhere (JT/T 808's status flags)


ENCODINGS = [Encoding(f"{order}i4", scale, magnitude=True) for order in "<>" for scale in (1e-6, 1e-7)] + [
    Encoding("<u4", 1e-7, -210.0),  # J1939 VP / GNSS position: 1e-7 degree per bit, -210 offset
    *(Encoding(f"{order}f{width}", 1.0) for order in "<>" for width in (4, 8)),
]
TEXT = Encoding("f8", 1.0)  # decimal and NMEA text, once read as numbers


def positions(buf: bytes, starts: np.ndarray, box: Box) -> list[tuple[int, float, float]]:
    """(packet index, latitude, longitude) of the positions in ``buf``, packets joined at
    ``starts`` (ascending byte offsets); one per packet and value. At most MAX_CANDIDATES
    latitude-like values per encoding are examined, so a hostile buffer costs a bounded time."""
    found: set[tuple[int, float, float]] = set()
    bytes_in = _ByteRanges(buf)
    for enc in ENCODINGS:
        lat = _axis(buf, bytes_in, enc, box.lat_lo, box.lat_hi)
        if len(lat[0]):
            lon = _axis(buf, bytes_in, enc, box.lon_lo, box.lon_hi)
            found.update(_pairs(*lat, *lon, starts, BINARY_NEAR, np.dtype(enc.dtype).itemsize))
    found.update(_text(buf, starts, box))
    return sorted(found)


class _ByteRanges:
    """Where the buffer's bytes lie in a range, computed once per range: the top bytes of one
    box in both byte orders and several encodings are mostly the same few ranges."""

    def __init__(self, buf: bytes) -> None:
        self.u8 = np.frombuffer(buf, np.uint8)
        self.known: dict[tuple[int, int], np.ndarray] = {}

    def where(self, first: int, last: int) -> np.ndarray:
        if (first, last) not in self.known:
            if first == last:
                self.known[first, last] = np.flatnonzero(self.u8 == first)
            else:
                self.known[first, last] = np.flatnonzero((self.u8 - np.uint8(first)) <= np.uint8(last - first))
        return self.known[first, last]


def _axis(buf: bytes, bytes_in: _ByteRanges, enc: Encoding, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of one encoding whose value lies in [lo, hi] degrees, with the values: the top
    byte first (over the buffer), the second at the offsets that pass, the exact value last."""
    view, ranges = _view(buf, enc), _ranges(lo, hi, enc)
    width = np.dtype(enc.dtype).itemsize
    high, low = (0, 1) if np.dtype(enc.dtype).byteorder == ">" else (width - 1, width - 2)  # where the top bytes sit
    u8, parts = bytes_in.u8, []
    for first, last in _top16_ranges(enc, ranges):
        where = bytes_in.where(first >> 8, last >> 8)
        # In slices: a common top byte (zero, in zero-padded payloads) is most of a buffer, and
        # the offsets' temporaries were then some twenty times the buffer (the replay's peak RSS).
        for begin in range(0, max(len(where), 1), GATE_SLICE):
            at = where[begin : begin + GATE_SLICE] - high
            at = at[(at >= 0) & (at < len(view))]
            top = u8[at + high].astype(np.uint16) << 8 | u8[at + low]
            parts.append(at[(top >= first) & (top <= last)])
    at = np.unique(np.concatenate(parts))[:MAX_GATED] if parts else np.zeros(0, np.int64)
    return _select(view[at], at, ranges, lo, hi, enc)


def _view(buf: bytes, enc: Encoding) -> np.ndarray:
    """The encoding's raw value at every byte offset: one unaligned strided view, no copy."""
    width = np.dtype(enc.dtype).itemsize
    n = max(0, len(buf) - width + 1)
    return np.ndarray((n,), enc.dtype, buffer=buf, strides=(1,)) if n else np.zeros(0, enc.dtype)


def _ranges(lo: float, hi: float, enc: Encoding) -> list[tuple]:
    """[lo, hi] degrees (and, for a magnitude, its negation) in raw units."""
    spans = [(lo, hi)] + ([(-hi, -lo)] if enc.magnitude else [])
    return [bounds for a, b in spans if (bounds := _raw_bounds(np.dtype(enc.dtype), a, b, enc))[0] <= bounds[1]]


def _top16_ranges(enc: Encoding, ranges: list[tuple]) -> list[tuple[int, int]]:
    """The most significant 16 bits the values in the ranges can have. Integers and floats of
    one sign order like them, so a box a few kilometres wide keeps about one offset in ten
    thousand for the exact test: one byte compared over the buffer, the second at the offsets
    that pass (comparing byte-swapped unaligned views of every value was thirty times slower)."""
    dtype = np.dtype(enc.dtype)
    out = []
    for low, high in ranges:
        if low < 0 <= high:
            return [(0, 0xFFFF)]  # a range across zero has no single run of top bits
        ends = [np.array(v, dtype).tobytes() for v in (low, high)]
        tops = [int.from_bytes(e[:2], "big") if dtype.byteorder == ">" else int.from_bytes(e[-2:], "little") for e in ends]
        out.append((min(tops), max(tops)))
    return out


def _select(raw: np.ndarray, at: np.ndarray, ranges: list[tuple], lo: float, hi: float,
            enc: Encoding) -> tuple[np.ndarray, np.ndarray]:
    """Of the offsets ``at`` (values ``raw``), those inside a range, with their values in
    degrees and the box's sign (a magnitude takes the sign of the box it fell in)."""
    with np.errstate(invalid="ignore", over="ignore"):
        inside = np.zeros(len(raw), bool)
        for low, high in ranges:
            inside |= (raw >= low) & (raw <= high)
        at, raw = at[inside][:MAX_CANDIDATES], raw[inside][:MAX_CANDIDATES]
        degrees = raw.astype(float) * enc.scale + enc.offset
    return at, np.where((degrees >= lo) & (degrees <= hi), degrees, -degrees)


def _raw_bounds(dtype: np.dtype, lo: float, hi: float, enc: Encoding) -> tuple:
    """[lo, hi] degrees in the encoding's raw units, integers for an integer type (a float bound
    would make numpy compare the whole column as float64), clipped to what the type holds."""
    low, high = sorted(((lo - enc.offset) / enc.scale, (hi - enc.offset) / enc.scale))
    if dtype.kind not in "iu":
        return low, high
    info = np.iinfo(dtype)
    return max(math.ceil(low), info.min), min(math.floor(high), info.max)


def _pairs(lat_at, lats, lon_at, lons, starts, near: int, width: int) -> list[tuple[int, float, float]]:
    """Each latitude with the nearest longitude after it and the nearest before it that do not
    overlap it, within ``near`` bytes and in the same packet."""
    if not len(lon_at) or not len(lat_at):
        return []
    packet = np.searchsorted(starts, lat_at, side="right") - 1
    out: list[tuple[int, float, float]] = []
    for j in (np.searchsorted(lon_at, lat_at + width), np.searchsorted(lon_at, lat_at - width + 1) - 1):
        ok = (j >= 0) & (j < len(lon_at))
        j = np.clip(j, 0, len(lon_at) - 1)
        ok &= (np.abs(lon_at[j] - lat_at) <= near) & (np.searchsorted(starts, lon_at[j], side="right") - 1 == packet)
        out += zip(packet[ok].tolist(), np.round(lats[ok], 7).tolist(), np.round(lons[j[ok]], 7).tolist())
    return out


def _text(buf: bytes, starts: np.ndarray, box: Box) -> list[tuple[int, float, float]]:
    decimals, nmea = _numbers(buf)
    out = []
    for found in (decimals, nmea):
        found = found[: 4 * MAX_CANDIDATES]
        at = np.array([a for a, _ in found], np.int64)
        values = np.array([v for _, v in found], float)
        every = np.arange(len(values))
        lat_at, lats = _select(values, every, [(box.lat_lo, box.lat_hi)], box.lat_lo, box.lat_hi, TEXT)
        lon_at, lons = _select(values, every, [(box.lon_lo, box.lon_hi)], box.lon_lo, box.lon_hi, TEXT)
        out += _pairs(at[lat_at], lats, at[lon_at], lons, starts, TEXT_NEAR, 1)
    return out


def _numbers(buf: bytes) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(decimal degrees, NMEA ddmm.mmmm as degrees), each with its offset. Found from their
    fractions: a regex that starts with a literal dot runs through megabytes of binary about
    forty times faster than one that starts with digits; the whole part is read behind it."""
    decimals, nmea = [], []
    for m in FRACTION.finditer(buf):
        whole = WHOLE.search(buf, max(0, m.start() - 6), m.start())
        if whole is None:
            continue
        digits = len(whole.group(2))
        if digits <= 3 and len(m.group()) >= 5:
            decimals.append((whole.start(), float(whole.group() + m.group())))
        elif digits >= 4 and buf[m.end() : m.end() + 1] == b"," and buf[m.end() + 1 : m.end() + 2] in HEMISPHERES:
            nmea.append((whole.start(2), _nmea(whole.group(2) + m.group(), buf[m.end() + 1 : m.end() + 2])))
    return decimals, nmea


def _nmea(number: bytes, hemisphere: bytes) -> float:
    """ddmm.mmmm (or dddmm.mmmm) with N/S/E/W as signed degrees."""
    value = float(number)
    degrees = int(value // 100) + (value % 100) / 60.0
    return -degrees if hemisphere in (b"S", b"W") else degrees
