"""``gatewatch bench can``: timing against the reference tools, in one run (never in tests)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

DEFAULT_DBC = "dbc/opendbc/tesla_model3_party.dbc"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    can_parser = targets.add_parser("can", help="CAN: candump parse and DBC decode vs python-can + cantools")
    can_parser.add_argument("--frames", type=int, default=1_000_000, help="workload size (default 1000000)")
    can_parser.add_argument("--dbc", help=f"DBC to generate frames for (default {DEFAULT_DBC})")
    can_parser.add_argument("--log", help="time this candump log instead of a generated workload (needs --dbc)")
    can_parser.add_argument("--repeat", type=int, default=3, help="best of N runs for every contender (default 3)")
    can_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..bench import can as bench_can
    from ..errors import ConfigError
    from ..resources import shipped

    if args.frames <= 0 or args.repeat <= 0:
        raise ConfigError("--frames and --repeat must be positive")
    if args.log and not args.dbc:
        raise ConfigError("--log needs --dbc to decode it with")
    dbc = Path(args.dbc) if args.dbc else shipped(DEFAULT_DBC)
    report = bench_can.run(dbc, args.frames, Path(args.log) if args.log else None, repeat=args.repeat)
    print(json.dumps(report) if args.json else bench_can.format_table(report), file=out)
    return 0
