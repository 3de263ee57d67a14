"""Shared by the packets equivalence tests: the compiled core (or a skip), the two runs of a
public function (native, then the numpy reference) and the comparisons of their results."""

from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np

from monitor import native
from monitor.net.capture import ReplayStats, read_capture

from .core import required_core


def both(monkeypatch, function, *args, **kwargs):
    """(native result, numpy result) of one call; exceptions are results too (type, message)."""
    monkeypatch.setattr(native, "kernels", required_core())
    fast = _outcome(function, *args, **kwargs)
    with native.use_numpy():
        reference = _outcome(function, *args, **kwargs)
    return fast, reference


def _outcome(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the same exception is part of equivalence
        return ("raised", type(error), str(error))


def replay(path, **kwargs):
    """Every batch of a capture, and its ReplayStats (or the exception raised)."""
    stats = ReplayStats()
    return list(read_capture(path, stats=stats, **kwargs)), stats


def assert_same_arrays(fast, reference, what: str) -> None:
    assert fast.dtype == reference.dtype, f"{what}: dtype {fast.dtype} != {reference.dtype}"
    assert fast.shape == reference.shape, f"{what}: shape {fast.shape} != {reference.shape}"
    assert np.array_equal(fast, reference), f"{what}: rows {np.flatnonzero((fast != reference).reshape(len(fast), -1).any(axis=1))[:10]}"


def assert_same_batches(fast, reference) -> None:
    assert len(fast) == len(reference), "batch count"
    for i, (a, b) in enumerate(zip(fast, reference)):
        for f in fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, np.ndarray):
                assert_same_arrays(x, y, f"batch {i} {f.name}")
            else:
                assert x == y, f"batch {i} {f.name}"


def assert_same_replay(fast, reference) -> None:
    if isinstance(reference, tuple) and reference and reference[0] == "raised":
        assert fast == reference
        return
    (fast_batches, fast_stats), (ref_batches, ref_stats) = fast, reference
    assert asdict(fast_stats) == asdict(ref_stats)
    assert_same_batches(fast_batches, ref_batches)


def assert_same_headers(fast, reference) -> None:
    if isinstance(reference, tuple) and reference and reference[0] == "raised":
        assert fast == reference
        return
    for f in fields(reference):
        x, y = getattr(fast, f.name), getattr(reference, f.name)
        if f.name == "tunnel":
            assert (x is None) == (y is None), f"tunnel: {x is None} != {y is None}"
            if y is not None:
                for g in fields(y):
                    assert_same_arrays(getattr(x, g.name), getattr(y, g.name), f"tunnel.{g.name}")
        else:
            assert_same_arrays(x, y, f.name)
