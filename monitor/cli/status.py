"""``gatewatch status``: what the daemon is doing, from the stats file it rewrites every few
seconds (and once more at shutdown): whether it still runs (the pid in the file, the file's
age), sources with their frames/packets and drops, findings, verdicts and alerts, detector
errors. On a replay's folder: what the replay counted."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from . import DEFAULT_OUTPUT

EPILOG = """exit status:
  0  running, every source open and the alert log writing (or DIR holds a replay's stats)
  1  no stats file in DIR, or one that cannot be read
  3  not running: the daemon stopped, or its process is gone (killed, crashed)
  4  silent: the process is there, but stats.json is older than twice the interval (hung?)
  5  degraded: running, but a source is down or the alert log cannot write"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), metavar="DIR",
                        help=f"the daemon's output folder (gatewatch run -o; default {DEFAULT_OUTPUT})")
    parser.add_argument("--json", action="store_true", help="print the whole stats object (the exit status as above)")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..daemon.service import STATS_EVERY_S
    from ..daemon.status import alive, judge, read_stats

    stats, age_s = read_stats(Path(args.output))
    verdict, state = judge(stats, age_s, STATS_EVERY_S, alive)
    if args.json:
        print(json.dumps(stats, indent=1, sort_keys=True), file=out)
    else:
        print("\n".join(_lines(stats, state)), file=out)
    return int(verdict)


def _lines(stats: dict, state: str) -> list[str]:
    from ..daemon.status import status_line

    lines = [status_line(stats, state), _how(stats)]
    for name, source in sorted(stats.get("sources", {}).items()):
        lines.append(f"  {name}: {source.get('items', 0)} in {source.get('batches', 0)} batches, "
                     f"queue drops {source.get('queue_drops', 0)}, kernel drops {source.get('kernel_drops', 0)}, "
                     f"failures {source.get('failures', 0)}, late {source.get('late', 0)}"
                     + (", down" if source.get("open") is False else "")
                     + (f" (last error: {source['last_error']})" if source.get("last_error") else ""))
    counts = stats.get("counts", {})
    for title, prefix in (("findings by category", "findings_"), ("verdicts", "verdicts_")):
        found = {k.removeprefix(prefix): v for k, v in counts.items() if k.startswith(prefix)}
        lines.append(f"  {title}: " + (", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "none"))
    by_detector = stats.get("findings_by_detector", {})
    lines.append("  findings by detector: " + (", ".join(f"{k} {v}" for k, v in sorted(by_detector.items())) or "none"))
    errors = stats.get("detector_errors", {})
    lines.append("  detector errors: " + (", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"))
    return lines


def _how(stats: dict) -> str:
    """The second line: the daemon's mode and uptime, or what a replay read."""
    if stats.get("state") == "replayed":
        files = stats.get("files", {})
        return f"  replay of {len(files)} recording(s): " + ", ".join(Path(name).name for name in files)
    return (f"  mode {stats.get('mode')}, up {stats.get('uptime_s')} s, pid {stats.get('pid')}, config {stats.get('config')}, "
            f"core {stats.get('core', 'unknown')}")
