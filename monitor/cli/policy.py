"""``gatewatch policy check FILE...`` and ``gatewatch policy test FILE --replay RECORDING...``.

check: load each file as the daemon would (every error names file:line:column) and say what it
holds. With --for-run, also everything ``gatewatch run`` would bind or open on this host (the
daemon's own pre-flight, daemon/preflight.py): dns.listen addresses, interfaces, nftables, the
output folder; each problem is a file:line error naming the key, and the exit status is 2, as
``gatewatch run`` exits with such a file.

test: run recordings through the detectors under that policy and show, for each finding, the
verdict and the rule that made it, so a policy can be tried before it goes on a vehicle. Both
exit non-zero if a file does not load.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TextIO

from . import DEFAULT_OUTPUT, gating

CONFIGURATION = 2  # --for-run: the exit status gatewatch run gives a configuration that cannot start


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate policy files", description="validate policy files")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--for-run", action="store_true",
                       help="also check what gatewatch run would bind and open on this host (dns.listen, interfaces, "
                            "nftables, the output folder); exit status 2 if it could not start")
    check.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), metavar="DIR",
                       help=f"with --for-run: the output folder gatewatch run would be given (default {DEFAULT_OUTPUT})")
    check.add_argument("-i", "--interface", action="append", metavar="IF",
                       help="with --for-run: the interfaces gatewatch run -i would capture on")
    test = sub.add_parser("test", help="show which rule decides each finding in recordings",
                          description="show which rule decides each finding in recordings")
    test.add_argument("file", metavar="FILE")
    test.add_argument("--replay", nargs="+", required=True, metavar="RECORDING",
                      help="CAN logs and pcap/pcapng captures")
    test.add_argument("--vehicle-net", action="append", metavar="CIDR",
                      help="the in-vehicle networks (repeatable), instead of the configuration's")
    test.add_argument("--can-time-offset", type=float, default=0.0, metavar="SECONDS",
                      help="add this to every CAN recording timestamp (logs and SocketCAN captures)")
    test.add_argument("--align-clocks", action="store_true",
                      help="estimate the CAN clock's offset from positions in payloads and apply it when above a second")
    gating.add_arguments(test)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return _check(args, out, err) if args.action == "check" else _test(args, out, err)


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..errors import MonitorError
    from ..pipeline import load_config

    failed = 0
    for name in args.files:
        try:
            config = load_config(name)
        except MonitorError as error:
            print(f"gatewatch policy check: error: {error}", file=err)
            failed += 1
            continue
        if args.for_run and not _can_run(config, args, out, err):
            failed += 1
            continue
        policy = config.policy
        print(f"{config.path}: ok: {policy.mode} mode, {len(policy.destinations)} destination sets, "
              f"{len(policy.rules)} rules, default {policy.default}, on stop {policy.on_stop}"
              + (f", uplinks {', '.join(policy.uplinks)}" if policy.uplinks else ""), file=out)
    return (CONFIGURATION if args.for_run else 1) if failed else 0


def _can_run(config, args: argparse.Namespace, out: TextIO, err: TextIO) -> bool:
    """The daemon's pre-flight on this host: each problem one line; where DNS would listen."""
    from pathlib import Path

    from ..daemon.preflight import check

    problems, listen = check(config, Path(args.output), args.interface)
    for problem in problems:
        print(f"gatewatch policy check: error: {problem}", file=err)
    if listen and not problems:
        print(f"{config.path}: dns.listen: {', '.join(str(item) for item in listen)}", file=out)
    return not problems


def _test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..detect.clocks import align
    from ..pipeline import Monitor, Sinks, load_config, replay, with_vehicle_networks
    from ..recordings import sort_recordings

    gating.check_arguments(args)
    config = with_vehicle_networks(load_config(args.file), args.vehicle_net)
    by_kind: Counter = Counter()
    lines: list[str] = []
    decided: Counter = Counter()

    def show(finding) -> None:
        verdict = finding.verdict
        decided[(verdict.rule, verdict.action)] += 1
        by_kind[(verdict.action, finding.category)] += 1
        lines.append(f"{finding.ts:14.3f}  {verdict.action:<6} {verdict.rule:<24} {finding.category:<12} "
                     f"{finding.seen}  {_where_to(finding)}")

    monitor = Monitor(config, Sinks(stats=show))
    can_logs, captures = sort_recordings(args.replay)
    can_offset, _, clock_lines = align(config, can_logs, captures, args.can_time_offset, args.align_clocks)
    for line in clock_lines:
        print(f"gatewatch policy test: {line}", file=err)
    replay(monitor, can_logs, captures, can_offset)
    print(f"{'time':>14}  {'action':<6} {'rule':<24} {'category':<12} seen  destination", file=out)
    print("\n".join(lines) if lines else "(no findings)", file=out)
    print("\nrules:", file=out)
    for rule in config.policy.rules:
        counts = [f"{n} {action}" for (rule_id, action), n in decided.items() if rule_id == rule.id]
        print(f"  {rule.id:<24} {', '.join(counts) or 'never matched':<14} {rule.where}", file=out)
    defaulted = sum(n for (rule_id, _), n in decided.items() if rule_id == "default")
    print(f"  {'default':<24} {defaulted} {config.policy.default}", file=out)
    status, reasons = gating.exit_status(args, by_kind)
    gating.write_summary(args, {"policy": config.path, "exit_status": status, "fail_on": reasons,
                                "rules": {f"{rule}:{action}": n for (rule, action), n in decided.items()},
                                "findings": {f"{a}/{c}": n for (a, c), n in by_kind.items()}})
    for reason in reasons:
        print(f"gatewatch policy test: failing: {reason} (--fail-on)", file=err)
    return status


def _where_to(finding) -> str:
    from ..policy.decide import Destination

    destination = Destination.of(finding)
    if destination and destination.address:
        host = f"[{destination.address}]" if ":" in destination.address else destination.address
        names = f" ({', '.join(finding.names)})" if finding.names else ""
        return f"{destination.proto or ''} {host}:{destination.port}{names}"
    if finding.can:
        return f"CAN {finding.can.get('bus', '')}"
    return ""
