"""The sending clock of each periodic CAN id: another node sending in place of the genuine ECU
(a masquerade) shows in *when* the frames arrive, not only in what they say.

A periodic ECU sends an id on its own timer: one frame every P, give or take its jitter (Cho and
Shin's clock-based IDS fingerprints ECUs by that timer). While the bus learns, an id whose
intervals stay within half a period of their median gets a clock: P (fitted by least squares
over the frame numbers, so the sender's skew is in it) and how far an interval strays from a
whole number of periods. An id whose jitter exceeds ``max_jitter`` of its period (a
low-priority id on a loaded bus, a logger that stamps frames in batches) gets no clock. After
learning, a frame is off the clock when both its interval from the last frame strays from a
whole number of periods and its time strays from the learned grid (origin + k P) by more than
the tolerance (``spreads`` learned spreads, at least ``min_tolerance`` of the period and 1.5
times the most a frame strayed while learning); ``min_off`` of an id's last ``of_last`` frames
off it mean another sender keeps the id now. Frames on the grid pull its origin towards them
(half their median residual per batch), so a clock's slow drift over hours is followed.

Both, because a genuine ECU breaks each alone: one that sends an extra frame on a change of
state and restarts its timer from it (AUTOSAR's mixed transmission mode may) moves its phase
once and keeps its intervals after it; one that sends a burst of event frames between its slots
strays in its intervals and comes back to its phase. A node of its own timer and scheduling,
sending in the ECU's place, strays in both. A changed clock alone is no finding (an ECU restarting, a bus-off recovery); it confirms the
payload model (``canpayload.py``): a frame of a changed sender that also breaks the id's model
is flagged there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClockThresholds:
    max_jitter: float = 0.05  # residual spread at most this share of the period, or the id gets no grid
    spreads: float = 8.0  # a frame this many learned spreads off the grid is off it
    min_tolerance: float = 0.02  # and at least this share of the period off
    min_off: int = 3  # frames off the grid among an id's last ``of_last`` that make its sender changed
    of_last: int = 4
    min_frames: int = 20  # learning frames an id needs for a grid


@dataclass
class Grid:
    origin: float
    period: float
    tolerance: float
    last: float  # the id's latest frame time
    recent: list = field(default_factory=list)  # off-clock flags of the id's last frames (at most of_last - 1)


def strays(intervals: np.ndarray, period: float) -> np.ndarray:
    """How far each interval is from a whole number of periods (at least one: an extra frame
    strays by its own shortness)."""
    whole = np.maximum(np.round(intervals / period), 1)
    return np.abs(intervals - whole * period)


def fit_grid(ts: np.ndarray, t: ClockThresholds) -> Grid | None:
    """The clock of one id's learning frames, or None when it is not periodic enough to have one."""
    if len(ts) < t.min_frames:
        return None
    intervals = np.diff(ts)
    period = float(np.median(intervals))
    if period <= 0 or (np.abs(intervals / period - 1) < 0.5).mean() < 0.9:
        return None  # event-driven, or several frames per cycle (a multiplexed id)
    k = np.round((ts - ts[0]) / period)
    period, origin = (float(v) for v in np.polyfit(k, ts, 1))
    residual = ts - origin - k * period
    stray = np.concatenate([strays(intervals, period), np.abs(residual)])
    spread = float(residual.std())
    if period <= 0 or spread > t.max_jitter * period:
        return None
    tolerance = max(t.spreads * spread, t.min_tolerance * period, 1.5 * float(stray.max()))
    return Grid(origin, period, tolerance, float(ts[-1]))


def sender_changed(grid: Grid, ts: np.ndarray, t: ClockThresholds) -> np.ndarray:
    """Per frame of the id (in time order): has another sender kept the id by then? Keeps the last
    frame time and flags for the next batch."""
    offset = (ts - grid.origin) / grid.period
    residual = (offset - np.round(offset)) * grid.period
    on_grid = np.abs(residual) <= grid.tolerance
    if on_grid.any():
        grid.origin += 0.5 * float(np.median(residual[on_grid]))
    off = ~on_grid & (strays(np.diff(np.concatenate([[grid.last], ts])), grid.period) > grid.tolerance)
    grid.last = float(ts[-1])
    carried = np.array(grid.recent, bool)
    window = np.concatenate([carried, off]).astype(np.int32)
    counts = np.convolve(window, np.ones(t.of_last, np.int32))[: len(window)][len(carried):]
    grid.recent = window[-(t.of_last - 1):].astype(bool).tolist() if t.of_last > 1 else []
    return counts >= t.min_off
