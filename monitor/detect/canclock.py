"""The sending clock of each periodic CAN id: another node sending in place of the genuine ECU
(a masquerade) shows in *when* the frames arrive, not only in what they say.

A periodic ECU sends an id on its own clock: frame k near a + k P, give or take its jitter
(Cho and Shin's clock-based IDS fingerprints ECUs by that clock). While the bus learns, an id whose
intervals stay within half a period of their median gets a grid (a and P fitted by least squares,
so the sender's clock skew is in P) and the spread of its residuals. An id whose jitter exceeds
``max_jitter`` of its period (a low-priority id on a loaded bus, a logger that stamps frames in
batches) has no usable phase and gets no grid. After learning, a frame whose residual (wrapped to
within half a period) exceeds the tolerance (``spreads`` learned spreads, at least
``min_tolerance`` of the period and 1.5 times the largest residual learned) is off the grid, and
``min_off`` of an id's last ``of_last`` frames off the grid mean its sender changed. Frames on
the grid pull the grid's origin towards them (half their median residual per batch), so a
clock's slow drift over hours is followed; frames off it do not move it.

A changed clock alone is no finding: an ECU that restarts or reschedules moves its phase too
(ROAD's benign ids 0x3C and 0xF4 do). It corroborates the payload model (``canpayload.py``): a
frame of a changed sender that also breaks the id's model is flagged there.
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
    recent: list = field(default_factory=list)  # off-grid flags of the id's last frames (at most of_last - 1)


def fit_grid(ts: np.ndarray, t: ClockThresholds) -> Grid | None:
    """The grid of one id's learning frames, or None when it is not periodic enough to have one."""
    if len(ts) < t.min_frames:
        return None
    intervals = np.diff(ts)
    period = float(np.median(intervals))
    if period <= 0 or (np.abs(intervals / period - 1) < 0.5).mean() < 0.9:
        return None  # event-driven, or several frames per cycle (a multiplexed id)
    k = np.round((ts - ts[0]) / period)
    origin, period = np.linalg.lstsq(np.column_stack([np.ones(len(k)), k]), ts, rcond=None)[0]
    residual = ts - origin - k * period
    spread = float(residual.std())
    if period <= 0 or spread > t.max_jitter * period:
        return None
    tolerance = max(t.spreads * spread, t.min_tolerance * period, 1.5 * float(np.abs(residual).max()))
    return Grid(float(origin), float(period), tolerance)


def sender_changed(grid: Grid, ts: np.ndarray, t: ClockThresholds) -> np.ndarray:
    """Per frame of the id (in time order): has its sender's clock changed by then? Moves the
    grid's origin with the frames that fit and keeps the last flags for the next batch."""
    offset = (ts - grid.origin) / grid.period
    residual = (offset - np.round(offset)) * grid.period
    off = np.abs(residual) > grid.tolerance
    if (~off).any():
        grid.origin += 0.5 * float(np.median(residual[~off]))
    carried = np.array(grid.recent, bool)
    window = np.concatenate([carried, off]).astype(np.int32)
    counts = np.convolve(window, np.ones(t.of_last, np.int32))[: len(window)][len(carried):]
    grid.recent = window[len(window) - (t.of_last - 1):].astype(bool).tolist() if t.of_last > 1 else []
    return counts >= t.min_off
