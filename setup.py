"""The optional compiled core (monitor/native): everything else is in pyproject.toml.

The extension is optional: without a compiler (or Python headers) the build warns once and the
package installs without it, running the numpy reference code. GATEWATCH_NATIVE_REQUIRED=1
makes a failed build an error (CI and `make pi-wheel` set it). GATEWATCH_NATIVE_CFLAGS adds
compiler flags (`make fuzz` builds with the address and undefined-behaviour sanitizers).
"""

import os
import sys
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

REQUIRED = os.environ.get("GATEWATCH_NATIVE_REQUIRED", "") == "1"
EXTRA_CFLAGS = os.environ.get("GATEWATCH_NATIVE_CFLAGS", "").split()


class OptionalBuildExt(build_ext):
    """build_ext that falls back to the numpy code with one warning, unless the core is required."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - any failure of the toolchain means "no core"
            self._fallback(error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            self._fallback(error)

    def _fallback(self, error):
        if REQUIRED:
            raise
        print(f"WARNING: gatewatch's native core was not built ({error}); "
              "gatewatch runs on its numpy code (`gatewatch --version` says which core)", file=sys.stderr)


def extensions():
    try:
        from Cython.Build import cythonize
    except ImportError as error:
        if REQUIRED:
            raise
        print(f"WARNING: Cython is missing ({error}); gatewatch installs without its native core", file=sys.stderr)
        return []
    sources = ["monitor/native/_core.pyx"] + sorted(glob("monitor/native/src/*.c"))
    core = Extension(
        "monitor.native._core",
        sources=sources,
        include_dirs=["monitor/native/src"],
        extra_compile_args=["-O2", "-std=gnu11", "-fno-strict-aliasing", *EXTRA_CFLAGS],
        extra_link_args=[f for f in EXTRA_CFLAGS if f.startswith("-fsanitize")],
    )
    return cythonize([core], language_level=3, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
