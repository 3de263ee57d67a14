"""``gatewatch collect --broker URL -o DIR``: the fleet's alert records, checked, deduplicated
and filed by day and vehicle; what is refused goes to DIR/quarantine (fleet/collector.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from . import progress
from .extras import need
from .fleet import add_broker, broker_of, stop_on_signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_broker(parser)
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="where the partitioned files go")
    parser.add_argument("--shared-group", metavar="NAME", help="share the subscription with other collectors of this group")
    parser.add_argument("--client-id", default="gatewatch-collector", help="MQTT client id (one per collector)")
    parser.add_argument("--idle", type=float, metavar="S", help="stop after S seconds without a record")
    parser.add_argument("--keys", type=Path, metavar="DIR",
                        help="HMAC keys, one <vehicle>.key per vehicle: its records must carry HMAC-SHA-256 under it")
    parser.add_argument("--default-alg", choices=("sha256", "hmac-sha256"), default="sha256",
                        help="the chain algorithm of vehicles without a key (hmac-sha256: accept none of theirs)")
    parser.add_argument("--max-message-bytes", type=int, default=1 << 20, metavar="N",
                        help="a larger PUBLISH is quarantined whole (default 1 MiB)")
    parser.add_argument("--max-message-lines", type=int, default=10_000, metavar="N",
                        help="a PUBLISH with more lines is quarantined whole (default 10000)")
    parser.add_argument("--vehicle-rate", type=float, default=1000.0, metavar="N",
                        help="lines per second one vehicle may send; more are quarantined (default 1000)")
    progress.add_arguments(parser)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    need("paho.mqtt.client", "pyarrow")  # the fleet extra; pyarrow writes the Parquet table (fleet/tables.py)
    from ..fleet.collector import Collector, CollectorError
    from ..fleet.keys import Keys
    from ..fleet.limits import Limits

    limits = Limits(message_bytes=args.max_message_bytes, message_lines=args.max_message_lines,
                    vehicle_rate=args.vehicle_rate)
    collector = Collector(broker_of(args), Path(args.output), args.shared_group, args.client_id,
                          keys=Keys.load(args.keys, args.default_alg), limits=limits)
    def status() -> str:  # read by the progress thread: counters the collector keeps anyway
        counts = collector.counts
        return f"{counts['messages']:,} messages, {counts['records']:,} records filed, {counts['duplicates']:,} duplicates"

    try:
        with progress.shown(err, "gatewatch collect", status, args.quiet):
            collector.run(stop_on_signals(), idle_s=args.idle)
    except CollectorError:
        print(json.dumps(collector.stats()), file=out)  # what was filed before the disk failed
        raise
    print(json.dumps(collector.stats()), file=out)
    return 0
