"""The daemon's counters, readable while it runs: ``DIR/stats.json``, rewritten atomically
(written beside, then renamed) every few seconds and once more at shutdown, so a reader never
sees half a file. ``gatewatch status`` reads it, with the writer's pid and the file's age: a
file that says "running" outlives a daemon killed with SIGKILL, so its state alone is not the
verdict (``judge``).

On a full disk the new file cannot be written beside the old one, yet that is when the status
matters most (it says DEGRADED). So the file is padded with trailing spaces (still JSON) to a
multiple of PAD bytes, and when the atomic write fails for want of space the new content is
written over the old in place: the same blocks, no new ones needed. When even that fails (a
read-only disk, an I/O error) ``write_stats`` says so (path and error) and the daemon stops on it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path

from ..alerts.files import WriteFailure
from ..errors import SourceError

STATS_FILE = "stats.json"


PAD = 16 << 10


def write_stats(directory: Path, stats: dict) -> WriteFailure | None:
    """Write stats.json; None, or where and why when even the in-place rewrite failed."""
    path = directory / STATS_FILE
    if stats.get("state") != "replayed":  # a replay's stats belong to no running process (and stay byte-identical)
        stats = {"pid": os.getpid(), **stats}
    text = json.dumps(stats, indent=1, default=str, sort_keys=True) + "\n"
    data = text.encode().ljust(-(-len(text.encode()) // PAD) * PAD - 1) + b"\n"
    partial = path.with_name(f".{STATS_FILE}.{os.getpid()}")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
        return None
    except OSError as error:
        first = WriteFailure(str(path), error.errno, error.strerror or str(error))
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only disk: nothing was made there
    return _overwrite(path, data, first)


def _overwrite(path: Path, data: bytes, first: WriteFailure) -> WriteFailure | None:
    """The new content over the old, in the blocks it has; ``first`` (the atomic write's error)
    when there is no old file big enough."""
    try:
        if path.stat().st_size < len(data):
            return first
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, data.ljust(path.stat().st_size - 1) + b"\n", 0)
        finally:
            os.close(fd)
        return None
    except FileNotFoundError:
        return first
    except OSError as error:
        return WriteFailure.of(error, path)


def read_stats(directory: Path) -> tuple[dict, float]:
    """The stats and their age in seconds (from the file's modification time)."""
    path = directory / STATS_FILE
    try:
        stats = json.loads(path.read_text())
        return stats, max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        raise SourceError(f"{path}: no stats file (is gatewatch run writing to {directory}?)") from None
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: unreadable stats file: {error}") from None


class Verdict(IntEnum):
    """What ``gatewatch status`` says of a folder, and its exit status (1 and 2 are every
    command's: no or unreadable stats file, bad arguments)."""

    OK = 0  # running, every source open and the alert log writing; or a replay's folder
    NOT_RUNNING = 3  # stopped, or the process is gone (killed, crashed): stats.json is the last it wrote
    SILENT = 4  # the process is there but has not written stats.json for twice the interval: hung
    DEGRADED = 5  # running, but a source is down or the alert log cannot write


def judge(stats: dict, age_s: float, every_s: float, alive: Callable[[int], bool]) -> tuple[Verdict, str]:
    """The verdict on a stats file ``age_s`` old that a daemon rewrites every ``every_s``."""
    state, pid = stats.get("state"), stats.get("pid")
    if state == "replayed":
        return Verdict.OK, "replay"
    if state == "stopped":
        return Verdict.NOT_RUNNING, f"stopped {age_s:.0f} s ago"
    if isinstance(pid, int) and not alive(pid):
        return Verdict.NOT_RUNNING, f"gone: process {pid} is not running (killed or crashed {age_s:.0f} s ago at most)"
    if age_s > 2 * every_s:
        return Verdict.SILENT, f"silent: no stats for {age_s:.0f} s (written every {every_s:g} s); process {pid} hung?"
    down = [name for name, source in sorted(stats.get("sources", {}).items()) if source.get("open") is False]
    if down or stats.get("alert_log", {}).get("degraded"):
        return Verdict.DEGRADED, "degraded" + (f" ({', '.join(down)} down)" if down else "")
    return Verdict.OK, str(state or "running")


def alive(pid: int) -> bool:
    """Whether the process exists (a zombie, killed and not yet reaped, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] not in "ZX"
    except FileNotFoundError:
        return False
    except (OSError, ValueError, IndexError):
        pass  # no /proc here: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process (the daemon runs as gatewatch)
    return True


def status_line(stats: dict, state: str | None = None) -> str:
    """The main counters in one line: for systemd's STATUS= and the top of ``gatewatch status``
    (where ``state`` is the verdict, not what the file says)."""
    counts = stats.get("counts", {})
    sources = stats.get("sources", {})
    drops = sum(s.get("queue_drops", 0) + s.get("kernel_drops", 0) for s in sources.values())
    findings = sum(v for k, v in counts.items() if k.startswith("findings_"))
    # The alert log's count: a replay's stats have no top-level "alerts" (it printed 0 of 56).
    alerts = stats.get("alert_log", {}).get("findings_alerted", stats.get("alerts", 0))
    line = (f"{state or stats.get('state', '?')}: {counts.get('can_frames', 0)} CAN frames, "
            f"{stats.get('net', {}).get('packets', 0)} packets, {findings} findings, "
            f"{alerts} alerts, {drops} drops")
    log = stats.get("alert_log", {})
    if log.get("degraded"):
        line = (f"DEGRADED (alert log {log.get('last_write_error') or 'dropped records'}: "
                f"{log.get('records_waiting', 0)} records waiting in memory, {log.get('records_dropped', 0)} dropped); "
                + line)
    return line
