"""The shared telematics vectors (../shared/corpus/telematics/vectors.json) as wire bytes; the
readers live in lab/corpus.py, which ``make score`` uses too."""

from __future__ import annotations

from functools import lru_cache

from lab.corpus import protocols as read_protocols
from lab.corpus import wire_bytes  # noqa: F401 (the tests import it from here)

from .conftest import CORPUS

VECTORS = CORPUS / "telematics" / "vectors.json"


@lru_cache(maxsize=1)
def protocols() -> dict[str, list[dict]]:
    return read_protocols(VECTORS) if VECTORS.exists() else {}
