"""``gatewatch replay``: run CAN logs and captures through the pipeline and the detectors.

Writes into DIR the chained alert log (OCSF Detection Findings in episodes,
``alerts-<vehicle>-<first seq>.jsonl``), the flow log and the DNS log, and ``stats.json``; a
summary goes to stdout. Inputs are told apart by content: pcap/pcapng by their magic,
anything else is a CAN log (candump, ASC, BLF, TRC, MF4 by suffix). Recordings are merged by
time. A DIR that holds an earlier run's logs is refused unless --force (replace) or --append
(continue the chain).

Nothing is lost silently: when the run ends with alert records not written (the disk full past
alerts.backlog, a read-only or failing disk) or flow or DNS lines lost, or stats.json cannot be
written, the summary is still printed and one line names the file, the error and the records
written and not written; exit 74 (cli.Exit.OUTPUT). A --append whose configured key or
algorithm is not the chain's is refused, exit 2.

When CAN and IP recordings are given together, a first pass compares their clocks
(detect/clocks.py: positions in payloads against the CAN track): an offset above a second is
one warning line with the --can-time-offset to give, and --align-clocks applies it. The
estimate, and the offset applied, are in stats.json under ``clocks``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TextIO

from . import Exit, gating, progress
from .apart import run_apart


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="RECORDING", help="CAN logs and pcap/pcapng captures")
    parser.add_argument("--config", metavar="FILE", help="configuration (default: the shipped default)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="where the logs and stats.json go")
    parser.add_argument("--vehicle-id", metavar="ID", help="the vehicle the recordings are of (default: alerts.vehicle_id)")
    parser.add_argument("--can-time-offset", type=float, default=0.0, metavar="SECONDS",
                        help="add this to every CAN recording timestamp, logs and SocketCAN captures (a clock that is not the IP capture's)")
    parser.add_argument("--align-clocks", action="store_true",
                        help="estimate the CAN clock's offset from positions found in payloads and, when it exceeds a "
                             "second, add it to --can-time-offset")
    parser.add_argument("--vehicle-net", action="append", metavar="CIDR",
                        help="the in-vehicle networks (repeatable), instead of the configuration's")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="replace an earlier run's logs in DIR")
    mode.add_argument("--append", action="store_true", help="continue the alert chain in DIR")
    gating.add_arguments(parser)
    progress.add_arguments(parser)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..alerts.files import ChainMismatch
    from ..alerts.log import AlertLog, prepare
    from ..daemon.status import write_stats
    from ..detect.clocks import align
    from ..pipeline import Monitor, Sinks, load_config, replay, time_mismatch, with_vehicle_networks
    from ..recordings import sort_recordings

    gating.check_arguments(args)
    config = with_vehicle_networks(load_config(args.config), args.vehicle_net)
    can_logs, captures = sort_recordings(args.inputs)
    output = Path(args.output)
    prepare(output, force=args.force, append=args.append)
    # In a child process: the pass's leftovers would sit under the replay's peak RSS (apart.py).
    can_offset, clocks, clock_lines = run_apart(align, config, can_logs, captures, args.can_time_offset, args.align_clocks)
    tally: Counter = Counter()
    try:
        log = AlertLog(output, config.alerts, vehicle_id=args.vehicle_id)
    except ChainMismatch as error:  # the configuration, not the disk: exit 2 as `run` does
        print(f"gatewatch replay: error: {error}", file=err)
        return Exit.USAGE

    def count(finding) -> None:
        tally[(finding.action, finding.category, finding.detector, finding.seen)] += 1

    monitor = Monitor(config, Sinks.of_log(log, stats=count))

    def status() -> str:  # read from the progress thread: counters the pipeline keeps anyway
        return f"{monitor.counts['can_frames']:,} CAN frames, {monitor.net.stats.packets:,} packets"

    try:
        with progress.shown(err, "gatewatch replay", status, args.quiet):
            files = replay(monitor, can_logs, captures, can_offset)
    finally:
        log.close()
    summary = {"state": "replayed", "files": files, "alert_log": log.summary(), **monitor.summary(),
               **({"clocks": {**clocks.as_dict(), "applied_s": can_offset}} if clocks else {})}
    stats_failure = write_stats(output, summary)
    lost = [line for line in (log.loss(ended=True), stats_failure and f"{stats_failure}: the run's counters not written")
            if line]
    decided: Counter = Counter()
    for (action, category, *_), n in tally.items():
        decided[(action, category)] += n
    status, reasons = gating.exit_status(args, decided)
    gating.write_summary(args, {**summary, "exit_status": status, "fail_on": reasons,
                                "findings": {f"{a}/{c}": n for (a, c), n in decided.items()}})
    print(_format(files, monitor.summary(), tally, log.summary(), output), file=out)
    for entry in files.values():
        for example in entry.get("examples", []):
            print(f"gatewatch replay: skipped {example}", file=err)
    mismatch = time_mismatch(files)
    if mismatch:
        print(f"gatewatch replay: warning: {mismatch}", file=err)
    for line in clock_lines:
        print(f"gatewatch replay: {line}", file=err)
    for reason in reasons:
        print(f"gatewatch replay: failing: {reason} (--fail-on)", file=err)
    for line in lost:
        print(f"gatewatch replay: {line}", file=err)
    return Exit.OUTPUT if lost else status


def _format(files: dict, summary: dict, tally: Counter, log: dict, output: Path) -> str:
    lines = []
    for name, entry in files.items():
        if entry["kind"] == "can":
            lines.append(f"{name}: {entry['frames']} CAN frames, {entry['malformed']} malformed lines skipped")
        else:
            lines.append(f"{name}: {entry['packets']} packets, {entry['damaged']} damaged records"
                         + (f", {entry['bad_times']} packet times out of range" if entry.get("bad_times") else "")
                         + (", file truncated" if entry["truncated_file"] else ""))
    net = summary["net"]
    lines.append(f"network: {net['packets']} packets {net['packets_by_status']}, {net['flows']['finished']} flows")
    from ..net.pipeline import limits_hit

    limits = limits_hit(net)
    if limits:
        lines.append("limits reached (counted, see docs/architecture.md, Bounds): " + ", ".join(limits))
    vehicle = summary["vehicle"]
    lines.append(f"vehicle state: {vehicle['signal_updates']} signal values ({', '.join(vehicle['signals']) or 'none'})"
                 + (f", VIN {vehicle['vin']}" if vehicle["vin"] else ""))
    alerts = sum(n for (action, *_), n in tally.items() if action != "allow")
    lines.append(f"findings: {sum(tally.values())}, {alerts} alerts in {log['episodes']} episodes, "
                 f"{log['records']} records (seq up to {log['last_seq']}) in {output}/{', '.join(log['alert_files']) or '-'}")
    lines.append(f"flow log: {log['flows_logged']} flows; DNS log: {_dns_line(log['dns'])}")
    for (action, category, detector, seen), n in sorted(tally.items()):
        lines.append(f"  {n:>6}  {action:<6} {category:<12} {detector:<18} {seen}")
    lines.append("rules: " + (", ".join(f"{rule} {n}" for rule, n in summary["rules"].items()) or "none decided"))
    if summary["detector_errors"]:
        lines.append(f"detector errors (batches skipped, see log): {summary['detector_errors']}")
    for name, stats in summary["detectors"].items():
        lines.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return "\n".join(lines)


def _dns_line(counts: dict) -> str:
    """All queries seen, by direction: an ECU asking the gateway's resolver counts too."""
    ways = ", ".join(f"{way} {counts[f'queries_{way}']}" for way in ("outbound", "internal", "inbound")
                     if counts.get(f"queries_{way}"))
    line = f"{counts['queries']} queries" + (f" ({ways})" if ways else "")
    line += f": {counts['answered']} answered, {counts['unanswered']} unanswered"
    line += f", {counts['retransmitted']} retransmitted" if counts.get("retransmitted") else ""
    return line + f"; {counts['responses_without_query']} answers without their query"
