"""The compiled module for the equivalence tests, whatever GATEWATCH_NATIVE says (they run in
both CI passes): a test without it skips, saying so, or fails where the core is required."""

from __future__ import annotations

import os

import pytest

from monitor import native


def required_core():
    """The compiled module; skips (or, with GATEWATCH_NATIVE_REQUIRED=1, fails) without it."""
    loaded = native.loaded_core()
    if loaded is None:
        if os.environ.get("GATEWATCH_NATIVE_REQUIRED") == "1":
            pytest.fail("the native core is not built, and GATEWATCH_NATIVE_REQUIRED=1")
        pytest.skip("the native core is not built (python setup.py build_ext --inplace)")
    return loaded
