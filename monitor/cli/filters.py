"""The review filters, defined once: ``alerts`` and ``alerts summary`` (and any review command
that adds them) take the same options and keep the same rows (alerts/read.Filter).

Times are checked while the arguments are parsed, so a bad ``--since`` is argparse's usage
line and exit 2, before any log is read; a relative time (``1h``) is taken before the moment
the command started, once, so ``--follow`` keeps one window start.
"""

from __future__ import annotations

import argparse
import re
from typing import cast

from ..alerts.read import Filter, parse_time
from ..config.model import ACTIONS, CATEGORIES
from ..errors import ConfigError

#: The categories records carry: the findings' and the log's own (an overflow record: monitor).
RECORD_CATEGORIES = (*CATEGORIES, "monitor")
TIME_HELP = "ISO 8601 (no zone: UTC), epoch seconds, or a span before now: 90s, 30m, 1h, 2d, 1w"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (the same for the list and summary; repeat an option for any of "
                                      "several values)")
    group.add_argument("--since", type=_time, metavar="TIME", help=f"records at or after TIME: {TIME_HELP}")
    group.add_argument("--until", type=_time, metavar="TIME", help="records at or before TIME (as --since)")
    group.add_argument("--vehicle", action="append", metavar="ID", help="the vehicle's id (alerts.vehicle_id)")
    group.add_argument("--category", action="append", choices=RECORD_CATEGORIES)
    group.add_argument("--action", action="append", choices=ACTIONS, help="the verdict")
    group.add_argument("--detector", action="append", metavar="NAME", help="e.g. wire.jt808, or wire for all wire.*")
    group.add_argument("--destination", action="append", metavar="ADDRESS|NAME",
                       help="an address, or a name or its domain (example.com keeps api.example.com)")
    group.add_argument("--country", action="append", type=_country, metavar="CC",
                       help="the destination's country, ISO 3166 alpha-2 (cn, CN); - for none known (CAN findings)")
    group.add_argument("--min-confidence", type=confidence, metavar="X", help="records with a confidence of X or more (0 to 1)")


def of(args: argparse.Namespace) -> Filter:
    """The Filter the parsed options say."""
    return Filter(since=args.since, until=args.until, categories=tuple(args.category or ()),
                  vehicles=tuple(args.vehicle or ()), actions=tuple(args.action or ()),
                  detectors=tuple(args.detector or ()), destinations=tuple(args.destination or ()),
                  countries=tuple(args.country or ()), min_confidence=args.min_confidence)


#: Filter field -> the option that sets it.
OPTIONS = {"since": "since", "until": "until", "categories": "category", "vehicles": "vehicle", "actions": "action",
           "detectors": "detector", "destinations": "destination", "countries": "country",
           "min_confidence": "min-confidence"}


def describe(given: dict) -> str:
    """The filters set (Filter.given), as an operator would type them."""
    words = []
    for name, value in given.items():
        for one in value if isinstance(value, tuple) else (value,):
            words.append(f"--{OPTIONS[name]} {_show_value(name, one)}")
    return " ".join(words)


def _show_value(name: str, value: float | str) -> str:
    if name in ("since", "until"):
        from datetime import datetime, timezone

        return datetime.fromtimestamp(float(value), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _time(text: str) -> float:
    try:
        return cast(float, parse_time(text))  # None only for None
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _country(text: str) -> str:
    if text == "-" or re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    raise argparse.ArgumentTypeError(f"{text!r} is not a country code (two letters, ISO 3166 alpha-2, or -)")


def confidence(text: str) -> float:
    """argparse's type for --min-confidence: a number from 0 to 1 (nan would quietly keep nothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a confidence is from 0 to 1")
    return value
