"""median.median must give exactly np.median's float (the behaviour detectors' evidence and
decisions depend on it bit for bit), signed zeros and the fallbacks included."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from monitor.detect.median import median

FLOATS = hnp.arrays(np.float64, st.integers(0, 70),
                    elements=st.floats(allow_nan=True, allow_infinity=True, width=64))
SMALL = hnp.arrays(np.float64, st.integers(1, 40), elements=st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, 1e-3]))
INTS = hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(-(2**62), 2**62))


def _same(values: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = float(np.median(values)), median(values)
    assert type(got) is float
    assert np.array_equal(np.array(expected), np.array(got), equal_nan=True), (values, expected, got)
    assert np.isnan(expected) or np.signbit(expected) == np.signbit(got), (values, expected, got)


@settings(max_examples=200, deadline=None)
@given(FLOATS)
def test_floats_as_numpy(values):
    _same(values)


@settings(max_examples=200, deadline=None)
@given(SMALL)
def test_ties_and_signed_zeros_as_numpy(values):
    _same(values)


@settings(max_examples=100, deadline=None)
@given(INTS)
def test_integers_as_numpy(values):
    _same(values)


def test_other_dtypes_fall_back_to_numpy():
    _same(np.array([1.5, 2.25, -0.0, 7.0], np.float32))
    _same(np.zeros(0))
    _same(np.array([1.0, np.nan, 2.0]))
    assert median(np.array([3.0, 1.0, 2.0, 10.0])) == 2.5
    assert median([5, 1, 3]) == 3.0
