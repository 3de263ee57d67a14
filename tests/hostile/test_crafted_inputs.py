"""Every crafted hostile input (monitor/bench/hostile_inputs.py) through the command line: a
one-line error naming the file (and line) or a counted limit, never a traceback, and within a
budget of CPU time and memory although each once cost minutes or gigabytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.bench.hostile_inputs import HOSTILE, Hostile
from tests.builders import run
from tests.hostile.budget import within_budget


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_crafted_input_is_refused_or_counted_within_budget(hostile: Hostile, tmp_path: Path) -> None:
    argv = hostile.build(tmp_path)
    with within_budget(hostile.name, cpu_s=15.0, megabytes=300):
        code, out, err = run(*argv)
    assert "Traceback" not in err
    outputs = out + err + "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("out*.jsonl")))
    outputs += "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("out/*.jsonl")))
    kind, _, text = hostile.expect.partition(": ")
    if kind == "error":
        assert code == 1, err
        error_lines = [line for line in err.splitlines() if ": error: " in line]
        assert len(error_lines) == 1 and text in error_lines[0], err
        assert str(tmp_path) in error_lines[0]  # names the file
    else:
        assert code == 0, err
        assert text in outputs, err[-2000:]
