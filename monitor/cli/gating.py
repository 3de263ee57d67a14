"""``--fail-on`` and ``--summary-json`` for commands a test pipeline runs (replay, policy test):
exit status 3 when a finding of a named category or action occurs, and a machine-readable
summary to a file."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ..config.model import ACTIONS, CATEGORIES
from ..errors import ConfigError, SourceError

FINDINGS_EXIT = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", action="append", default=[], metavar="CATEGORY|ACTION",
                        help=f"exit 3 if a finding of this category ({', '.join(CATEGORIES)}; allowed ones "
                             f"do not count) or with this action ({', '.join(ACTIONS)}) occurs (repeatable)")
    parser.add_argument("--summary-json", metavar="FILE", help="write the run's summary as JSON to FILE")


def check_arguments(args: argparse.Namespace) -> None:
    for value in args.fail_on:
        if value not in CATEGORIES and value not in ACTIONS:
            raise ConfigError(f"--fail-on {value!r}: not a category ({', '.join(CATEGORIES)}) or action ({', '.join(ACTIONS)})")


def exit_status(args: argparse.Namespace, decided: Counter) -> tuple[int, list[str]]:
    """``decided``: (action, category) -> findings. 3 and the reasons when a --fail-on matched."""
    reasons = []
    for value in args.fail_on:
        n = sum(count for (action, category), count in decided.items()
                if action == value or (category == value and action != "allow"))
        if n:
            reasons.append(f"{n} finding(s) of {value}")
    return (FINDINGS_EXIT if reasons else 0), reasons


def write_summary(args: argparse.Namespace, summary: dict) -> None:
    if not args.summary_json:
        return
    try:
        Path(args.summary_json).write_text(json.dumps(summary, indent=1, default=str, sort_keys=True) + "\n")
    except OSError as error:
        raise SourceError(f"{args.summary_json}: cannot write the summary: {error.strerror or error}") from None
