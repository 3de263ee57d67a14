"""``gatewatch collect --broker URL -o DIR``: the fleet's alert records, verified, deduplicated
and filed by day and vehicle."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from .fleet import add_broker, broker_of, stop_on_signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_broker(parser)
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="where the partitioned files go")
    parser.add_argument("--shared-group", metavar="NAME", help="share the subscription with other collectors of this group")
    parser.add_argument("--client-id", default="gatewatch-collector", help="MQTT client id (one per collector)")
    parser.add_argument("--idle", type=float, metavar="S", help="stop after S seconds without a record")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..fleet.collector import Collector

    collector = Collector(broker_of(args), Path(args.output), args.shared_group, args.client_id)
    counts = collector.run(stop_on_signals(), idle_s=args.idle)
    print(json.dumps(dict(counts)), file=out)
    return 0
