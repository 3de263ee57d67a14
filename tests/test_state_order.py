"""Series.arrays skips the stable sort when the chunks are already in time order: for any
chunks (in order, out of order, ties, NaN) it gives what sorting them gives (a
single chunk, as ever, as it came)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.state import Series

TIMES = st.one_of(st.floats(0, 100), st.sampled_from([0.0, -0.0, 1.0, float("nan")]))  # finite: the horizon drops none
CHUNKS = st.lists(st.lists(TIMES, min_size=1, max_size=8), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(CHUNKS, st.booleans())
def test_arrays_as_sorted_afresh(chunks, ordered):
    if ordered:
        chunks = [sorted(c) for c in sorted(chunks)]
    series = Series(horizon_s=1e9)
    for k, times in enumerate(chunks):
        series.add(np.array(times, float), np.arange(len(times)) + 100 * k, "test")
    ts_all = np.concatenate([np.array(c, float) for c in chunks])
    values_all = np.concatenate([np.arange(len(c)) + 100 * k for k, c in enumerate(chunks)])
    # one chunk is returned as it came; more are merged and sorted (stable)
    order = np.argsort(ts_all, kind="stable") if len(chunks) > 1 else np.arange(len(ts_all))
    ts, values = series.arrays()
    assert np.array_equal(ts, ts_all[order], equal_nan=True)
    assert np.array_equal(values, values_all[order])
