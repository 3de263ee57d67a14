"""Shell completion (argcomplete): the shell runs ``gatewatch`` with the line typed so far in
its environment and reads the candidates back; the console script's module carries the
PYTHON_ARGCOMPLETE_OK marker that argcomplete's global completion looks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import PROJECT

pytest.importorskip("argcomplete", reason="argcomplete is a dependency: pip install -e .")


def complete(line: str, tmp_path: Path) -> list[str]:
    """The candidates bash would offer after ``line`` (the cursor at its end)."""
    answer = tmp_path / "candidates"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "bash", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "COMP_TYPE": "9", "_ARGCOMPLETE_IFS": "\n",
           "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)}
    done = subprocess.run([sys.executable, "-m", "monitor"], env=env, cwd=PROJECT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    text = answer.read_text()
    return sorted(word.rstrip(" ") for word in text.split("\n")) if text else []  # a sole candidate ends in " "


def test_commands_options_and_choices_complete(tmp_path):
    assert {"alerts", "replay", "man"} <= set(complete("gatewatch ", tmp_path))
    assert complete("gatewatch alerts --cou", tmp_path) == ["--country"]
    assert complete("gatewatch alerts --action b", tmp_path) == ["block"]
    assert {"geolocation", "video"} <= set(complete("gatewatch alerts --category ", tmp_path))


def test_a_path_completes_as_files(tmp_path):
    (tmp_path / "alerts-van-1.jsonl").write_text("")
    assert complete(f"gatewatch alerts {tmp_path}/alerts-v", tmp_path) == [f"{tmp_path}/alerts-van-1.jsonl"]


def test_the_console_scripts_module_has_the_marker():
    script = Path(sys.executable).parent / "gatewatch"
    if not script.exists():
        pytest.skip(f"{script}: gatewatch is not installed beside this Python")
    done = subprocess.run([sys.executable, "-m", "argcomplete._check_console_script", str(script)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr  # stderr may hold argcomplete's own DeprecationWarning on 3.11
