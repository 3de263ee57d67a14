"""Reading alert logs: one file, a folder, or many vehicles' folders, in chain order, with
filters. Damaged or torn lines are reported (file:line) and skipped, never fatal; so are
folders that cannot be read. Which files a path means is ``files.vehicle_logs``'s to say: a
folder's own alert files or the layouts gatewatch writes one level down, never a walk of the
disk unless asked (``recursive``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError
from .files import Entry, read_file, vehicle_logs


def gatewatch(record: dict) -> dict:
    return record.get("unmapped", {}).get("gatewatch", {})


def flat(record: dict) -> dict:
    """The fields operators filter and show, from one record."""
    g = gatewatch(record)
    flow = g.get("flow") or {}
    dst = (record.get("evidences") or [{}])[0].get("dst_endpoint", {})
    names = [n.get("name") for n in (g.get("destination") or {}).get("names", [])]
    return {
        "time": record.get("time", 0) / 1000, "seq": record.get("metadata", {}).get("sequence"),
        "vehicle": (g.get("vehicle") or {}).get("id") or record.get("device", {}).get("uid"),
        "activity": record.get("activity_name"), "category": g.get("category"), "detector": g.get("detector"),
        "confidence": g.get("confidence"), "action": (g.get("verdict") or {}).get("action"), "rule": g.get("rule"),
        "destination": dst.get("ip") or (g.get("can") or {}).get("bus"), "port": dst.get("port"), "names": names,
        "proto": flow.get("proto"), "count": record.get("count"), "seen": g.get("seen"),
        "position": g.get("position"), "positions": (g.get("track") or {}).get("points", []),
        "episode": (g.get("episode") or {}).get("uid"),
        "country": (g.get("destination") or {}).get("country"),
    }


@dataclass
class Problems:
    lines: list[str] = field(default_factory=list)  # file:line: what is wrong with a record
    folders: list[str] = field(default_factory=list)  # folder: why it could not be read

    def add(self, entry: Entry) -> None:
        self.lines.append(f"{entry.path}:{entry.line}: {entry.error}")


Logs = dict[tuple[Path, str], list[Path]]


def find(paths: list[Path], problems: Problems, recursive: bool = False) -> Logs:
    """(folder, stem) -> alert files under ``paths`` (see files.vehicle_logs)."""
    return vehicle_logs(paths, recursive, problems.folders)


def records(paths: list[Path], problems: Problems | None = None, recursive: bool = False) -> Iterator[dict]:
    """Every record of every chain found under ``paths``, each chain in order."""
    problems = problems if problems is not None else Problems()
    yield from records_of(find(paths, problems, recursive), problems)


def records_of(logs: Logs, problems: Problems) -> Iterator[dict]:
    """Every record of these chains, each chain in order."""
    for _, files in sorted(logs.items()):
        for path in files:
            for entry in read_file(path):
                if entry.record is None:
                    problems.add(entry)
                else:
                    yield entry.record


def parse_time(text: str | None) -> float | None:
    """ISO 8601 (2026-11-30T10:00:00Z, or a date) or epoch seconds."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a time (ISO 8601 like 2026-11-30T10:00:00Z, or epoch seconds)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def matcher(since=None, until=None, category=None, vehicle=None, destination=None, detector=None,
            min_confidence=None) -> Callable[[dict], bool]:
    since_t, until_t = parse_time(since), parse_time(until)

    def keep(row: dict) -> bool:
        if since_t is not None and row["time"] < since_t or until_t is not None and row["time"] > until_t:
            return False
        if category and row["category"] not in category or vehicle and row["vehicle"] not in vehicle:
            return False
        if detector and not any(row["detector"] == d or (row["detector"] or "").startswith(d + ".") for d in detector):
            return False
        if destination and not any(d == row["destination"] or any(d == n or n.endswith("." + d) for n in row["names"])
                                   for d in destination):
            return False
        return min_confidence is None or (row["confidence"] or 0) >= min_confidence

    return keep


def follow(paths: list[Path], poll_s: float = 0.5, stop: Callable[[], bool] = lambda: False,
           recursive: bool = False) -> Iterator[dict]:
    """Records as they are appended (``--follow``): new files and new lines, until ``stop``."""
    seen: dict[Path, int] = {}
    while not stop():
        for _, files in sorted(vehicle_logs(paths, recursive).items()):
            for path in files:
                for entry in read_file(path):
                    if entry.line > seen.get(path, 0) and entry.record is not None:
                        seen[path] = entry.line
                        yield entry.record
        time.sleep(poll_s)
