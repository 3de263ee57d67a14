"""Beacon-like uploads: small uploads at a regular period (a position reported on a timer).

Judged on a flow's (or destination's) upload bursts (``uploads.Bursts``: connection set-up is
not a burst) as soon as there are ``min_uploads`` of them (five periods) and ``min_span_s``
seconds passed since the connection opened, whichever is later: the median interval is the
period, the intervals' coefficient of variation the jitter, over the recent bursts (the last
``RECENT``, or all of the last ``min_span_s`` if those are more). A connection that lasts only
a few periods is judged on its own.

A mapping upload at a steady speed is periodic in time too; the behaviour detector asks the
mapping judgement first and holds a beacon back where the uploads follow the distance driven.
Where they could as well (one small message per period at a steady speed, a mapping-like volume
per km), the beacon waits up to ``max_ambiguous_s`` from the connection's opening for a stop or a
change of speed to tell the two apart, then is flagged as a beacon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .median import median

RECENT = 24


@dataclass(frozen=True)
class BeaconThresholds:
    min_uploads: int = 6  # five periods
    min_span_s: float = 60.0  # and a minute, whichever is later
    max_upload_bytes: int = 4096
    min_period_s: float = 1.0
    max_period_s: float = 900.0
    max_jitter: float = 0.2  # coefficient of variation of the intervals
    gap_s: float = 0.5  # uploads closer than this are one burst
    max_down_ratio: float = 8.0  # received bytes beyond this many times those sent: a download's requests
    max_ambiguous_s: float = 180.0  # uploads that could as well follow distance wait this long for evidence


def judge(starts: np.ndarray, sizes: np.ndarray, t: BeaconThresholds, opened: float = float("-inf")) -> dict | None:
    """The evidence (period, jitter, uploads, mean size) when the recent bursts are beacon-like.
    ``opened``: when the flow (or the destination's first flow) was first seen; the minute is
    counted from there, or from one period before the first upload if that is later (a
    connection opened long before its first upload does not count its idle time)."""
    if len(starts) < t.min_uploads:
        return None
    first = int(np.searchsorted(starts, starts[-1] - t.min_span_s, side="right")) - 1
    first = max(0, min(first, len(starts) - RECENT))
    starts, sizes = starts[first:], sizes[first:]
    intervals = np.diff(starts)
    period = float(median(intervals))
    if starts[-1] - max(opened, starts[0] - period) < t.min_span_s:
        return None
    jitter = float(np.std(intervals) / period) if period > 0 else float("inf")
    small = bool((sizes <= t.max_upload_bytes).all())
    if not (small and t.min_period_s <= period <= t.max_period_s and jitter <= t.max_jitter):
        return None
    return {"period_s": round(period, 3), "jitter": round(jitter, 4), "uploads": len(starts),
            "span_s": round(float(starts[-1] - starts[0]), 1), "mean_upload_bytes": round(float(sizes.mean()), 1)}


def confidence(jitter: float, t: BeaconThresholds) -> float:
    return 0.5 + 0.3 * (1 - jitter / t.max_jitter) if t.max_jitter else 0.5
