"""``gatewatch run``: the live daemon on the gateway.

Reads the configured CAN buses and network interfaces (``sources``; without them, the
policy's uplinks) on one timeline, runs the detectors, writes into DIR the chained alert log
(alerts-<vehicle>-<first seq>.jsonl files with their .head), the flow and DNS logs
(flows-<vehicle>.jsonl, dns-<vehicle>.jsonl) and its counters, stats.json (``gatewatch status``). In enforce mode it also applies the
policy to the kernel (nftables) and serves DNS for the in-vehicle hosts; --dry-run prints the
nftables JSON it would apply and exits without touching anything.

Exit status: 0 stopped by SIGTERM/SIGINT; 2 the configuration cannot run here (a file:line
error naming the key: a bad file, an address dns.listen cannot bind, nft missing, a bad BPF
filter, an alert log chained under another algorithm or key than the configured one; the unit's
RestartPreventExitStatus keeps systemd from retrying it); 74 an output could not be written
(one line and STATUS= name the file, the error and the alert records written and not written:
a full disk past alerts.backlog, a read-only disk, an I/O error; systemd restarts it); 1 any
other error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from . import DEFAULT_OUTPUT

CONFIGURATION = 2  # exit status: fix the configuration, restarting will not help


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration and policy (default: the shipped default)")
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), metavar="DIR",
                        help="where the chained alert log (alerts-VEHICLE-SEQ.jsonl, alerts-VEHICLE.head), the flow "
                             "and DNS logs (flows-VEHICLE.jsonl, dns-VEHICLE.jsonl), stats.json and an uplink's cursor "
                             f"(.uplink/) go (default {DEFAULT_OUTPUT})")
    parser.add_argument("-i", "--interface", action="append", metavar="IF",
                        help="capture here instead of the configured IP sources or uplinks (repeatable)")
    parser.add_argument("--vehicle-id", metavar="ID", help="the vehicle's id in records and file names (default: alerts.vehicle_id)")
    parser.add_argument("--user", metavar="NAME",
                        help="started as root: become NAME once the output folder is handed over and the ruleset "
                             "applied, keeping only CAP_NET_RAW (and CAP_NET_ADMIN in enforce mode)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the nftables commands (JSON) enforce mode would apply; change nothing")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..errors import ConfigError

    try:
        return _dry_run(args, out, err) if args.dry_run else _daemon(args, out, err)
    except ConfigError as error:  # the configuration cannot run here: restarting will not help
        print(f"gatewatch run: error: {error}", file=err)
        return CONFIGURATION


def _dry_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..enforce import ruleset
    from ..pipeline import load_config

    config = load_config(args.config)
    commands = ruleset.build(config.policy, config.vehicle_networks) if config.policy.mode == "enforce" else []
    print(json.dumps({"nftables": commands}, indent=1), file=out)
    note = "enforce mode: these commands would replace table inet gatewatch" if commands else \
        "monitor mode: nothing would be applied to the kernel"
    print(f"gatewatch run: dry run, {note}", file=err)
    return 0


def _daemon(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..daemon import Daemon
    from . import Exit

    daemon = Daemon(args.config, Path(args.output), args.interface, vehicle_id=args.vehicle_id, user=args.user)
    names = ", ".join(str(source) for source in daemon.sources)
    summary = daemon.run(ready=lambda: print(f"gatewatch run: ready ({daemon.policy.mode} mode, reading {names})",
                                             file=out, flush=True))
    print(json.dumps(summary, default=str), file=out)
    if daemon.failure:
        print(f"gatewatch run: {daemon.failure}", file=err)
        return Exit.OUTPUT
    return 0
