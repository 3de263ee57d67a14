"""The binary search of taint: every encoding of ``taintrate.SPECS`` at every offset of a buffer,
against the vehicle's recent track, at a false-match rate the plan computes and bounds.

A ``Plan`` is made once per batch from the CAN positions around it. Every recent position is a
point (a sender that writes a CAN sample: any age); the positions current while the batch's
packets left are also segments to the next sample (the sender read the vehicle between two
samples); the newest, whose next sample is not in yet, is extended by its last step times its
age (speed x age) with a margin for the acceleration its last two seconds show; every step capped
at ``cap_deg`` (latitude degrees; longitude over cos(latitude), bounded at 89 degrees). Per
encoding the plan then decides what a latitude-longitude pair must be to count:

- *adjacent* (the longitude right before or after the latitude, as JT/T 808, GT06 and
  Teltonika lay them out) or *near* (up to ``MAX_GAP`` bytes between them: a field tag, a key, a
  flag byte; 12 times the offsets): a lone pair may match the positions the rule's part of the
  budget affords, shared across encodings cheapest first (``_allocate``), the current positions
  before the older;
- *corroborated*: any position of the plan, when a second pair of the same encoding matching
  another position lies within ``CORROBORATE_BYTES`` (a batched upload of the past sends many),
  if that rule keeps the encoding's share.

An encoding that no rule can afford is not searched (counted ``encodings_off``), nor one whose
latitudes would open more than TABLE_MOST top-16-bit values (``encodings_too_wide``).

Speed: the top 16 bits every wanted latitude can have (per width and byte order) gate the
offsets: each byte is mapped through two 256-byte tables with ``bytes.translate`` (may it start
or end such a pair), the maps ANDed eight offsets at a time, and the few offsets left looked up
in a 64K table; only those are decoded (lab/noise.py: about 6 s of CPU per GB, its payload made too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import native
from .finding import Position
from .geo import lon_delta
from .taintrate import (
    BUDGET_PER_GB,
    CAN_QUANTUM_DEG,
    GB,
    SHARE_PER_GB,
    SPECS,
    Spec,
    can_quantum,
    count,
    intervals,
    lon_count,
    pair_probability,
    pairs_bound,
    resolution,
    to_degrees,
)

MAX_GAP = 12  # bytes between the end of one coordinate and the start of the other
CORROBORATE_BYTES = 1024
MAX_POSITIONS = 512
TABLE_MOST = 1024  # top-16-bit values one encoding's latitudes may take (1.6 % of words)
MAX_LAT_MATCHES = 4096  # latitudes per buffer and encoding paired (a hostile payload full of them), the rest counted
MIN_COS = float(np.cos(np.radians(89.0)))
VELOCITY_BASELINE_S = 1.0  # the newest position's velocity is measured over this much of the track
MAX_ACCEL = 5.0  # m/s², braking or cornering: how far the vehicle may leave its extrapolated line
ACCEL_FLOOR = 1.0  # m/s² added to what the last samples show: it may start braking or turning
METRES_PER_DEGREE = 111_320.0
PARTS = {"adjacent": 0.4, "near": 0.4, "corroborated": 0.2}  # of the budget (lone pairs) or of an encoding's share
OFFSETS = {"adjacent": 2, "near": 2 * MAX_GAP}  # where a longitude may be, relative to its latitude
GROUPS = {(4, True): (1, 0), (8, True): (2, 0), (4, False): (4, 2), (8, False): (8, 6)}  # bit, offset to its top bytes


TEXT = Spec("text", 0, True, "text")


class Hit(NamedTuple):
    at: int  # where the latitude starts
    encoding: str
    position: Position | None
    end: int  # past the later coordinate
    rule: str | None = None
    rate_per_gb: float | None = None


@dataclass
class Segments:
    """What the CAN track offers a payload: every recent position as a point, and the positions
    current while the batch's packets left as segments (start, step). Nearest in time first."""
    lat: np.ndarray
    lon: np.ndarray
    dlat: np.ndarray
    dlon: np.ndarray
    margin: np.ndarray  # degrees added to each axis's tolerance (a predicted step's error)
    moving: np.ndarray  # True: a segment, False: a point
    current: np.ndarray  # a point or segment of the positions current while the batch's packets left
    quantum: float = CAN_QUANTUM_DEG  # the CAN position's resolution (taintrate.can_quantum)

    def __len__(self) -> int:
        return len(self.lat)

    def take(self, rows) -> Segments:
        return Segments(self.lat[rows], self.lon[rows], self.dlat[rows], self.dlon[rows], self.margin[rows],
                        self.moving[rows], self.current[rows], self.quantum)


def segments(ts, lats, lons, t0: float, t1: float, cap_deg: float) -> Segments:
    """Consecutive repeats (a parked vehicle) are one position; at most MAX_POSITIONS points,
    nearest in time to [t0, t1] first. A position current during [t0, t1] is also a segment to the
    next one; the newest, whose next is not in yet, to where its last step takes it by t1 (speed x
    age), with a quarter of that step as margin; every step capped at ``cap_deg``."""
    ts, lats, lons = (np.asarray(a, np.float64) for a in (ts, lats, lons))
    if not len(ts):
        return Segments(*(np.zeros(0) for _ in range(5)), np.zeros(0, bool), np.zeros(0, bool))
    first = np.flatnonzero(np.concatenate(([True], (np.diff(lats) != 0) | (np.diff(lons) != 0))))
    until = np.append(ts[first[1:]], np.inf)  # each position was current until the next one
    ts, lats, lons = ts[first], lats[first], lons[first]
    dlat, dlon, margin = np.zeros(len(ts)), np.zeros(len(ts)), np.zeros(len(ts))
    dlat[:-1], dlon[:-1] = np.diff(lats), lon_delta(lons[:-1], lons[1:])
    if len(ts) >= 2:
        age, vlat, vlon = _newest_motion(ts, lats, lons, t1)
        dlat[-1], dlon[-1] = vlat * age, vlon * age
        margin[-1] = 0.5 * _acceleration(ts, lats, lons) * age**2 / METRES_PER_DEGREE  # speed and heading changing meanwhile
    lon_cap = cap_deg / np.maximum(np.cos(np.radians(lats)), MIN_COS)
    shrink = np.minimum(1.0, np.minimum(cap_deg / np.maximum(np.abs(dlat), 1e-300), lon_cap / np.maximum(np.abs(dlon), 1e-300)))
    away = np.maximum(0.0, np.maximum(t0 - until, ts - t1))
    points = np.argsort(away, kind="stable")[:MAX_POSITIONS]
    current = np.flatnonzero((away == 0) & ((dlat != 0) | (dlon != 0)))
    zero = np.zeros(len(points))
    return Segments(np.concatenate([lats[points], lats[current]]), np.concatenate([lons[points], lons[current]]),
                    np.concatenate([zero, (dlat * shrink)[current]]), np.concatenate([zero, (dlon * shrink)[current]]),
                    np.concatenate([zero, margin[current]]),
                    np.concatenate([np.zeros(len(points), bool), np.ones(len(current), bool)]),
                    np.concatenate([away[points] == 0, np.ones(len(current), bool)]),
                    can_quantum(np.concatenate([lats[points], lons[points]])))


def _newest_motion(ts: np.ndarray, lats: np.ndarray, lons: np.ndarray, t1: float) -> tuple[float, float, float]:
    """(age, degrees of latitude and of longitude per second) for the newest position: the
    velocity over its last VELOCITY_BASELINE_S (latitude and longitude in two messages make a
    staircase whose last step moves one axis only), and how far ahead it may be read: to t1, and
    at least one fix interval (the updates of the coordinate that changed more often)."""
    base = min(int(np.searchsorted(ts, ts[-1] - VELOCITY_BASELINE_S)), len(ts) - 2)
    span = max(float(ts[-1] - ts[base]), 1e-3)
    changes = max(int(np.count_nonzero(np.diff(lats[base:]))), int(np.count_nonzero(np.diff(lons[base:]))), 1)
    age = max(t1 - float(ts[-1]), span / changes)
    return age, float(lats[-1] - lats[base]) / span, float(lon_delta(lons[base], lons[-1])) / span


def _acceleration(ts: np.ndarray, lats: np.ndarray, lons: np.ndarray) -> float:
    """How hard the vehicle was changing speed or heading (m/s²): the velocities over the two
    halves of its last two seconds compared (a long baseline, so a CAN position scaled by 1e-6
    does not read as noise), plus a floor for what it may start doing; at most MAX_ACCEL."""
    keep = ts >= ts[-1] - 2.0
    t, lat, lon = ts[keep], lats[keep], lons[keep]
    if len(t) < 3 or t[-1] - t[0] < 0.5:
        return MAX_ACCEL
    y = (lat - lat[0]) * METRES_PER_DEGREE
    x = lon_delta(lon[0], lon) * METRES_PER_DEGREE * np.cos(np.radians(lat))
    mid = len(t) // 2
    v1 = np.array([x[mid] - x[0], y[mid] - y[0]]) / max(t[mid] - t[0], 1e-3)
    v2 = np.array([x[-1] - x[mid], y[-1] - y[mid]]) / max(t[-1] - t[mid], 1e-3)
    return float(min(MAX_ACCEL, np.hypot(*(v2 - v1)) / ((t[-1] - t[0]) / 2) + ACCEL_FLOOR))


@dataclass
class Rules:
    """What one encoding accepts: per position its latitude box and tolerances, which positions a
    lone pair may match (adjacent or near), and the rates of each rule."""
    spec: Spec
    lat: np.ndarray
    lon: np.ndarray
    dlat: np.ndarray
    dlon: np.ndarray
    r_lat: np.ndarray
    r_lon: np.ndarray
    alone: dict[str, np.ndarray]
    rates: dict[str, float]
    corroborate: bool
    p: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per position: a random word pair matching it
    top16: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def usable(self) -> np.ndarray:
        return np.ones(len(self.lat), bool) if self.corroborate else self.alone["adjacent"] | self.alone["near"]


def _rules(spec: Spec, seg: Segments, values: RuleValues | None = None) -> Rules:
    """One encoding's rules for the plan: the per-position values (computed, or a memo's) and
    what depends on all of them together (the rates, whether to corroborate)."""
    lat, lon, dlat, dlon, r_lat, r_lon, p = values if values is not None else rule_values(spec, seg)
    rates = {"corroborated": float((p.sum() * 2 * (MAX_GAP + 1)) ** 2 * 2 * CORROBORATE_BYTES * GB)}
    corroborate = rates["corroborated"] <= PARTS["corroborated"] * SHARE_PER_GB
    alone = {rule: np.zeros(len(p), bool) for rule in OFFSETS}
    return Rules(spec, lat, lon, dlat, dlon, r_lat, r_lon, alone, rates, corroborate, p=p)


RuleValues = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rule_values(spec: Spec, seg: Segments) -> RuleValues:
    """Per position, for one encoding: (lat, lon, dlat, dlon) as the encoding reads them, the
    tolerances r_lat and r_lon, and p, the chance a random word pair matches it. Each position's
    values depend on it alone (and the plan's quantum), so a memo may keep them across batches."""
    lat, lon, dlat, dlon = seg.lat, seg.lon, seg.dlat, seg.dlon
    margin = seg.margin.copy()
    if spec.magnitude:  # magnitudes of both ends; a segment across zero dips to it
        end_lat, end_lon = np.abs(lat + dlat), np.abs(lon + dlon)
        margin += np.where(np.sign(lat) != np.sign(lat + dlat), np.minimum(np.abs(lat), end_lat), 0.0)
        margin += np.where(np.sign(lon) != np.sign(lon + dlon), np.minimum(np.abs(lon), end_lon), 0.0)
        lat, lon = np.abs(lat), np.abs(lon)
        dlat, dlon = end_lat - lat, end_lon - lon
    q = seg.quantum
    r_lat = np.maximum(resolution(spec, lat, q), resolution(spec, lat + dlat, q)) + margin
    r_lon = np.maximum(resolution(spec, lon, q), resolution(spec, lon + dlon, q)) + margin / np.maximum(np.cos(np.radians(lat)), MIN_COS)
    bound = pairs_bound(_seg_count(count, spec, lat, dlat), _tol_count(count, spec, lat, dlat, r_lat),
                        _seg_count(lon_count, spec, lon, dlon), _tol_count(lon_count, spec, lon, dlon, r_lon))
    return lat, lon, dlat, dlon, r_lat, r_lon, pair_probability(spec, bound)


def _allocate(all_rules: list[Rules], seg: Segments) -> None:
    """Which positions a lone pair may match, per encoding and rule, within the rule's part of the
    whole budget: first the positions current while the packets left (points, then segments),
    then the older points with what is left (an expensive segment does not shut out the exact past
    fixes). Within a group the encodings are served cheapest first, each up to an equal part of
    what is left, nearest in time first: one that needs little leaves the rest to the others
    (float32 near the equator needs a hundred times what int32 x1e6 does)."""
    groups = (np.flatnonzero(seg.current & ~seg.moving), np.flatnonzero(seg.moving), np.flatnonzero(~seg.current))
    for rule, offsets in OFFSETS.items():
        left = PARTS[rule] * (BUDGET_PER_GB - SHARE_PER_GB)  # text keeps one share
        for r in all_rules:
            r.rates[rule] = 0.0
        for at in groups:
            cumulative = [np.cumsum(r.p[at] * offsets * GB) for r in all_rules]
            # water-filling: the cheapest encodings first, each up to an equal part of what is left
            by_cost = sorted(range(len(all_rules)), key=lambda k: float(cumulative[k][-1]) if len(at) else 0.0)
            for n, k in enumerate(by_cost):
                c, r = cumulative[k], all_rules[k]
                ok = c <= left / (len(by_cost) - n)
                r.alone[rule][at[ok]] = True
                used = float(c[ok][-1]) if ok.any() else 0.0
                r.rates[rule] += used
                left -= used


def _seg_count(counter, spec, start, step):
    """Raw words a step spans (none for a point: its tolerance counts it)."""
    out = np.zeros(len(start))
    moving = np.flatnonzero(step != 0)
    if len(moving):
        a, b = start[moving], start[moving] + step[moving]
        out[moving] = counter(spec, np.minimum(a, b), np.maximum(a, b))
    return out


def _tol_count(counter, spec, start, step, r):
    """Raw words within the tolerance at the start, or at the end where that holds more."""
    out = counter(spec, start - r, start + r)
    moving = np.flatnonzero(step != 0)
    if len(moving):
        end = start[moving] + step[moving]
        out[moving] = np.maximum(out[moving], counter(spec, end - r[moving], end + r[moving]))
    return out


def _top16(rules: Rules) -> np.ndarray | None:
    """The top 16 bits the usable latitudes can have; None when too many for the table."""
    use = rules.usable()
    low = np.minimum(rules.lat, rules.lat + rules.dlat)[use] - rules.r_lat[use]
    high = np.maximum(rules.lat, rules.lat + rules.dlat)[use] + rules.r_lat[use]
    starts, ends = intervals(rules.spec, low, high)
    real = starts <= ends
    shift = 2.0 ** (rules.spec.bits - 16)
    a, b = np.floor(starts[real] / shift).astype(np.int64), np.floor(ends[real] / shift).astype(np.int64)
    if not len(a) or (b - a).max() >= TABLE_MOST:
        return None if len(a) else np.zeros(0, np.int64)
    width = int((b - a).max()) + 1
    values = a[:, None] + np.arange(width)
    top = np.unique(values[values <= b[:, None]])
    return None if len(top) > TABLE_MOST else top


class Plan:
    """The rules of every encoding for one batch's track, and the lookup table."""

    def __init__(self, seg: Segments, memo=None) -> None:
        """``memo`` (taintmemo.RuleMemo) keeps the per-position values across batches: the track
        a batch sees is mostly the one the batch before saw."""
        self.seg = seg
        self.counts: dict[str, int] = {}
        self.rules: list[Rules] = []
        self.table = np.zeros(1 << 16, np.uint8)
        first, second = np.zeros(256, np.uint8), np.zeros(256, np.uint8)
        self.tables = (first.tobytes(), second.tobytes(), self.table)
        if not len(seg):
            return
        values = memo.values(seg) if memo is not None else [None] * len(SPECS)
        every = [_rules(spec, seg, v) for spec, v in zip(SPECS, values, strict=True)]
        _allocate(every, seg)
        for rules in every:
            spec = rules.spec
            if not rules.corroborate and not (rules.alone["adjacent"].any() or rules.alone["near"].any()):
                self._count("encodings_off")
                continue
            top = _top16(rules)
            if top is None:
                self._count("encodings_too_wide")
                continue
            rules.top16 = top
            self.rules.append(rules)
            bit, back = GROUPS[(spec.width, spec.big)]
            # indexed by the pair at j read little-endian (b[j] | b[j+1] << 8): a big-endian word's
            # top bits are that pair swapped, a little-endian word's (two or six bytes on) that pair
            high, low = top >> 8, top & 0xFF
            self.table[(low << 8) | high if spec.big else top] |= bit
            first[high if spec.big else low] |= bit
            second[low if spec.big else high] |= bit
        self.tables = (first.tobytes(), second.tobytes(), self.table)

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def rate_per_gb(self) -> float:
        """Expected random matches per GB of this plan, every encoding and rule summed."""
        return sum(r.rates["adjacent"] + r.rates["near"] + (r.rates["corroborated"] if r.corroborate else 0.0)
                   for r in self.rules)

    def hits(self, buf: bytes) -> list[Hit]:
        if not self.rules or len(buf) < 4:
            return []
        core = native.kernels  # per call: native.use_numpy() switches it off for a block
        b = np.frombuffer(buf, np.uint8)
        where, flags = _candidates(self.tables, buf) if core is None else _candidates_native(core, self.tables, buf)
        out: list[Hit] = []
        for rules in self.rules:
            bit, back = GROUPS[(rules.spec.width, rules.spec.big)]
            at = where[(flags & bit) != 0] - back
            at = at[(at >= 0) & (at + rules.spec.width <= len(buf))]
            out += self._pairs(rules, b, at, len(buf), core)
        return _drop_repeated_magnitudes(out)

    def _pairs(self, rules: Rules, b: np.ndarray, at: np.ndarray, size: int, core=None) -> list[Hit]:
        use = np.flatnonzero(rules.usable())
        low = (np.minimum(rules.lat, rules.lat + rules.dlat) - rules.r_lat)[use]
        high = (np.maximum(rules.lat, rules.lat + rules.dlat) + rules.r_lat)[use]
        if core is None:
            at, values, inside = _latitudes(rules, b, at, low, high)
        else:
            at, values, inside = _latitudes_native(core, rules, b, at, low, high)
        keep = _some_longitude(rules, b, at, use, size)
        at, values, inside = at[keep], values[keep], inside[keep]
        if len(at) > MAX_LAT_MATCHES:
            self._count("latitudes_over_limit", len(at) - MAX_LAT_MATCHES)
            at, values, inside = at[:MAX_LAT_MATCHES], values[:MAX_LAT_MATCHES], inside[:MAX_LAT_MATCHES]
        found = [h for h in (self._pair(rules, b, int(at[i]), values[i], use[inside[i]], size) for i in range(len(at))) if h]
        return [h for h in found if h.rule != "weak"] + _corroborated(found, rules, self)

    def _pair(self, rules: Rules, b: np.ndarray, a: int, lat_value: float, ks: np.ndarray, size: int):
        """The nearest longitude (adjacent first) of the same position for the latitude at ``a``."""
        w = rules.spec.width
        gaps = np.repeat(np.arange(MAX_GAP + 1), 2)
        others = np.where(np.arange(len(gaps)) % 2 == 0, a + w + gaps, a - w - gaps)
        ok = (others >= 0) & (others + w <= size)
        others, gaps = others[ok], gaps[ok]
        lon_values = to_degrees(rules.spec, _words(b, others, rules.spec))
        row, k, s = _on_segment(rules, ks, lat_value, lon_values)
        if row is None:
            return None
        rule = "adjacent" if gaps[row] == 0 else "near"
        if not rules.alone[rule][k]:
            rule = "weak"
        position = _signed(rules, k, s, lat_value, float(lon_values[row]), self.seg)
        return Hit(a, rules.spec.name, position, max(a, int(others[row])) + w, rule, rules.rates.get(rule))


def _latitudes(rules: Rules, b: np.ndarray, at: np.ndarray, low: np.ndarray, high: np.ndarray):
    """The offsets whose word lies within a usable position's latitude range [low, high]: those
    offsets, their values and, per offset, which ranges hold it (the numpy reference)."""
    values = to_degrees(rules.spec, _words(b, at, rules.spec))
    inside = (values[:, None] >= low[None, :]) & (values[:, None] <= high[None, :])
    rows = np.flatnonzero(inside.any(1))
    return at[rows], values[rows], inside[rows]


def _latitudes_native(core, rules: Rules, b: np.ndarray, at: np.ndarray, low: np.ndarray, high: np.ndarray):
    """As ``_latitudes``, the test over every candidate in C (native/src/gw_taintscan.c: the
    ranges merged and searched, not a candidates x positions matrix); values and ranges are then
    computed for the few offsets left, as the reference computes them."""
    spec, at = rules.spec, np.ascontiguousarray(at, np.int64)
    order = np.argsort(low, kind="stable")
    rows = np.empty(len(at), np.int64)
    n = core.taint_latitude_rows(b, at, spec.width, spec.big, spec.kind, float(spec.scale), low[order], high[order], rows)
    at = at[rows[:n]]
    values = to_degrees(spec, _words(b, at, spec))
    inside = (values[:, None] >= low[None, :]) & (values[:, None] <= high[None, :])
    return at, values, inside


def _some_longitude(rules: Rules, b: np.ndarray, at: np.ndarray, use: np.ndarray, size: int) -> np.ndarray:
    """Which latitudes have, at one of the offsets a longitude may take, a value within the span
    of every usable position's longitudes: a cheap test for all at once before the exact one
    (a random latitude match rarely passes it)."""
    w = rules.spec.width
    offsets = np.concatenate([w + np.arange(MAX_GAP + 1), -w - np.arange(MAX_GAP + 1)])
    where = at[:, None] + offsets[None, :]
    inside = (where >= 0) & (where + w <= size)
    values = to_degrees(rules.spec, _words(b, np.where(inside, where, 0).ravel(), rules.spec)).reshape(where.shape)
    reach = np.abs(rules.dlon[use]) + rules.r_lon[use]
    if rules.spec.magnitude:
        low, high = (rules.lon[use] - reach).min(), (rules.lon[use] + reach).max()
        with np.errstate(invalid="ignore"):
            near = (values >= low) & (values <= high)
    else:  # the short way round: no farther from the first position than the farthest one reaches
        centre = rules.lon[use][0]
        span = (np.abs(lon_delta(centre, rules.lon[use])) + reach).max()
        with np.errstate(invalid="ignore"):
            values = np.where(np.abs(values) <= 181.0, values, np.nan)
            near = np.abs(lon_delta(centre, values)) <= span
    return (near & inside).any(1)


def _candidates(tables: tuple[bytes, bytes, np.ndarray], buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Offsets j whose two bytes (j, j+1) form a wanted top 16 bits, and the group bits they have.
    Each byte is first mapped through 256-byte tables (``bytes.translate``, a C loop: no 8-byte
    index array as numpy's gathers make) to the groups it may start or end a wanted pair for; the
    two maps are ANDed eight offsets at a time; the few offsets left are looked up exactly."""
    first, second, table = tables
    size = len(buf) // 8 * 8 + 8
    padded = buf + bytes(size + 1 - len(buf))
    both = np.frombuffer(padded[:size].translate(first), np.uint64) & np.frombuffer(padded[1:].translate(second), np.uint64)
    blocks = np.flatnonzero(both)
    at = (blocks[:, None] * 8 + np.arange(8)).ravel()
    b = np.frombuffer(padded, np.uint8)
    at = at[both.view(np.uint8)[at] != 0]
    flags = table[b[at].astype(np.int64) | (b[at + 1].astype(np.int64) << 8)]
    return at[flags != 0], flags[flags != 0]


def _candidates_native(core, tables: tuple[bytes, bytes, np.ndarray], buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """As ``_candidates``, one pass over the bytes in C. Ciphertext leaves about one offset in
    6,000 (one in 200 for a track at the equator, whose latitudes' top bits are common); a
    payload with more (hostile: zeros, repeated words) gets a second pass with room for all."""
    first, second, table = tables
    room = len(buf) // 64 + 64
    at, flags = np.empty(room, np.int64), np.empty(room, np.uint8)
    n = core.taint_candidates(buf, first, second, table, at, flags)
    if n > room:
        at, flags = np.empty(n, np.int64), np.empty(n, np.uint8)
        n = core.taint_candidates(buf, first, second, table, at, flags)
    return at[:n], flags[:n]


def _words(b: np.ndarray, at: np.ndarray, spec: Spec) -> np.ndarray:
    """The word at each offset, as unsigned in the spec's byte order."""
    raw = b[at[:, None] + np.arange(spec.width)]
    dtype = (">" if spec.big else "<") + ("u4" if spec.width == 4 else "u8")
    return np.ascontiguousarray(raw).view(dtype).ravel().astype(np.uint64 if spec.width == 8 else np.uint32)


def _on_segment(rules: Rules, ks: np.ndarray, lat_value: float, lon_values: np.ndarray):
    """The first longitude (in the given order) and, for it, the first position (nearest in time)
    whose segment passes within the tolerances of the pair, with the fraction of the segment
    there: (row, position, fraction), or Nones."""
    lo = np.zeros((len(lon_values), len(ks)))
    hi = np.ones((len(lon_values), len(ks)))
    with np.errstate(invalid="ignore"):  # NaN words compare false
        lons = np.where(np.abs(lon_values) <= 181.0, lon_values, np.nan)[:, None]  # 1e16 is no longitude, whatever it is mod 360
        dlon_value = lons - rules.lon[ks] if rules.spec.magnitude else lon_delta(rules.lon[ks][None, :], lons)
        for delta, step, r in ((lat_value - rules.lat[ks][None, :], rules.dlat[ks], rules.r_lat[ks]),
                               (dlon_value, rules.dlon[ks], rules.r_lon[ks])):
            lo, hi = _fraction(lo, hi, delta, step[None, :], r[None, :])
    hi = np.where(np.isnan(lons), -np.inf, hi)
    ok = np.argwhere(lo <= hi)
    if not len(ok):
        return None, None, None
    row, col = (int(x) for x in ok[0])  # argwhere is in row-major order: nearest longitude, then nearest in time
    return row, int(ks[col]), float((lo[row, col] + hi[row, col]) / 2)


def _fraction(lo, hi, delta, step, r):
    """Narrow the segment fractions [lo, hi] to where one axis lies within ``r`` of ``delta``."""
    flat = np.abs(step) < 1e-15
    near = np.abs(delta) <= r
    safe = np.where(flat, 1.0, step)
    a, b = (delta - r) / safe, (delta + r) / safe
    a, b = np.where(flat, np.where(near, -np.inf, np.inf), np.minimum(a, b)), \
        np.where(flat, np.where(near, np.inf, -np.inf), np.maximum(a, b))
    return np.maximum(lo, a), np.minimum(hi, b)


def _signed(rules: Rules, k: int, s: float, lat: float, lon: float, seg: Segments) -> Position:
    """A magnitude takes the hemisphere of the CAN position it matched (the bytes carry none)."""
    if rules.spec.magnitude:
        lat = float(np.copysign(lat, seg.lat[k] + s * seg.dlat[k]))
        lon = float(np.copysign(lon, seg.lon[k] + s * seg.dlon[k]))
    return Position(float(lat), float(lon))


def _corroborated(found: list[Hit], rules: Rules, plan: Plan) -> list[Hit]:
    """Weak pairs (matching a position too old to count alone) with a second pair of the same
    encoding, of another position, within CORROBORATE_BYTES."""
    if not rules.corroborate:
        return []
    out = []
    for h in (h for h in found if h.rule == "weak"):
        if any(o is not h and o.position != h.position and abs(o.at - h.at) <= CORROBORATE_BYTES
               and (o.end <= h.at or h.end <= o.at) for o in found):
            out.append(h._replace(rule="corroborated", rate_per_gb=rules.rates["corroborated"]))
    if out:
        plan._count("corroborated", len(out))
    return out


def text_match(seg: Segments, lat: float, lon: float, r: float) -> int | None:
    """The position (nearest in time first) whose segment passes within ``r`` degrees (plus the
    segment's own margin) of a pair read as text; None when none does."""
    r = r + 0.6 * seg.quantum
    lon_margin = seg.margin / np.maximum(np.cos(np.radians(seg.lat)), MIN_COS)
    rules = Rules(TEXT, seg.lat, seg.lon, seg.dlat, seg.dlon, seg.margin + r, lon_margin + r, {}, {}, False)
    near = np.flatnonzero(np.abs(lat - (seg.lat + seg.dlat / 2)) <= np.abs(seg.dlat) / 2 + rules.r_lat)
    _row, k, _s = _on_segment(rules, near, lat, np.array([lon]))
    return k


def _drop_repeated_magnitudes(hits: list[Hit]) -> list[Hit]:
    """One finding per position: a north-east position's words are int32 x1e6 and its magnitude."""
    seen = {(h.at, h.end) for h in hits if "magnitude" not in h.encoding}
    return [h for h in hits if "magnitude" not in h.encoding or (h.at, h.end) not in seen]
