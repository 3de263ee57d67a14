"""The daemon's counters, readable while it runs: ``DIR/stats.json``, rewritten atomically
(written beside, then renamed) every few seconds and once more at shutdown, so a reader never
sees half a file. ``gatewatch status`` reads it.

On a full disk the new file cannot be written beside the old one, yet that is when the status
matters most (it says DEGRADED). So the file is padded with trailing spaces (still JSON) to a
multiple of PAD bytes, and when the atomic write fails for want of space the new content is
written over the old in place: the same blocks, no new ones needed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import SourceError

STATS_FILE = "stats.json"


PAD = 16 << 10


def write_stats(directory: Path, stats: dict) -> bool:
    """Write stats.json; False (nothing raised) when even the in-place rewrite failed."""
    path = directory / STATS_FILE
    text = json.dumps(stats, indent=1, default=str, sort_keys=True) + "\n"
    data = text.encode().ljust(-(-len(text.encode()) // PAD) * PAD - 1) + b"\n"
    partial = path.with_name(f".{STATS_FILE}.{os.getpid()}")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
        return True
    except OSError:
        partial.unlink(missing_ok=True)
    return _overwrite(path, data)


def _overwrite(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size < len(data):
            return False
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, data.ljust(path.stat().st_size - 1) + b"\n", 0)
        finally:
            os.close(fd)
        return True
    except OSError:
        return False


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
    line = (f"{stats.get('state', '?')}: {counts.get('can_frames', 0)} CAN frames, "
            f"{stats.get('net', {}).get('packets', 0)} packets, {findings} findings, "
            f"{stats.get('alerts', 0)} alerts, {drops} drops")
    log = stats.get("alert_log", {})
    if log.get("degraded"):
        line = (f"DEGRADED (alert log {log.get('last_write_error') or 'dropped records'}: "
                f"{log.get('records_waiting', 0)} records waiting in memory, {log.get('records_dropped', 0)} dropped); "
                + line)
    return line
