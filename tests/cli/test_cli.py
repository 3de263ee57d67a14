"""The gatewatch command: help for every subcommand, usage errors, one-line errors on bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.cli import SUBCOMMANDS, main

from ..builders import run
from ..conftest import PROJECT

GNSS_DBC = PROJECT / "dbc" / "css-electronics" / "gnss.dbc"


def test_help_lists_every_subcommand_and_each_has_help(capsys):
    result = subprocess.run([sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, check=True)
    for name in SUBCOMMANDS:
        assert name in result.stdout
    for argv in (["decode"], ["demo"], ["bench"], ["bench", "can"]):
        assert main([*argv, "--help"]) == 0
        assert capsys.readouterr().out.startswith(f"usage: gatewatch {' '.join(argv)}")


@pytest.mark.parametrize("argv,needle", [
    (["decode", "x.log", "--dbc", "/nonexistent/file.dbc"], "/nonexistent/file.dbc: DBC file not found"),
    (["decode", "/nonexistent/x.log", "--dbc", str(GNSS_DBC)], "/nonexistent/x.log: no such CAN log"),
    (["decode", "x.pdf", "--dbc", str(GNSS_DBC)], "x.pdf: unknown CAN log format '.pdf'"),
    (["bench", "can", "--frames", "0"], "--frames and --repeat must be positive"),
])
def test_bad_input_is_one_line_on_stderr_without_traceback(argv, needle):
    code, _, err = run(*argv)
    assert code == 1
    assert needle in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(capsys):
    assert main(["decode"]) == 2
    assert "required" in capsys.readouterr().err
