"""Which core is in use, and the switch that forces the numpy reference."""

from __future__ import annotations

import os
import subprocess
import sys

from monitor import native


def _core_in_child(**env: str) -> str:
    code = "from monitor import native; print(native.CORE); print(native.DESCRIPTION)"
    child = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return child.stdout


def test_gatewatch_native_0_forces_the_numpy_core() -> None:
    assert _core_in_child(GATEWATCH_NATIVE="0").splitlines() == ["numpy", "numpy (GATEWATCH_NATIVE=0)"]


def test_the_core_is_native_where_it_is_required() -> None:
    """CI builds with GATEWATCH_NATIVE_REQUIRED=1: there a missing core is a failure."""
    if os.environ.get("GATEWATCH_NATIVE_REQUIRED") != "1" or os.environ.get("GATEWATCH_NATIVE") == "0":
        assert native.CORE in ("native", "numpy")
        assert native.DESCRIPTION.startswith(native.CORE)
        return
    assert native.CORE == "native", native.DESCRIPTION
    assert native.kernels.abi_version() == 1


def test_the_version_names_the_core() -> None:
    child = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, check=True)
    assert f"core {native.CORE}" in child.stdout


def test_use_numpy_switches_the_kernels_off_for_a_block() -> None:
    before = native.kernels
    with native.use_numpy():
        assert native.kernels is None
    assert native.kernels is before
