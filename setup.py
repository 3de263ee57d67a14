"""Build hooks; everything else is in pyproject.toml.

- The top-level dbc/ and policies/ folders ship inside the wheel as package data
  (monitor/_shipped/), where monitor.resources finds them with importlib.resources; the package
  is built afresh each time, so the wheel holds what monitor/ holds now.
- The compiled core (monitor/native) is an optional extension: without a compiler (or Python
  headers) the build warns once and the package installs without it, running the numpy
  reference code. GATEWATCH_NATIVE_REQUIRED=1 makes a failed build an error (make test and
  make pi-wheel set it). GATEWATCH_NATIVE_CFLAGS adds compiler flags (make fuzz builds with
  the address and undefined-behaviour sanitizers).
"""

import os
import shutil
import sys
from glob import glob
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

SHIPPED = ("dbc", "policies")
REQUIRED = os.environ.get("GATEWATCH_NATIVE_REQUIRED", "") == "1"
EXTRA_CFLAGS = os.environ.get("GATEWATCH_NATIVE_CFLAGS", "").split()


class BuildWithShippedData(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            # build/lib outlives a build: a module moved or removed since (bench's builders, the lab)
            # would still be copied into the next wheel
            shutil.rmtree(Path(self.build_lib) / "monitor", ignore_errors=True)
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout's folders directly
        root = Path(__file__).resolve().parent
        for name in SHIPPED:
            target = Path(self.build_lib) / "monitor" / "_shipped" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(root / name, target, ignore=shutil.ignore_patterns("__pycache__"))


class OptionalBuildExt(build_ext):
    """build_ext that falls back to the numpy code with one warning, unless the core is required."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - any failure of the toolchain means "no core"
            self._fallback(error)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            self._fallback(error)

    def _fallback(self, error: Exception) -> None:
        if REQUIRED:
            raise error
        print(f"WARNING: gatewatch's native core was not built ({error}); "
              "gatewatch runs on its numpy code (`gatewatch --version` says which core)", file=sys.stderr)


def extensions() -> list:
    try:
        from Cython.Build import cythonize
    except ImportError as error:
        if REQUIRED:
            raise
        print(f"WARNING: Cython is missing ({error}); gatewatch installs without its native core", file=sys.stderr)
        return []
    core = Extension(
        "monitor.native._core",
        sources=["monitor/native/_core.pyx", *sorted(glob("monitor/native/src/*.c"))],
        include_dirs=["monitor/native/src"],
        extra_compile_args=["-O2", "-std=gnu11", "-fno-strict-aliasing", *EXTRA_CFLAGS],
        extra_link_args=[flag for flag in EXTRA_CFLAGS if flag.startswith("-fsanitize")],
    )
    return cythonize([core], language_level=3, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_py": BuildWithShippedData, "build_ext": OptionalBuildExt})
