"""``gatewatch uplink DIR --broker URL``: publish a folder's alert records as they are written
(needs the fleet extra: paho-mqtt)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from .extras import need
from .fleet import add_broker, broker_of, stop_on_signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="the alert log folder (gatewatch run/replay -o)")
    add_broker(parser)
    parser.add_argument("--state", metavar="DIR", help="where the cursor is kept (default: DIR/.uplink)")
    parser.add_argument("--rate", type=float, default=200.0, help="records per second at most while a backlog drains")
    parser.add_argument("--once", action="store_true", help="stop when every record so far is acknowledged")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    need("paho.mqtt.client")
    from ..fleet.uplink import Uplink

    folder = Path(args.folder)
    uplink = Uplink(folder, broker_of(args), Path(args.state) if args.state else folder / ".uplink", rate=args.rate)
    stats = uplink.run(stop_on_signals(), until_idle=args.once)
    print(json.dumps({**stats.__dict__, "cursor": uplink.cursor.__dict__}), file=out)
    return 0
