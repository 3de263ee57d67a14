"""Which core runs the hot path: the compiled kernels (``native``) or the numpy reference.

The kernels are plain C in ``src/`` (no Python API, so they build and are tested on their own,
cross-compiled for aarch64 too) exposed by one Cython module, ``_core``, over numpy buffers.
The extension is optional: an install without a compiler runs the numpy code, which stays the
reference every kernel is checked against. ``GATEWATCH_NATIVE=0`` forces the numpy code.

Callers read ``native.kernels`` (the loaded module, or None) on every call, never binding it at
import, and keep the numpy path beside it: ``if native.kernels is not None: ... else: ...``;
so ``use_numpy()`` reaches them (equivalence tests, benchmarks of both cores in one run).
"""

from __future__ import annotations

import os

_OFF = ("0", "false", "no", "off")


def _load():
    if os.environ.get("GATEWATCH_NATIVE", "1").strip().lower() in _OFF:
        return None, "numpy (GATEWATCH_NATIVE=0)"
    try:
        core = loaded_core(raising=True)
    except ImportError as error:  # not built: a source install without a compiler
        return None, f"numpy (native core not built: {error})"
    return core, "native" + (f" ({os.environ[_PATH]})" if os.environ.get(_PATH) else "")


_PATH = "GATEWATCH_NATIVE_PATH"  # another build of the core: make fuzz's sanitizer build


class use_numpy:
    """Run a block on the numpy reference even where the native core is loaded (equivalence
    tests, benchmarks side by side). Callers read ``native.kernels`` per call, never bind it at
    import, so this switch reaches them."""

    def __enter__(self):
        global kernels
        self._saved, kernels = kernels, None
        return self

    def __exit__(self, *exc_info):
        global kernels
        kernels = self._saved
        return False


def loaded_core(raising: bool = False):
    """The compiled module itself, whatever GATEWATCH_NATIVE says (None if it was not built):
    the equivalence tests compare it with the numpy code in both CI passes. With
    GATEWATCH_NATIVE_PATH set, the build of the core at that path (make fuzz's, with the
    address and undefined-behaviour sanitizers) instead of the installed one."""
    try:
        if os.environ.get(_PATH):
            return _from_path(os.environ[_PATH])
        from . import _core  # type: ignore[attr-defined]
    except ImportError:
        if raising:
            raise
        return None
    return _core


def _from_path(path: str):
    import importlib.util
    import sys

    name = f"{__name__}._core"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{_PATH}={path} is not an extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


kernels, DESCRIPTION = _load()
CORE = "native" if kernels is not None else "numpy"
