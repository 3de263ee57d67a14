"""The C kernels alone, without Python: each tests/native/c/test_*.c built with every kernel
source and run, on this machine and cross-compiled for aarch64 (Debian's gcc-aarch64-linux-gnu)
under qemu-aarch64-static. Where the native core is required (CI: GATEWATCH_NATIVE_REQUIRED=1)
a missing toolchain fails; elsewhere the aarch64 runs skip and say why."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT

SOURCES = sorted((PROJECT / "monitor" / "native" / "src").glob("*.c"))
C_TESTS = sorted((PROJECT / "tests" / "native" / "c").glob("test_*.c"))
REQUIRED = os.environ.get("GATEWATCH_NATIVE_REQUIRED") == "1"
FLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing"]
TARGETS = {
    "host": (["gcc"], []),
    "aarch64": (["aarch64-linux-gnu-gcc", "-static"], ["qemu-aarch64-static"]),
}


def _tool_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: gcc-aarch64-linux-gnu, qemu-user-static)"
        if REQUIRED:
            pytest.fail(f"{message}, and GATEWATCH_NATIVE_REQUIRED=1")
        pytest.skip(message)
    return path


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("test_source", C_TESTS, ids=[p.stem for p in C_TESTS])
def test_c_kernel_tests_pass(test_source: Path, target: str, tmp_path: Path) -> None:
    compiler, runner = TARGETS[target]
    _tool_or_skip(compiler[0])
    if runner:
        _tool_or_skip(runner[0])
    binary = tmp_path / test_source.stem
    include = ["-I", str(PROJECT / "monitor" / "native" / "src"), "-I", str(test_source.parent)]
    build = subprocess.run([*compiler, *FLAGS, *include, "-o", str(binary), str(test_source), *map(str, SOURCES), "-lm"],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    if target == "aarch64":
        kind = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True, check=False).stdout if shutil.which("file") else ""
        assert not kind or "aarch64" in kind or "ARM" in kind, kind
    run = subprocess.run([*runner, str(binary)], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr + run.stdout
    assert "ok" in run.stdout


def test_every_kernel_source_has_a_c_test() -> None:
    """A kernel added to src/ without a C-level test would never run on aarch64."""
    tested = {p.stem.removeprefix("test_") for p in C_TESTS}
    kernels = {p.stem.removeprefix("gw_") for p in SOURCES} - {"version"}
    assert kernels <= tested | {"common"}, sorted(kernels - tested)
