"""Shared by the can equivalence tests: run a public function on the compiled core and on the
numpy reference, and compare what they return field by field, bit for bit."""

from __future__ import annotations

import numpy as np

from monitor import native


def both(monkeypatch, core, function, *args, **kwargs):
    """(native result, numpy result) of function(*args, **kwargs)."""
    with monkeypatch.context() as patch:
        patch.setattr(native, "kernels", core)
        got = function(*args, **kwargs)
    with native.use_numpy():
        want = function(*args, **kwargs)
    return got, want


def same_array(a, b, what: str) -> None:
    assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), what
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    if a.dtype == object:
        assert a.tolist() == b.tolist(), what
    else:
        assert a.tobytes() == b.tobytes(), f"{what}: values differ"
