"""Fixtures of the equivalence tests: the compiled module, and the kernels switched on with it."""

from __future__ import annotations

import pytest

from monitor import native

from .core import required_core


@pytest.fixture(scope="module")
def core():
    """The compiled module (a test without it skips, or fails where the core is required)."""
    return required_core()


@pytest.fixture
def on(core, monkeypatch):
    """Kernels forced on, even in the GATEWATCH_NATIVE=0 pass."""
    monkeypatch.setattr(native, "kernels", core)
    return core
