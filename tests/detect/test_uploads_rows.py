"""Bursts keeps its closed bursts as a float array grown as they close (uploads.Bursts._rows):
after any sequence of adds and clears, at and beyond the deque's bound, uploads() gives what
converting the deque afresh gives, for every ``since``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.detect import uploads
from monitor.detect.uploads import Bursts


def _afresh(bursts: Bursts, since: float) -> tuple[np.ndarray, np.ndarray]:
    rows = [b for b in bursts.closed if b[0] >= since]
    if bursts.open is not None and bursts.open[1] - bursts.open[0] <= bursts.max_burst_s and bursts.open[0] >= since:
        rows.append(tuple(bursts.open))
    if not rows:
        return np.zeros(0), np.zeros(0)
    array = np.array(rows, dtype=float)
    return array[:, 0], array[:, 2]


STEP = st.one_of(
    st.just("clear"),
    st.lists(st.tuples(st.floats(0.0, 5.0), st.integers(1, 3000)), min_size=1, max_size=30),  # (gap, bytes)
)


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=25), st.sampled_from([float("-inf"), 0.0, 30.0, 200.0]),
       st.booleans(), st.integers(2, 6))
def test_uploads_as_from_the_deque(steps, since, int_sizes, bound):
    original = uploads.MAX_BURSTS
    uploads.MAX_BURSTS = bound  # the bound reached within a few steps
    try:
        bursts, now = Bursts(gap_s=0.5, max_burst_s=5.0), 0.0
        for step in steps:
            if step == "clear":
                bursts.clear()
                continue
            ts = now + np.cumsum([gap for gap, _ in step])
            now = float(ts[-1])
            sizes = np.array([n for _, n in step], np.int64 if int_sizes else float)
            bursts.add(ts, sizes)
            for got, expected in zip(bursts.uploads(since), _afresh(bursts, since)):
                assert got.dtype == expected.dtype and np.array_equal(got, expected)
    finally:
        uploads.MAX_BURSTS = original


def test_the_returned_arrays_are_the_callers_own():
    bursts = Bursts(gap_s=0.5, max_burst_s=5.0)
    bursts.add(np.array([0.0, 10.0, 20.0]), np.array([100, 200, 300]))
    starts, _ = bursts.uploads()
    starts[:] = -1.0
    assert bursts.uploads()[0].tolist() == [0.0, 10.0, 20.0]
