"""How often random bytes look like the vehicle's position, per binary encoding: the arithmetic
behind taint's false-match rate, so that rate is computed, not hoped for.

Why: ciphertext is uniform. A 4-byte word at some offset is any of 2^32 values with equal
probability, so the chance it decodes to a latitude within a tolerance is the number of raw words
that decode there over 2^32, and that of a latitude-longitude pair is the number of raw *pairs*
accepted over 2^64, times the offsets at which the longitude is looked for. With the old fixed
0.0005 degree box, 512 positions and a longitude anywhere within 32 bytes, int32 x1e7 matched
encrypted video about once per 70 MB. The detector keeps the expected number of such matches
below a budget per GB (``BUDGET_PER_GB``) by choosing, per encoding, how many positions a lone pair
may match and when a second pair must corroborate it (``taintscan.Plan``).

What a position accepts is a segment, not a box: the sender read the vehicle's position at some
instant between two CAN samples, so a value lies on the segment from one sample to the next,
widened on each axis by the encoding's resolution (``resolution``). The raw pairs that decode
within that are at most n_seg_lat x n_tol_lon + n_seg_lon x n_tol_lat + n_tol_lat x n_tol_lon
(``pairs_bound``): slide the tolerance box along the segment, each raw step along one axis adds at
most one row of the other axis's tolerance. Counts are exact integer counts of raw words per
interval (``count``): integers by their scale, floats by their bit patterns (which are ordered as
their values within one sign), so a float near zero, where representable values crowd, counts as
the many words it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BUDGET_PER_GB = 1e-3  # expected random position matches per GB of payload, all encodings together
CAN_QUANTUM_DEG = 1e-7  # the finest CAN position resolution assumed (the DBCs' 1E-007 scale)
GB = 1e9


@dataclass(frozen=True)
class Spec:
    """One binary encoding of a coordinate. ``kind``: ``int`` (signed, x ``scale``), ``mag``
    (unsigned magnitude x ``scale``, the hemisphere kept elsewhere), ``j1939`` (unsigned,
    x1e7 offset by 210 degrees) or ``float``."""
    name: str
    width: int
    big: bool
    kind: str
    scale: float = 1.0

    @property
    def magnitude(self) -> bool:
        return self.kind == "mag"

    @property
    def bits(self) -> int:
        return 8 * self.width


def _specs() -> list[Spec]:
    out = []
    for big, order in ((True, "big-endian"), (False, "little-endian")):
        out += [Spec(f"int32 x1e6 {order}", 4, big, "int", 1e6), Spec(f"int32 x1e7 {order}", 4, big, "int", 1e7),
                Spec(f"float32 {order}", 4, big, "float"), Spec(f"float64 {order}", 8, big, "float")]
    out.append(Spec("J1939 x1e-7 - 210 little-endian", 4, False, "j1939", 1e7))
    # magnitudes last: a position in the north-east reads the same words as int32 x1e6, reported once as that
    out += [Spec(f"uint32 x1e6 magnitude {order}", 4, big, "mag", 1e6)
            for big, order in ((True, "big-endian"), (False, "little-endian"))]
    return out


SPECS = _specs()
SHARE_PER_GB = BUDGET_PER_GB / (len(SPECS) + 1)  # each binary encoding's part; text takes one too


def _float_types(spec: Spec):
    return (np.float32, np.uint32) if spec.width == 4 else (np.float64, np.uint64)


def to_degrees(spec: Spec, words: np.ndarray) -> np.ndarray:
    """Unsigned words (uint32 / uint64, already in the spec's byte order) as degrees."""
    if spec.kind == "int":
        return words.astype(np.uint32).view(np.int32) / spec.scale
    if spec.kind == "mag":
        return words / spec.scale
    if spec.kind == "j1939":
        return words * 1e-7 - 210.0
    ftype, utype = _float_types(spec)
    with np.errstate(invalid="ignore"):  # a signalling NaN's bits widen with the invalid flag raised; it compares false
        return words.astype(utype).view(ftype).astype(np.float64)


def can_quantum(values: np.ndarray) -> float:
    """The CAN position's resolution, read from its values: the coarsest of 1e-4 .. 1e-7 degrees
    they all are multiples of (DBCs scale positions by 1e-6 or 1e-7); 1e-7 when none fits (a
    float signal)."""
    values = np.asarray(values, np.float64)
    for quantum in (1e-4, 1e-5, 1e-6):
        steps = values / quantum
        if len(values) and (np.abs(steps - np.round(steps)) < 1e-3).all():
            return quantum
    return CAN_QUANTUM_DEG


def resolution(spec: Spec, degrees: np.ndarray, quantum: float = CAN_QUANTUM_DEG) -> np.ndarray:
    """How far an encoded value may lie from the CAN value it encodes: one step of the encoding
    (a float's spacing at that value; a tracker may truncate, as JT/T 808 senders write
    int(degrees x 1e6), not round) and a little over half the CAN signal's own ``quantum`` (the
    sender may read a finer source than the CAN bus carries)."""
    if spec.kind == "float":
        ftype, _ = _float_types(spec)
        step = np.spacing(np.abs(np.asarray(degrees, ftype))).astype(np.float64)
    else:
        step = np.full(np.shape(degrees), 1.0 / spec.scale)
    return step + 0.6 * quantum


def _int_interval(lo, hi, scale, shift, low, high):
    a = np.clip(np.ceil((lo + shift) * scale - 1e-6), low, high)
    b = np.clip(np.floor((hi + shift) * scale + 1e-6), low, high)
    return a, b


def intervals(spec: Spec, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unsigned raw words whose degrees lie in [lo, hi]: up to two intervals per range (a
    signed range across zero is two in unsigned order), as (starts, ends) of shape (n, 2), float64
    (exact below 2^53, and ample for counting above); an empty interval has start > end."""
    lo, hi = np.atleast_1d(np.asarray(lo, np.float64)), np.atleast_1d(np.asarray(hi, np.float64))
    empty = np.stack([np.ones_like(lo), np.zeros_like(lo)])
    if spec.kind in ("mag", "j1939"):
        a, b = _int_interval(lo, hi, spec.scale, 210.0 if spec.kind == "j1939" else 0.0, 0, 2.0**32 - 1)
        return np.stack([a, empty[0]], 1), np.stack([b, empty[1]], 1)
    if spec.kind == "int":
        a, b = _int_interval(lo, hi, spec.scale, 0.0, -(2.0**31), 2.0**31 - 1)
        pos = (np.maximum(a, 0), b)
        neg = (a + 2.0**32, np.minimum(b, -1) + 2.0**32)
        return np.stack([pos[0], neg[0]], 1), np.stack([pos[1], neg[1]], 1)
    return _float_intervals(spec, lo, hi)


def _float_intervals(spec: Spec, lo, hi):
    """Positive part by the bits of the first float at or above max(lo, 0) and the last at or
    below hi; the negative part the same on magnitudes, with the sign bit set."""
    ftype, _ = _float_types(spec)
    sign = 2.0 ** (spec.bits - 1)

    def bits_between(a, b):
        fa, fb = a.astype(ftype), b.astype(ftype)
        fa = np.where(fa < a, np.nextafter(fa, ftype(np.inf)), fa)
        fb = np.where(fb > b, np.nextafter(fb, ftype(-np.inf)), fb)
        start, end = _bits(fa), _bits(fb)
        return np.where(a <= b, start, 1.0), np.where(a <= b, end, 0.0)

    ps, pe = bits_between(np.maximum(lo, 0.0), hi)
    ns, ne = bits_between(np.maximum(-hi, 0.0), -lo)
    ok = ns <= ne
    return np.stack([ps, np.where(ok, ns + sign, 1.0)], 1), np.stack([pe, np.where(ok, ne + sign, 0.0)], 1)


def _bits(values: np.ndarray) -> np.ndarray:
    """A non-negative float's bit pattern as float64 (a float64's top bits: exact enough to count)."""
    utype = np.uint32 if values.dtype == np.float32 else np.uint64
    return values.view(utype).astype(np.float64)


def count(spec: Spec, lo, hi) -> np.ndarray:
    starts, ends = intervals(spec, lo, hi)
    return np.maximum(ends - starts + 1, 0).sum(1)


def lon_count(spec: Spec, lo, hi) -> np.ndarray:
    """``count`` for longitudes, a range past 180 also counting its other spelling (signed kinds)."""
    lo, hi = np.atleast_1d(np.asarray(lo, np.float64)), np.atleast_1d(np.asarray(hi, np.float64))
    if spec.magnitude:
        return count(spec, lo, hi)
    main = count(spec, np.maximum(lo, -180.0), np.minimum(hi, 180.0))
    east = np.where(hi > 180.0, count(spec, np.full_like(lo, -180.0), hi - 360.0), 0.0)
    west = np.where(lo < -180.0, count(spec, lo + 360.0, np.full_like(hi, 180.0)), 0.0)
    return main + east + west


def pairs_bound(seg_lat, tol_lat, seg_lon, tol_lon) -> np.ndarray:
    """Raw (latitude, longitude) pairs within the tolerances of a segment, at most (see the module
    docstring); each argument a count of raw words."""
    return seg_lat * tol_lon + seg_lon * tol_lat + tol_lat * tol_lon


def pair_probability(spec: Spec, bound: np.ndarray) -> np.ndarray:
    """The chance that two random words of ``spec`` form one of ``bound`` accepted pairs."""
    return bound / 2.0 ** (2 * spec.bits)


def text_rate_per_gb(positions: int, near: int) -> float:
    """Expected random decimal-text matches per GB: a match needs a latitude and a longitude, each
    at least six characters ('d.dddd' and more) spelling that coordinate, of which at most three
    spellings fall within a tolerance of one unit of the last digit; random bytes give a given
    character with probability 1/256, the longitude within ``near`` bytes either side."""
    one = 3 * 256.0**-6
    return GB * positions * one * one * 2 * near
