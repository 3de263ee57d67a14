"""``gatewatch status``: what the daemon is doing, from the stats file it rewrites every few
seconds (and once more at shutdown): sources with their frames/packets and drops, findings and
alerts by category and detector, detector errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="/var/lib/gatewatch", metavar="DIR",
                        help="the daemon's output folder (gatewatch run -o)")
    parser.add_argument("--json", action="store_true", help="print the whole stats object")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..daemon.status import read_stats, status_line

    stats = read_stats(Path(args.output))
    if args.json:
        print(json.dumps(stats, indent=1, sort_keys=True), file=out)
        return 0
    lines = [status_line(stats), f"  mode {stats.get('mode')}, up {stats.get('uptime_s')} s, config {stats.get('config')}"]
    for name, source in sorted(stats.get("sources", {}).items()):
        lines.append(f"  {name}: {source.get('items', 0)} in {source.get('batches', 0)} batches, "
                     f"queue drops {source.get('queue_drops', 0)}, kernel drops {source.get('kernel_drops', 0)}, "
                     f"failures {source.get('failures', 0)}, late {source.get('late', 0)}"
                     + (f" (last error: {source['last_error']})" if source.get("last_error") else ""))
    counts = stats.get("counts", {})
    findings = {k.removeprefix("findings_"): v for k, v in counts.items() if k.startswith("findings_")}
    lines.append("  findings by category: " + (", ".join(f"{k} {v}" for k, v in sorted(findings.items())) or "none"))
    by_detector = stats.get("findings_by_detector", {})
    lines.append("  findings by detector: " + (", ".join(f"{k} {v}" for k, v in sorted(by_detector.items())) or "none"))
    errors = stats.get("detector_errors", {})
    lines.append("  detector errors: " + (", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"))
    print("\n".join(lines), file=out)
    return 0
