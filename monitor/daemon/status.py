"""The daemon's counters, readable while it runs: ``DIR/stats.json``, rewritten atomically
(written beside, then renamed) every few seconds and once more at shutdown, so a reader never
sees half a file. ``gatewatch status`` reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import SourceError

STATS_FILE = "stats.json"


def write_stats(directory: Path, stats: dict) -> None:
    path = directory / STATS_FILE
    partial = path.with_name(f".{STATS_FILE}.{os.getpid()}")
    partial.write_text(json.dumps(stats, indent=1, default=str, sort_keys=True) + "\n")
    os.replace(partial, path)


def read_stats(directory: Path) -> dict:
    path = directory / STATS_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError(f"{path}: no stats file (is gatewatch run writing to {directory}?)") from None
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: unreadable stats file: {error}") from None


def status_line(stats: dict) -> str:
    """The main counters in one line: for systemd's STATUS= and the top of ``gatewatch status``."""
    counts = stats.get("counts", {})
    sources = stats.get("sources", {})
    drops = sum(s.get("queue_drops", 0) + s.get("kernel_drops", 0) for s in sources.values())
    findings = sum(v for k, v in counts.items() if k.startswith("findings_"))
    return (f"{stats.get('state', '?')}: {counts.get('can_frames', 0)} CAN frames, "
            f"{stats.get('net', {}).get('packets', 0)} packets, {findings} findings, "
            f"{stats.get('alerts', 0)} alerts, {drops} drops")
