"""RuleMemo: a plan made with the memo, batch after batch along a track, is the plan made without it."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detect.taintmemo import RuleMemo
from monitor.detect.taintscan import Plan, segments


def _track(lat0: float, lon0: float, seconds: int, step: float, seed: int):
    """A CAN track at 10 Hz: latitude and longitude moving on (across the antimeridian where lon0 is near it)."""
    rng = np.random.default_rng(seed)
    ts = np.arange(seconds * 10) / 10.0
    lats = np.round(lat0 + np.cumsum(rng.normal(step, step / 3, len(ts))), 7)
    lons = np.round((lon0 + np.cumsum(rng.normal(step, step / 3, len(ts))) + 180.0) % 360.0 - 180.0, 7)
    return ts, lats, lons


def _same_plans(a: Plan, b: Plan) -> None:
    assert a.counts == b.counts and a.rate_per_gb() == b.rate_per_gb()
    assert a.tables[0] == b.tables[0] and a.tables[1] == b.tables[1] and np.array_equal(a.tables[2], b.tables[2])
    assert [r.spec for r in a.rules] == [r.spec for r in b.rules]
    for x, y in zip(a.rules, b.rules, strict=True):
        for name in ("lat", "lon", "dlat", "dlon", "r_lat", "r_lon", "p", "top16"):
            assert np.array_equal(getattr(x, name), getattr(y, name)), name
        assert x.rates == y.rates and x.corroborate == y.corroborate
        assert all(np.array_equal(x.alone[k], y.alone[k]) for k in x.alone)


@pytest.mark.parametrize("lat0,lon0,step", [(48.1, 11.5, 2e-5), (-33.9, 151.2, 3e-5), (-12.0, 179.99, 1e-4),
                                             (64.1, -21.9, 0.0), (0.0001, -0.0001, 1e-6)])
def test_plans_made_with_the_memo_equal_plans_made_without(lat0, lon0, step):
    ts, lats, lons = _track(lat0, lon0, 120, step, seed=int(abs(lat0) * 10))
    memo = RuleMemo(limit=2048)  # small: it fills and starts again on this track
    seen = 0
    for t in np.arange(5.0, 90.0, 1.3):
        window = (ts >= t - 60) & (ts <= t + 0.5)
        seg = segments(ts[window], lats[window], lons[window], t - 1.3, t, 0.01)
        _same_plans(Plan(seg, memo), Plan(seg))
        seen += len(seg)
    assert 0 < memo.computed < seen / 4  # looked up, not computed, for most positions


def test_a_new_quantum_starts_the_memo_again():
    ts, lats, lons = _track(10.0, 20.0, 20, 1e-5, seed=3)
    memo = RuleMemo()
    Plan(segments(ts, lats, lons, 10.0, 11.0, 0.01), memo)
    computed = memo.computed
    coarse = np.round(lats, 4), np.round(lons, 4)  # a DBC scaling positions by 1e-4
    seg = segments(ts, *coarse, 10.0, 11.0, 0.01)
    _same_plans(Plan(seg, memo), Plan(seg))
    assert memo.quantum == seg.quantum and memo.computed > computed
