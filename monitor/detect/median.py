"""The median of a small 1-D array, as ``np.median`` gives it, without its per-call overhead.

The behaviour detectors take medians of a few dozen upload intervals and sizes, once per upload
judged: ``np.median``'s dispatch, partition and mean cost more than the numbers themselves. The
result is the same float: the middle value, or the two middle values summed and halved in
float64 as ``np.mean`` sums them (from +0.0: a median of -0.0 is 0.0). An empty array or one
holding NaN, and any dtype but float64 and integers (float32 is summed in float32), are left to
``np.median`` (its NaN and its warnings).
"""

from __future__ import annotations

import numpy as np


def median(values: np.ndarray) -> float:
    values = np.asarray(values)
    if values.ndim != 1 or not (values.dtype == np.float64 or values.dtype.kind in "iu"):
        return float(np.median(values))
    ordered = np.sort(np.asarray(values, dtype=np.float64), kind="stable")  # NaN sorts last
    n = len(ordered)
    if not n or ordered[-1] != ordered[-1]:
        return float(np.median(values))
    mid = n // 2
    if n % 2:
        return float(0.0 + ordered[mid])
    return float((0.0 + ordered[mid - 1] + ordered[mid]) / 2.0)
