"""Shared test fixtures. Corpus data is found beside the checkout (../shared/corpus), never
from the working directory; a test that needs it skips with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT.parent / "shared" / "corpus"


def corpus(*parts: str) -> Path:
    """A path inside the shared corpus; skips the calling test (saying why) when it is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared corpus at {path}, which is absent on this machine")
    return path


def corpus_files(pattern: str) -> list[Path]:
    """Corpus files for parametrizing; empty when the corpus is absent (the test then skips)."""
    return sorted(CORPUS.glob(pattern)) if CORPUS.exists() else []


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


@pytest.fixture
def project() -> Path:
    return PROJECT
