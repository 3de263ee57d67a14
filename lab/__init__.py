"""The development lab, outside the wheel: fuzz targets, hostile-input generators, detection
scoring against the shared corpus and generated drives, and the ROAD tooling.

Run from the checkout (``make fuzz``, ``make hostile``, ``make score``, or ``python -m lab.NAME``)
and by the tests that use it; nothing under monitor/ imports it. It builds its inputs with
``monitor.testing`` and times processes with ``monitor.bench``.
"""

from __future__ import annotations

from pathlib import Path

#: The checkout this lab sits in (never site-packages: lab/ is not installed).
PROJECT = Path(__file__).resolve().parents[1]
#: The shared corpus beside the checkout, where the development machines keep it.
DEFAULT_CORPUS = PROJECT.parent / "shared" / "corpus"
