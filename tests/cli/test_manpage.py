"""``gatewatch man``: the manual page made from the parser, so every subcommand and every option
the command line takes is on it; it renders without a warning (man -l, else groff)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

import pytest

from monitor.cli import SUBCOMMANDS, build_parser
from monitor.cli.manpage import _subcommands, _text

from ..builders import run
from ..conftest import PROJECT


def every_parser(parser: argparse.ArgumentParser, title: str = "gatewatch"):
    yield title, parser
    for name, sub in _subcommands(parser):
        yield from every_parser(sub, f"{title} {name}")


@pytest.fixture(scope="module")
def page() -> str:
    code, out, err = run("man", "--date", "2026-12-01")
    assert (code, err) == (0, "")
    return out


def test_every_command_and_option_is_on_the_page(page):
    titles = [line.removeprefix(".SS ").strip('"') for line in page.splitlines() if line.startswith(".SS ")]
    parsers = list(every_parser(build_parser()))[1:]
    assert titles == [_text(title) for title, _ in parsers]  # nested ones too: policy check, bench can ...
    assert {f"gatewatch {name}" for name in SUBCOMMANDS} <= {title for title, _ in parsers}
    assert {"gatewatch policy check", "gatewatch bench can", "gatewatch alerts"} <= {title for title, _ in parsers}
    for title, parser in every_parser(build_parser()):
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert rf"\fB{_text(option)}\fR" in page, f"{title} {option}"


def test_the_header_and_sections(page):
    lines = page.splitlines()
    assert lines[0].startswith('.TH GATEWATCH 1 "2026-12-01" "gatewatch ')
    assert [line for line in lines if line.startswith(".SH")] == [
        ".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH COMMANDS", ".SH SHELL COMPLETION", ".SH EXIT STATUS"]
    assert r'eval "$(register\-python\-argcomplete gatewatch)"' in lines


def test_text_cannot_become_a_roff_request():
    assert _text(".so /etc/passwd") == r"\&.so /etc/passwd"
    assert _text("'br") == r"\&'br"
    assert _text("a\\b --x\n.TH") == r"a\eb \-\-x .TH"  # one line: a newline in a help text starts no request


def test_the_date_is_source_date_epochs():
    done = subprocess.run([sys.executable, "-m", "monitor", "man"], capture_output=True, text=True, check=False,
                          timeout=120, cwd=PROJECT, env={**os.environ, "SOURCE_DATE_EPOCH": "1767225600"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('.TH GATEWATCH 1 "2026-01-01" ')


def tool_or_skip(tool: str, package: str) -> None:
    """Outside CI a missing tool skips and says so; in CI (deploy/setup-dev.sh installs it) it fails."""
    if shutil.which(tool) is None:
        why = f"{tool} is not installed (apt install {package}; deploy/setup-dev.sh test does as root)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def test_groff_renders_it_without_a_warning(page, tmp_path):
    tool_or_skip("groff", "groff-base")
    done = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=page, capture_output=True, text=True,
                          check=False, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")


def test_man_shows_it(page, tmp_path):
    tool_or_skip("man", "man-db")
    (tmp_path / "gatewatch.1").write_text(page)
    done = subprocess.run(["man", "-l", str(tmp_path / "gatewatch.1")], capture_output=True, text=True, check=False,
                          timeout=60, env={**os.environ, "MANWIDTH": "100", "PAGER": "cat"})
    assert done.returncode == 0, done.stderr
    text = re.sub(".\b", "", done.stdout)  # bold and underline as overstrikes, when not a terminal
    assert text.startswith("GATEWATCH(1)") and "   gatewatch alerts\n" in text
    assert "--country CC" in text and "--min-confidence X" in text
