"""What the review commands (``alerts``, ``alerts summary``, ``alerts verify``, ``report``) read,
said once: no PATH is the daemon's output folder, never the current folder's tree (from ``/``
that walked /proc; from a home folder it read for seconds and summed unrelated logs); a PATH is
an alert file or a folder read one level deep (or the layouts gatewatch writes one level
down), the tree below it only with ``--recursive``; finding no log is the same one-line error
and exit 1 for every command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from . import DEFAULT_OUTPUT

NO_LOGS_EXIT = 1

PATHS_HELP = (f"an alert file, or a folder: its alert files (alerts-*.jsonl); a folder without any, its vehicles' "
              f"folders one level down (as gatewatch demo writes logs/) or a collector's day=*/vehicle=*/ folders "
              f"(default: {DEFAULT_OUTPUT}, where gatewatch run writes); no alert log found: one line, exit 1")


def add_recursive(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="read every folder below each PATH (symbolic links, /proc and /sys left out; unreadable "
                             "folders named on stderr)")


def paths_of(given: list[str]) -> list[Path]:
    return [Path(p) for p in given] or [DEFAULT_OUTPUT]


def no_logs(command: str, paths: list[Path], recursive: bool, err: TextIO) -> int:
    """The one line for no alert log found, and its exit status."""
    where = ", ".join(str(p) for p in paths)
    # Only the default can be missing here: a PATH given that is not there is an error before.
    what = "no such folder: the default, gatewatch run's -o" if not all(p.exists() for p in paths) else "alerts-*.jsonl"
    hint = "pass an alert file or folder" if recursive else "pass a folder or --recursive"
    print(f"gatewatch {command}: no alert logs in {where} ({what}); {hint}", file=err)
    return NO_LOGS_EXIT


def report_problems(command: str, problems, err: TextIO) -> None:
    """Damaged lines one each (file:line); unreadable folders in one line (there may be many)."""
    for line in problems.lines:
        print(f"gatewatch {command}: skipped {line}", file=err)
    more = getattr(problems.lines, "more", 0)
    if more:
        print(f"gatewatch {command}: skipped {more} more line(s) that are not records (only the first "
              f"{len(problems.lines)} are named)", file=err)
    if problems.folders:
        more = len(problems.folders) - 1
        print(f"gatewatch {command}: skipped {len(problems.folders)} unreadable folder(s): {problems.folders[0]}"
              + (f" and {more} more" if more else ""), file=err)


def find_logs(given: list[str], recursive: bool):
    """(paths, logs, problems): the alert files the PATHs (or the default folder) hold."""
    from ..alerts.read import Problems, find

    paths, problems = paths_of(given), Problems()
    if not given and not DEFAULT_OUTPUT.exists():
        return paths, {}, problems
    return paths, find(paths, problems, recursive), problems


def names_looked_up(logs, problems):
    """The names the vehicles looked up, from the DNS logs written beside these alert logs (a damaged
    line is named in ``problems``)."""
    from ..alerts.dnslog import dns_logs_beside, looked_up

    return looked_up(dns_logs_beside(logs), problems.lines)
