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


RECORD_SCHEMA = PROJECT / "monitor" / "alerts" / "detection-finding.schema.json"


@pytest.fixture(autouse=True)
def every_alert_record_is_valid(request):
    """After each test that used tmp_path: every alert record it left there validates against
    the shipped JSON Schema of the record (lines a test damaged on purpose are not records)."""
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is None:
        return
    import json

    import jsonschema

    from monitor.alerts.logfiles import read_file

    validator = jsonschema.Draft202012Validator(json.loads(RECORD_SCHEMA.read_text()))
    for path in sorted(root.rglob("alerts-*.jsonl")):
        for entry in read_file(path):
            if entry.record is not None:
                problems = sorted(validator.iter_errors(entry.record), key=str)
                assert not problems, f"{path}:{entry.line}: {problems[0].message} at {list(problems[0].absolute_path)}"


def pytest_addoption(parser) -> None:
    parser.addoption("--run-slow", action="store_true",
                     help="take the long variants: 200 kills, 5 million packets of overload, 1 million spoofed flows")


@pytest.fixture
def long_run(request) -> bool:
    """True under --run-slow: tests with a short and a long variant take the long one (no test is
    skipped without it, so there is no ``slow`` marker: every test always runs, short or long)."""
    return bool(request.config.getoption("--run-slow"))
