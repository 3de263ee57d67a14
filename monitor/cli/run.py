"""``gatewatch run``: the live daemon on the gateway.

Captures on the policy's uplinks (or --interface), runs the detectors, writes alerts to
DIR/alerts.jsonl. In enforce mode it also applies the policy to the kernel (nftables) and
serves DNS for the in-vehicle hosts; --dry-run prints the nftables JSON it would apply and
exits without touching anything.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration and policy (default: policies/default.yaml)")
    parser.add_argument("-o", "--output", default="/var/lib/gatewatch", metavar="DIR", help="where alerts.jsonl goes")
    parser.add_argument("-i", "--interface", action="append", metavar="IF",
                        help="capture here instead of the policy's uplinks (repeatable)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the nftables commands (JSON) enforce mode would apply; change nothing")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..enforce import ruleset
    from ..errors import ConfigError
    from ..policy.load import load_config

    config = load_config(args.config)
    if args.dry_run:
        commands = ruleset.build(config.policy, config.vehicle_networks) if config.policy.mode == "enforce" else []
        print(json.dumps({"nftables": commands}, indent=1), file=out)
        note = "enforce mode: these commands would replace table inet gatewatch" if commands else \
            "monitor mode: nothing would be applied to the kernel"
        print(f"gatewatch run: dry run, {note}", file=err)
        return 0
    if not (args.interface or config.policy.uplinks):
        raise ConfigError(f"{config.path}: no uplinks in the policy and no --interface: nothing to capture on")
    from ..enforce.daemon import Daemon

    daemon = Daemon(config, Path(args.output), args.interface)
    summary = daemon.run(ready=lambda: print(f"gatewatch run: ready ({config.policy.mode} mode, capturing on "
                                            f"{', '.join(daemon.interfaces)})", file=out, flush=True))
    print(json.dumps(summary, default=str), file=out)
    return 0
