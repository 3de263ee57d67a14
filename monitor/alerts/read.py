"""Reading alert logs: one file, a folder, or many vehicles' folders, in chain order, with
filters, one record at a time within bounded.py's bounds (line length, nesting, finite numbers).
``Filter`` says which rows the review commands keep (cli/filters.py makes it from their
options, once for all of them). Damaged or torn lines, and records whose fields have the wrong
type (``flat`` checks every field the review commands read), are reported (file:line) and
skipped, never fatal; so are folders that cannot be read. Which files a path means is
``logfiles.vehicle_logs``'s to say: a folder's own alert files or the layouts gatewatch writes
one level down, never a walk of the disk unless asked (``recursive``)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError
from .bounded import MAX_INT, MAX_TIME_MS, show, whole
from .logfiles import Entry, read_file, vehicle_logs


def gatewatch(record: dict) -> dict:
    """The record's ``unmapped.gatewatch`` ({} when absent or not an object)."""
    unmapped = record.get("unmapped")
    found = unmapped.get("gatewatch") if isinstance(unmapped, dict) else None
    return found if isinstance(found, dict) else {}


class NotARecord(ValueError):
    """A field the review commands read has the wrong type or range: the line is named and skipped."""


def flat(record: dict) -> dict:
    """The fields operators filter and show, from one record, each checked for its type (and
    range, where a number is drawn or formatted): ``NotARecord`` names the first that is wrong,
    so nothing downstream meets a list where it expects a string."""
    unmapped = _object(record, "unmapped")
    g = _object(unmapped, "gatewatch", "unmapped.")
    vehicle, flow, can = _object(g, "vehicle", "gatewatch."), _object(g, "flow", "gatewatch."), _object(g, "can", "gatewatch.")
    destination = _object(g, "destination", "gatewatch.")
    track = _object(g, "track", "gatewatch.")
    dst = _endpoint(record)
    side = "src_endpoint" if _inbound(record) else "dst_endpoint"  # the remote party (an outside host reaching in: src)
    remote = _endpoint(record, side)
    return {
        "time": _number(record, "time", 0, MAX_TIME_MS - 1, "", default=0) / 1000,  # before the year 10000
        "seq": _whole(_object(record, "metadata"), "sequence", 1, MAX_INT, "metadata."),
        "vehicle": _text(vehicle, "id", "gatewatch.vehicle.") or _text(_object(record, "device"), "uid", "device."),
        "vin": _text(vehicle, "vin", "gatewatch.vehicle."),
        "activity": _text(record, "activity_name"), "category": _text(g, "category", "gatewatch."),
        "detector": _text(g, "detector", "gatewatch."),
        "confidence": _number(g, "confidence", -MAX_INT, MAX_INT, "gatewatch."),
        "action": _text(_object(g, "verdict", "gatewatch."), "action", "gatewatch.verdict."),
        "rule": _text(g, "rule", "gatewatch."),
        "destination": _text(remote, "ip", f"evidences[0].{side}.") or _text(can, "bus", "gatewatch.can."),
        "port": _whole(dst, "port", 0, 65535, "evidences[0].dst_endpoint."), "names": _names(destination),
        "proto": _text(flow, "proto", "gatewatch.flow."), "count": _whole(record, "count", 0, MAX_INT),
        "seen": _text(g, "seen", "gatewatch."), "position": _position(g),
        "positions": _points(track), "positions_total": _whole(track, "positions_total", 0, MAX_INT, "gatewatch.track.") or 0,
        "episode": _text(_object(g, "episode", "gatewatch."), "uid", "gatewatch.episode."),
        "country": _text(destination, "country", "gatewatch.destination."),
    }


def _wrong(where: str, value: object, what: str) -> NotARecord:
    return NotARecord(f"{where} {show(value)} is not {what}")


def _object(parent: dict, key: str, where: str = "") -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(where + key, value, "an object")
    return value


def _text(parent: dict, key: str, where: str = "") -> str | None:
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise _wrong(where + key, value, "a string")
    return value


def _whole(parent: dict, key: str, least: int, most: int, where: str = "") -> int | None:
    value = parent.get(key)
    if value is not None and not whole(value, least, most):
        raise _wrong(where + key, value, f"a whole number from {least} to {most}")
    return value


def _number(parent: dict, key: str, least: float, most: float, where: str = "", default=None) -> float | None:
    value = parent.get(key, default)
    if value is not None and not (isinstance(value, int | float) and not isinstance(value, bool) and least <= value <= most):
        raise _wrong(where + key, value, f"a number from {least} to {most}")
    return value


def _endpoint(record: dict, which: str = "dst_endpoint") -> dict:
    evidences = record.get("evidences")
    if evidences is None or evidences == []:
        return {}
    if not isinstance(evidences, list):
        raise _wrong("evidences", evidences, "a list")
    if not isinstance(evidences[0], dict):
        raise _wrong("evidences[0]", evidences[0], "an object")
    return _object(evidences[0], which, "evidences[0].")


def _inbound(record: dict) -> bool:
    """Did the remote party open the connection (then it is the record's src_endpoint)?"""
    return _endpoint(record, "connection_info").get("direction_id") == 1


def _names(destination: dict) -> list[str]:
    names = destination.get("names")
    if names is None:
        return []
    if not isinstance(names, list):
        raise _wrong("gatewatch.destination.names", names, "a list")
    out = []
    for i, entry in enumerate(names):
        name = _text(entry, "name", f"gatewatch.destination.names[{i}].") if isinstance(entry, dict) else entry
        if not isinstance(name, str):
            raise _wrong(f"gatewatch.destination.names[{i}]", entry, "a name")
        out.append(name)
    return out


def _position(g: dict) -> dict | None:
    position = _object(g, "position", "gatewatch.")
    if not position:
        return None
    return {"lat": _number(position, "lat", -90, 90, "gatewatch.position.", default=""),
            "lon": _number(position, "lon", -180, 180, "gatewatch.position.", default="")}


def _points(track: dict) -> list:
    """The track's [time, lat, lon] points, each three numbers on the globe."""
    points = track.get("points")
    if points is None:
        return []
    if not isinstance(points, list):
        raise _wrong("gatewatch.track.points", points, "a list")
    for i, point in enumerate(points):
        if not (isinstance(point, list) and len(point) == 3 and all(_real(v) for v in point)
                and -90 <= point[1] <= 90 and -180 <= point[2] <= 180):
            raise _wrong(f"gatewatch.track.points[{i}]", point, "[time, lat, lon] on the globe")
    return points


def _real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Lines(list):
    """Problem lines, the first ``keep`` kept and the rest counted (``more``): a file of a
    million bad lines costs a counter, not a million strings."""

    def __init__(self, keep: int = 100) -> None:
        super().__init__()
        self.keep, self.more = keep, 0

    def append(self, line: str) -> None:
        if len(self) < self.keep:
            super().append(line)
        else:
            self.more += 1


@dataclass
class Problems:
    lines: Lines = field(default_factory=Lines)  # file:line: what is wrong with a record (bounded)
    folders: list[str] = field(default_factory=list)  # folder: why it could not be read
    skipped: int = 0  # lines that are not records, all of them

    def add(self, entry: Entry) -> None:
        self.note(f"{entry.path}:{entry.line}: {entry.error}")

    def note(self, line: str) -> None:
        self.skipped += 1
        self.lines.append(line)


Logs = dict[tuple[Path, str], list[Path]]


def find(paths: list[Path], problems: Problems, recursive: bool = False) -> Logs:
    """(folder, stem) -> alert files under ``paths`` (see logfiles.vehicle_logs)."""
    return vehicle_logs(paths, recursive, problems.folders)


def records(paths: list[Path], problems: Problems | None = None, recursive: bool = False) -> Iterator[dict]:
    """Every record of every chain found under ``paths``, each chain in order."""
    problems = problems if problems is not None else Problems()
    yield from records_of(find(paths, problems, recursive), problems)


def records_of(logs: Logs, problems: Problems) -> Iterator[dict]:
    """Every record of these chains, each chain in order (see rows_of)."""
    for record, _ in rows_of(logs, problems):
        yield record


def rows_of(logs: Logs, problems: Problems) -> Iterator[tuple[dict, dict]]:
    """(record, flat row) of every record of these chains, each chain in order, one at a time. A
    line that is not a record (bounded.py's bounds, or a field of the wrong type) is noted in
    ``problems`` as file:line and skipped: the review commands show what is there; ``verify``
    is the one that calls it a break."""
    for _, files in sorted(logs.items()):
        for path in files:
            yield from _rows(path, problems)


def _rows(path: Path, problems: Problems) -> Iterator[tuple[dict, dict]]:
    for entry in read_file(path):
        if entry.record is None:
            problems.add(entry)
            continue
        try:
            row = flat(entry.record)
        except NotARecord as error:
            problems.note(f"{entry.path}:{entry.line}: not a record: {error}")
            continue
        row["line"] = entry.line
        yield entry.record, row


#: What a relative time's unit means, in seconds ("90s", "30m", "1h", "2d", "1w": before now).
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)([smhdw])")


def parse_time(text: str | None, now: float | None = None) -> float | None:
    """ISO 8601 (2026-11-30T10:00:00Z, or a date; no zone is UTC), epoch seconds, or a span
    before ``now`` (default: the clock): ``90s``, ``30m``, ``1h``, ``2d``, ``1w``."""
    if text is None:
        return None
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        return (time.time() if now is None else now) - float(relative[1]) * UNITS[relative[2]]
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds):
            raise ConfigError(f"{text!r} is not a time (a finite number of epoch seconds, ISO 8601, or 1h before now)")
        return seconds
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a time (ISO 8601 like 2026-11-30T10:00:00Z, epoch seconds, or a span "
                          f"before now: 90s, 30m, 1h, 2d, 1w)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@dataclass(frozen=True)
class Filter:
    """Which rows the review commands keep: every field given must match (an empty tuple
    matches all); within one field any of the values. Times are epoch seconds, inclusive."""

    since: float | None = None
    until: float | None = None
    categories: tuple[str, ...] = ()
    vehicles: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    detectors: tuple[str, ...] = ()  # a name or a family: "wire" keeps wire.jt808
    destinations: tuple[str, ...] = ()  # an address, a name, or a domain its names end in
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2 of the destination, any case; "-" for none known
    min_confidence: float | None = None

    def __call__(self, row: dict) -> bool:
        return self._when(row) and self._what(row) and self._where(row)

    def _when(self, row: dict) -> bool:
        return not (self.since is not None and row["time"] < self.since
                    or self.until is not None and row["time"] > self.until)

    def _what(self, row: dict) -> bool:
        if self.categories and row["category"] not in self.categories or self.vehicles and row["vehicle"] not in self.vehicles:
            return False
        if self.actions and row["action"] not in self.actions:
            return False
        if self.detectors and not any(row["detector"] == d or (row["detector"] or "").startswith(d + ".")
                                      for d in self.detectors):
            return False
        return self.min_confidence is None or (row["confidence"] or 0) >= self.min_confidence

    def _where(self, row: dict) -> bool:
        if self.countries and (row["country"] or "-").upper() not in {c.upper() for c in self.countries}:
            return False
        return not self.destinations or any(
            d == row["destination"] or any(d == n or n.endswith("." + d) for n in row["names"]) for d in self.destinations)

    def given(self) -> dict:
        """The filters set, by name (what a summary says it was limited to)."""
        return {name: value for name, value in vars(self).items() if value not in (None, ())}


def follow(paths: list[Path], poll_s: float = 0.5, stop: Callable[[], bool] = lambda: False,
           recursive: bool = False, problems: Problems | None = None) -> Iterator[dict]:
    """Records as they are appended (``--follow``): new files and new lines, until ``stop``.
    Lines that are not records are noted in ``problems`` once each and skipped."""
    problems = problems if problems is not None else Problems()
    seen: dict[Path, int] = {}
    while not stop():
        for _, files in sorted(vehicle_logs(paths, recursive).items()):
            for path in files:
                for entry in read_file(path):
                    if entry.line <= seen.get(path, 0) or entry.torn:
                        continue  # a torn last line may still be being written: read it again next time
                    seen[path] = entry.line
                    if entry.record is None:
                        problems.add(entry)
                        continue
                    try:
                        flat(entry.record)
                    except NotARecord as error:
                        problems.note(f"{entry.path}:{entry.line}: not a record: {error}")
                        continue
                    yield entry.record
        time.sleep(poll_s)
