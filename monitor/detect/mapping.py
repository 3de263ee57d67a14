"""Mapping-like uploads: does this destination receive a volume that follows the distance driven?

Judged from a flow's (or destination's) uploads (``uploads.Bursts``) against the distance the
vehicle drove, second by second (``Motion``), at any speed:

* the volume: the median over the intervals between uploads of the bytes sent per km driven in
  it, between ``min_bytes_per_km`` (semantic map harvesting runs near 10 KB/km) and
  ``max_bytes_per_km`` (video is far above); a median, so one large upload (a log file) among
  small ones does not make a volume;
* stops, where there are any: a vehicle parked for ``min_parked_s`` and at least two upload
  periods is the best evidence there is: a mapping upload goes quiet (the parked upload rate at
  most ``max_standing_share`` of the moving one) and resumes when the vehicle moves; a constant
  rate that goes on while parked is driven by the clock (a beacon, telemetry), never mapping;
* without an informative stop, which clock the uploads follow: between consecutive uploads, the
  spread of bytes per km against the spread of bytes per second. Where speed varies, a volume
  that follows distance keeps the first steady and a timer keeps the second. At a steady speed
  the two clocks agree and cannot be told apart: then the per-km volume sustained while moving
  decides for uploads of more than one full packet (``min_steady_upload_bytes``: multi-record
  bursts); a single small message is taken for a timer (a beacon) until a stop or a change of
  speed says otherwise: a one-record mapping upload on a timer at a steady speed is the one
  ambiguity left;
* two uploads of several packets a measured distance apart are enough to judge (slow driving
  with an upload per kilometre would otherwise wait minutes for a third); smaller ones need
  ``min_uploads``;
* sustained: windows adapted to the flow's own period (``window_periods`` median periods long)
  while moving hold an upload in at least ``min_moving_coverage`` of the moving time.

The fixed 10 s windows and the correlation of bytes with distance this replaces saw noise at a
constant speed (both flat) and fired on a few windows of video.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..state import DISTANCE, SPEED, VehicleState
from .median import median

MAX_SAMPLE_GAP_S = 5.0  # speed samples further apart than this leave the distance between unknown


@dataclass(frozen=True)
class MappingThresholds:
    min_km: float = 0.2  # slow city driving covers 0.3 km in a minute or more
    min_bytes_per_km: float = 8000.0  # semantic map harvesting runs near 10 KB/km
    max_bytes_per_km: float = 500_000.0  # video is megabytes per km
    min_uploads: int = 3  # two when they are multi-packet: a volume per km, if not yet a rhythm
    min_speed_kmh: float = 3.0
    window_periods: float = 3.0  # a judging window is this many upload periods long
    min_window_s: float = 10.0
    max_window_s: float = 300.0
    min_moving_coverage: float = 0.8
    min_parked_s: float = 20.0  # a shorter stop (or one shorter than two periods) says nothing
    max_standing_share: float = 0.2  # upload rate while parked against the rate while moving
    steady_spread: float = 0.1  # speed between uploads varying less than this (standard deviation of its log)
    min_steady_upload_bytes: int = 1500  # at a steady speed: more than one full packet (a multi-record burst)
    horizon_s: float = 600.0  # uploads older than this are not judged
    max_burst_s: float = 5.0  # a burst longer than this is a stream (video), not an upload


class Motion:
    """Distance driven over the last ``horizon_s``, per whole second and up to the newest packet,
    from the state's speed (integrated: smooth at any resolution), else its odometer."""

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self.second: int | None = None  # the data second the whole seconds were built at
        self.first = 0  # the second km[0] covers
        self.km = np.zeros(0)  # per whole second (NaN: unknown)
        self.whole = np.zeros(1)  # km from ``first`` to each whole second, unknown seconds as none
        self.grid, self.cumulative = np.zeros(1), np.zeros(1)  # the whole seconds and now, and km to each
        self.until: float | None = None

    def refresh(self, state: VehicleState, now: float) -> None:
        """The whole seconds are rebuilt once per second of data time, the part of a second up to
        ``now`` on every call: many flows are judged within one second."""
        if now == self.until:
            return
        second = int(np.floor(now))
        if second != self.second:
            self.second, self.first = second, int(second - self.horizon_s)
            self.km = np.diff(_cumulative_km(state, np.arange(self.first, second + 1, dtype=float)))
            self.whole = np.concatenate(([0.0], np.cumsum(np.nan_to_num(self.km))))
        tail = float(np.nan_to_num(np.diff(_cumulative_km(state, np.array([second, now])))[0])) if now > second else 0.0
        self.grid = np.append(np.arange(self.first, second + 1, dtype=float), now)
        self.cumulative = np.append(self.whole, self.whole[-1] + tail)
        self.until = now

    def between(self, t0: float, t1: float) -> np.ndarray:
        """Per-second km for the whole seconds from t0 up to t1 (NaN: unknown)."""
        lo, hi = int(np.floor(t0)) - self.first, int(np.floor(t1)) - self.first
        return self.km[max(lo, 0) : max(hi, 0)]

    def distance(self, times: np.ndarray) -> np.ndarray:
        """km driven from the start of the horizon to each time (unknown stretches count as none)."""
        return np.interp(times, self.grid, self.cumulative)


def _cumulative_km(state: VehicleState | None, grid: np.ndarray) -> np.ndarray:
    series = state.series if state is not None else {}  # None: a detector driven without a vehicle
    speed = series.get(SPEED)
    ts, values = speed.between(grid[0] - MAX_SAMPLE_GAP_S, grid[-1]) if speed else (np.zeros(0), np.zeros(0))
    if len(ts) >= 2:
        values = values.astype(float)
        cumulative = np.concatenate(([0.0], np.cumsum(np.diff(ts) * values[:-1] / 3600.0)))
        out = np.interp(grid, ts, cumulative)
        known = (grid >= ts[0]) & (grid <= ts[-1] + MAX_SAMPLE_GAP_S)
        gap_after = np.diff(ts) > MAX_SAMPLE_GAP_S  # a silent bus: the distance across is unknown
        in_gap = gap_after[np.clip(np.searchsorted(ts, grid, side="right") - 1, 0, len(ts) - 2)]
        return np.where(known & ~in_gap, out, np.nan)
    odometer = series.get(DISTANCE)
    ts, values = odometer.between(grid[0] - 60.0, grid[-1]) if odometer else (np.zeros(0), np.zeros(0))
    if len(ts) >= 2:
        return np.where((grid >= ts[0]) & (grid <= ts[-1] + MAX_SAMPLE_GAP_S), np.interp(grid, ts, values.astype(float)), np.nan)
    return np.full(len(grid), np.nan)


@dataclass
class Judgement:
    """What the uploads say about distance: ``mapping_like`` when their volume follows it."""
    mapping_like: bool
    follows: str  # "distance", "time", "steady speed" or "unknown" (one interval)
    ambiguous: bool = False  # small uploads at a steady speed with a mapping-like volume: either clock fits
    evidence: dict = field(default_factory=dict)


def judge(starts: np.ndarray, sizes: np.ndarray, motion: Motion, now: float, t: MappingThresholds) -> Judgement | None:
    """None when there is too little to judge: fewer than two uploads, or no distance known."""
    keep = starts >= now - t.horizon_s
    starts, sizes = starts[keep], sizes[keep]
    km_per_s = motion.between(starts[0], now) if len(starts) else np.zeros(0)
    if len(starts) < 2 or not np.isfinite(km_per_s).any():
        return None
    travelled = np.diff(motion.distance(starts))
    dt = np.maximum(np.diff(starts), 1e-3)
    period = float(median(dt))
    km = float(travelled.sum())
    per_km = float(median(sizes[1:] / np.maximum(travelled, 1e-3)))  # one odd upload does not make a volume
    known = np.isfinite(motion.between(starts[0], starts[-1] + 1))
    whole = np.minimum.reduceat(known, np.clip(np.floor(starts - starts[0]).astype(int), 0, len(known) - 1))[:-1]
    large = bool(median(sizes) >= t.min_steady_upload_bytes)  # multi-packet uploads (records of a map)
    follows = _follows(sizes[1:][whole], travelled[whole], dt[whole], t)  # intervals with the distance known throughout
    moving = km_per_s * 3600 >= t.min_speed_kmh
    window = float(np.clip(t.window_periods * period, t.min_window_s, t.max_window_s))
    coverage = _coverage(starts, moving, int(np.floor(starts[0])), window)
    parked_s, parked_share = _stops(starts, sizes, km_per_s, moving, t)
    informative = parked_s >= max(t.min_parked_s, 2 * period)
    judged_by = _judged_by(informative, parked_share, follows, large, t)
    enough = (len(starts) >= t.min_uploads or large) and km >= t.min_km and t.min_bytes_per_km <= per_km <= t.max_bytes_per_km
    evidence = {"bytes_per_km": round(per_km, 1), "km": round(km, 3), "judged_by": judged_by or "", "follows": follows,
                "period_s": round(period, 2), "window_s": round(window, 1), "uploads": len(starts),
                "moving_windows_with_uploads": round(coverage, 3), "parked_s": parked_s,
                "parked_to_moving_upload_rate": round(parked_share, 3)}
    like = enough and judged_by is not None and coverage >= t.min_moving_coverage
    ambiguous = (not informative and follows in ("steady speed", "unknown") and not large
                 and t.min_bytes_per_km <= per_km <= t.max_bytes_per_km)
    return Judgement(like, follows, ambiguous, evidence)


def _judged_by(informative: bool, parked_share: float, follows: str, large: bool, t: MappingThresholds) -> str | None:
    """The evidence that the uploads follow distance, or None: a stop long enough to tell first;
    else the clock they keep; at a steady speed (or from one interval) only multi-packet uploads,
    since both clocks fit and a timer is the simpler account of one small message."""
    if informative:
        return "stops" if parked_share <= t.max_standing_share else None
    if follows in ("steady speed", "unknown"):
        return "uploads while moving" if large else None
    return "volume follows distance" if follows == "distance" else None


def _follows(sizes: np.ndarray, km: np.ndarray, dt: np.ndarray, t: MappingThresholds) -> str:
    """Which clock the uploads keep: "distance", "time", or "steady speed" when the speed between
    uploads hardly varied (both clocks fit); "unknown" from a single interval. Spreads are standard
    deviations of logarithms: one interval at another speed is enough to tell the clocks apart."""
    if len(sizes) < 2:
        return "unknown"
    km = np.maximum(km, 1e-3)  # a metre: an upload after standing still is far from distance-driven
    if _spread(np.log(km / dt)) < t.steady_spread:
        return "steady speed"
    return "distance" if _spread(np.log(sizes / km)) < _spread(np.log(sizes / dt)) else "time"


def _spread(values: np.ndarray) -> float:
    return float(np.std(values))


def _coverage(starts: np.ndarray, moving: np.ndarray, first: int, window: float) -> float:
    """Share of the moving seconds that lie within ``window`` after an upload: a window of the
    flow's own periods with no upload while moving is an upload that stopped."""
    seconds = first + np.arange(len(moving))
    last = np.searchsorted(starts, seconds + 1, side="right") - 1  # the latest upload at or before each second
    since = seconds - starts[np.maximum(last, 0)]
    covered = (last >= 0) & (since < window)
    return float(covered[moving].mean()) if moving.any() else 0.0


def _stops(starts: np.ndarray, sizes: np.ndarray, km_per_s: np.ndarray, moving: np.ndarray,
           t: MappingThresholds) -> tuple[int, float]:
    """(seconds parked, the upload rate while parked as a share of the rate while moving). Parked:
    standing with two standing seconds either side, so an upload sent as the vehicle halts or
    starts off is not counted against it."""
    standing = np.isfinite(km_per_s) & ~moving
    padded = np.concatenate(([False, False], standing, [False, False]))
    n = len(standing)
    parked = padded[0:n] & padded[1 : n + 1] & padded[2 : n + 2] & padded[3 : n + 3] & padded[4 : n + 4]
    index = np.clip((np.floor(starts) - np.floor(starts[0])).astype(int), 0, len(moving) - 1)
    parked_bytes, moving_bytes = sizes[parked[index]].sum(), sizes[moving[index]].sum()
    parked_s, moving_s = int(parked.sum()), int(moving.sum())
    if not parked_s or not moving_s:
        return parked_s, 0.0
    if not moving_bytes:
        return parked_s, float("inf") if parked_bytes else 0.0
    return parked_s, float((parked_bytes / parked_s) / (moving_bytes / moving_s))
