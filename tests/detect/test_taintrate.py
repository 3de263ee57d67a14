"""The arithmetic of taint's false-match rate, against brute force: every raw word of a range
decoded and counted, random words drawn and counted, every raw pair near a segment enumerated."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detect.taintrate import SPECS, count, intervals, lon_count, pair_probability, pairs_bound, to_degrees

BY_NAME = {spec.name: spec for spec in SPECS}


def _enumerate(spec, lo: float, hi: float, around: int = 400_000) -> int:
    """Words decoding into [lo, hi], counted one by one near where the range's intervals lie."""
    starts, ends = intervals(spec, lo, hi)
    total = 0
    for start, end in zip(starts[0].tolist(), ends[0].tolist(), strict=True):
        if start > end:
            continue  # an empty interval
        assert end - start < 5e6, "enumerate small ranges only"
        first = max(int(start) - around, 0)
        dtype = np.uint32 if spec.width == 4 else np.uint64
        words = np.arange(int(end) - first + 2 * around, dtype=np.uint64) + np.uint64(first)
        words = words[words <= np.uint64(2**spec.bits - 1)].astype(dtype) if spec.width == 4 else words
        values = to_degrees(spec, words)
        total += int(((values >= lo) & (values <= hi)).sum())
    return total


RANGES = [(48.137, 48.13703), (-33.86901, -33.869), (-2e-6, 3e-6), (179.99998, 180.0)]
CASES = [(name, lo, hi) for name in ("int32 x1e6 big-endian", "int32 x1e7 little-endian", "J1939 x1e-7 - 210 little-endian",
                                      "uint32 x1e6 magnitude big-endian") for lo, hi in RANGES]
CASES += [("float32 big-endian", lo, hi) for lo, hi in RANGES if not lo <= 0 <= hi]  # across zero: 2^30 words
CASES += [("float32 little-endian", -1e-42, 2e-42)]  # subnormals on both sides of zero
CASES += [("float64 little-endian", 48.137, 48.137 + 2e-9), ("float64 big-endian", -33.869 - 1e-9, -33.869),
          ("float64 big-endian", -1e-320, 2e-320), ("float64 little-endian", 180.0 - 3e-9, 180.0)]


@pytest.mark.parametrize("name, lo, hi", CASES)
def test_count_is_the_number_of_words_that_decode_into_the_range(name, lo, hi):
    spec = BY_NAME[name]
    if spec.magnitude:
        lo, hi = (0.0, max(abs(lo), abs(hi))) if lo <= 0 <= hi else sorted((abs(lo), abs(hi)))
    counted, enumerated = count(spec, lo, hi)[0], _enumerate(spec, lo, hi)
    if spec.kind == "float" and spec.width == 8:  # bit patterns above 2^53 are carried in float64: ends within 2^11
        assert abs(counted - enumerated) <= 2 * 2**11
    else:  # a boundary word whose decoding rounds just outside may be counted: never one fewer
        assert enumerated <= counted <= enumerated + 2


def test_float64_words_near_zero_are_counted_as_the_multitude_they_are():
    spec = BY_NAME["float64 big-endian"]
    near_zero = count(spec, -1e-3, 1e-3)[0] / 2.0**64
    assert 0.45 < near_zero < 0.5  # within a thousandth of a degree of zero: nearly half of all float64 words


@pytest.mark.parametrize("name, lo, hi", [("float32 little-endian", 0.5, 2.0), ("int32 x1e6 big-endian", -900.0, 1200.0),
                                          ("float64 big-endian", 1.0, 1e6)])
def test_random_words_fall_in_a_range_as_often_as_the_count_says(name, lo, hi):
    spec = BY_NAME[name]
    rng = np.random.default_rng(7)
    n = 1 << 22
    raw = rng.integers(0, 2**32, n, dtype=np.uint64)
    words = raw.astype(np.uint32) if spec.width == 4 else (raw << np.uint64(32)) | rng.integers(0, 2**32, n, dtype=np.uint64)
    with np.errstate(invalid="ignore"):
        values = to_degrees(spec, words)
        seen = int(((values >= lo) & (values <= hi)).sum())
    expected = count(spec, lo, hi)[0] / 2.0**spec.bits * n
    assert abs(seen - expected) < 5 * np.sqrt(expected) + 1, (seen, expected)


def test_longitudes_past_the_antimeridian_count_their_other_spelling():
    spec = BY_NAME["int32 x1e7 big-endian"]
    assert lon_count(spec, 179.9999, 180.0001)[0] == count(spec, 179.9999, 180.0)[0] + count(spec, -180.0, -179.9999)[0]
    assert lon_count(spec, 179.9999, 180.0001)[0] == pytest.approx(2001, abs=2)


def test_the_pair_bound_holds_every_raw_pair_near_a_segment():
    """int32 x1e6: a segment of 40 x 25 raw steps, a tolerance of 3 raw steps; every pair in the
    box around it tested as taint tests it (lat and lon at one fraction of the segment)."""
    lat0, lon0, dlat, dlon, r = 10.0, 20.0, 40e-6, -25e-6, 3e-6
    lats = np.round(np.arange(lat0 - 5e-6, lat0 + dlat + 5e-6, 1e-6), 6)
    lons = np.round(np.arange(lon0 + dlon - 5e-6, lon0 + 5e-6, 1e-6), 6)
    la, lo = np.meshgrid(lats, lons, indexing="ij")
    a1, a2 = sorted(((la - lat0 - r) / dlat, (la - lat0 + r) / dlat), key=lambda x: x.sum())
    b1, b2 = (lo - lon0 + r) / dlon, (lo - lon0 - r) / dlon
    lo_s, hi_s = np.maximum.reduce([a1, b1, np.zeros_like(a1)]), np.minimum.reduce([a2, b2, np.ones_like(a2)])
    inside = int((lo_s <= hi_s + 1e-9).sum())
    spec = BY_NAME["int32 x1e6 big-endian"]
    bound = pairs_bound(count(spec, lat0, lat0 + dlat), count(spec, lat0 - r, lat0 + r),
                        count(spec, lon0 + dlon, lon0), count(spec, lon0 - r, lon0 + r))[0]
    assert inside <= bound < 3 * inside
    assert pair_probability(spec, np.array([bound]))[0] == bound / 2.0**64
