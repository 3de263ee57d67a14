"""``gatewatch replay``: run CAN logs and captures through the pipeline and the detectors.

Findings the policy does not allow go to DIR/alerts.jsonl (one JSON object per finding, with
the verdict and the id of the rule that made it); a summary goes to stdout.
Inputs are told apart by content: pcap/pcapng by their magic, anything else is a CAN log
(candump, ASC, BLF, TRC, MF4 by suffix). Recordings are interleaved by time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="RECORDING", help="CAN logs and pcap/pcapng captures")
    parser.add_argument("--config", metavar="FILE", help="configuration (default: the shipped policies/default.yaml)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="where alerts.jsonl goes")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..pipeline import Monitor, load_config, replay, sort_recordings

    config = load_config(args.config)
    can_logs, captures = sort_recordings(args.inputs)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    tally: Counter = Counter()
    with open(output / "alerts.jsonl", "w") as sink:
        def write(finding) -> None:
            tally[(finding.action, finding.category, finding.detector, finding.seen)] += 1
            if finding.is_alert:  # allowed findings are counted per rule, not alerted
                sink.write(finding.json_line())

        monitor = Monitor(config, write)
        files = replay(monitor, can_logs, captures)
    print(_format(files, monitor.summary(), tally, output / "alerts.jsonl"), file=out)
    for entry in files.values():
        for example in entry.get("examples", []):
            print(f"gatewatch replay: skipped {example}", file=err)
    return 0


def _format(files: dict, summary: dict, tally: Counter, path: Path) -> str:
    lines = []
    for name, entry in files.items():
        if entry["kind"] == "can":
            lines.append(f"{name}: {entry['frames']} CAN frames, {entry['malformed']} malformed lines skipped")
        else:
            lines.append(f"{name}: {entry['packets']} packets, {entry['damaged']} damaged records"
                         + (", file truncated" if entry["truncated_file"] else ""))
    net = summary["net"]
    lines.append(f"network: {net['packets']} packets {net['packets_by_status']}, {net['flows']['finished']} flows")
    vehicle = summary["vehicle"]
    lines.append(f"vehicle state: {vehicle['signal_updates']} signal values ({', '.join(vehicle['signals']) or 'none'})"
                 + (f", VIN {vehicle['vin']}" if vehicle["vin"] else ""))
    alerts = sum(n for (action, *_), n in tally.items() if action != "allow")
    lines.append(f"findings: {sum(tally.values())}, {alerts} alerts written to {path}")
    for (action, category, detector, seen), n in sorted(tally.items()):
        lines.append(f"  {n:>6}  {action:<6} {category:<12} {detector:<18} {seen}")
    lines.append("rules: " + (", ".join(f"{rule} {n}" for rule, n in summary["rules"].items()) or "none decided"))
    if summary["detector_errors"]:
        lines.append(f"detector errors (batches skipped, see log): {summary['detector_errors']}")
    for name, stats in summary["detectors"].items():
        lines.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return "\n".join(lines)
