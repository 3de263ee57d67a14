"""One quantity measured twice: the straight line between two series (each (times, values)),
the second sampled against the first's latest value no older than ``stale_s``. Shared by
``can.signals`` (DBC signals) and ``can_payload``'s fields (raw readings, no DBC)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SAMPLES = 20


@dataclass(frozen=True)
class Line:
    slope: float
    intercept: float
    spread: float  # the residual's spread (at least a thousandth of the range)
    gap: float  # min_gap of the second series' learned range: how far off the line counts
    correlation: float


def fit_same_quantity(xs: tuple, ys: tuple, stale_s: float, min_correlation: float, min_gap: float) -> Line | None:
    """The line y = slope * x + intercept when the two move together (correlation at least
    ``min_correlation``) with a slope of 0.5-2 and an intercept near zero; else None."""
    (tx, vx), (ty, vy) = xs, ys
    at = np.searchsorted(tx, ty, side="right") - 1
    ok = (at >= 0) & (ty - tx[np.maximum(at, 0)] <= stale_s)
    if ok.sum() < MIN_SAMPLES:
        return None
    px, py = vx[at[ok]], vy[ok]
    if px.std() == 0 or py.std() == 0:
        return None
    with np.errstate(all="ignore"):
        r = float(np.corrcoef(px, py)[0, 1])
    if not r >= min_correlation:  # NaN too (values so large their products overflow)
        return None
    try:
        slope, intercept = np.polyfit(px, py, 1)
    except (np.linalg.LinAlgError, ValueError):
        return None
    if not (0.5 <= slope <= 2.0 and abs(intercept) <= 0.1 * float(np.abs(py).max())):
        return None  # not one quantity measured twice (latitude and longitude on a straight road correlate too)
    span = float(py.max() - py.min())
    spread = max(float((py - (slope * px + intercept)).std()), 1e-3 * span)
    return Line(float(slope), float(intercept), spread, min_gap * span, r)
