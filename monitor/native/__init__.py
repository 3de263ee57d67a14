"""Which core runs the hot path: the compiled kernels (``native``) or the numpy reference.

The kernels are plain C in ``src/`` (no Python API, so they build and are tested on their own,
cross-compiled for aarch64 too) exposed by one Cython module, ``_core``, over numpy buffers.
The extension is optional: an install without a compiler runs the numpy code, which stays the
reference every kernel is checked against. ``GATEWATCH_NATIVE=0`` forces the numpy code.

Callers ask ``kernels`` (the loaded module, or None) once, at import, and keep the numpy path
beside it: ``if native.kernels is not None: ... else: ...``.
"""

from __future__ import annotations

import os

_OFF = ("0", "false", "no", "off")


def _load():
    if os.environ.get("GATEWATCH_NATIVE", "1").strip().lower() in _OFF:
        return None, "numpy (GATEWATCH_NATIVE=0)"
    try:
        from . import _core  # type: ignore[attr-defined]
    except ImportError as error:  # not built: a source install without a compiler
        return None, f"numpy (native core not built: {error})"
    return _core, "native"


kernels, DESCRIPTION = _load()
CORE = "native" if kernels is not None else "numpy"


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


def loaded_core():
    """The compiled module itself, whatever GATEWATCH_NATIVE says (None if it was not built):
    the equivalence tests compare it with the numpy code in both CI passes."""
    try:
        from . import _core  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _core
