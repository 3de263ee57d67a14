"""Chained JSON Lines files: writing with rotation, retention and an fsync policy, and reading
that tolerates a torn last line.

A vehicle's alert log is a series of files ``alerts-<vehicle>-<first seq>.jsonl`` (the number
zero-padded, so names sort in chain order). The writer appends to the newest, starts a new one
when it passes ``rotate_bytes`` or ``rotate_s``, and deletes the oldest beyond ``keep_files``
(counted). It continues the chain across files and restarts: on open it reads the last intact
record. A crash or power cut leaves at most a torn last line: readers report it and go on; the
writer starts a fresh line after it. ``<stem>.head`` holds the last sequence number and hash at
every sync, so a log cut short after a sync is told from one that just ended.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import SourceError
from .chain import GENESIS, chain_of, seal

log = logging.getLogger(__name__)

NAME = re.compile(r"^(?P<stem>alerts-.+)-(?P<first>\d{12})\.jsonl$")


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64] or "vehicle"


@dataclass
class WriterSettings:
    rotate_bytes: int = 64 << 20
    rotate_s: float = 86400.0
    keep_files: int = 30
    fsync: str | float = "always"  # "always", or milliseconds between syncs
    key: bytes | None = None


@dataclass
class WriterStats:
    records: int = 0
    files_opened: int = 0
    files_deleted: int = 0
    syncs: int = 0
    resumed_at: int = 0
    torn_line_found: bool = False


class ChainedWriter:
    def __init__(self, directory: Path, vehicle_id: str, settings: WriterSettings | None = None,
                 clock=time.monotonic) -> None:
        self.directory = directory
        self.stem = f"alerts-{safe_name(vehicle_id)}"
        self.settings = settings or WriterSettings()
        self.clock = clock
        self.stats = WriterStats()
        self.handle: TextIO | None = None
        self.path: Path | None = None
        self.seq, self.prev = 0, GENESIS
        self._opened_at = 0.0
        self._last_sync = 0.0
        self._resume()

    # ------------------------------------------------------------ chain state

    def _resume(self) -> None:
        files = chain_files(self.directory, self.stem)
        if not files:
            return
        last = None
        for entry in read_file(files[-1]):
            if entry.record is not None:
                last = entry.record
            elif entry.torn:
                self.stats.torn_line_found = True
        if last is None and len(files) > 1:
            last = next((e.record for e in reversed(list(read_file(files[-2]))) if e.record is not None), None)
        if last is not None:
            chain = chain_of(last)
            self.seq, self.prev = int(chain.get("seq", 0)), str(chain.get("hash", GENESIS))
            self.stats.resumed_at = self.seq
        self.path = files[-1]

    # ------------------------------------------------------------ writing

    def append(self, record: dict) -> dict:
        self._roll_if_due()
        seal(record, self.seq + 1, self.prev, self.settings.key)
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
        assert self.handle is not None
        self.handle.write(line)
        self.handle.flush()
        self.seq, self.prev = self.seq + 1, chain_of(record)["hash"]
        self.stats.records += 1
        self._sync_if_due()
        return record

    def _roll_if_due(self) -> None:
        s = self.settings
        if self.handle is None:
            self._open(self.path if self.path and self.path.exists() and self.path.stat().st_size < s.rotate_bytes else None)
        elif self.handle.tell() >= s.rotate_bytes or self.clock() - self._opened_at >= s.rotate_s:
            self._close_file()
            self._open(None)

    def _open(self, existing: Path | None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = existing or self.directory / f"{self.stem}-{self.seq + 1:012d}.jsonl"
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open across appends, closed in close()
        if existing is not None and path.stat().st_size and not _ends_with_newline(path):
            handle.write("\n")  # after a torn line: the next record starts a line of its own
        self.handle, self.path, self._opened_at = handle, path, self.clock()
        self.stats.files_opened += 1
        self._retain()

    def _retain(self) -> None:
        files = chain_files(self.directory, self.stem)
        for old in files[: max(0, len(files) - self.settings.keep_files)]:
            old.unlink()
            self.stats.files_deleted += 1
            log.warning("alert log retention: deleted %s (keep_files %d)", old.name, self.settings.keep_files)

    def _sync_if_due(self) -> None:
        policy = self.settings.fsync
        if policy == "always" or (self.clock() - self._last_sync) * 1000 >= float(policy):
            self.sync()

    def sync(self) -> None:
        if self.handle is None:
            return
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self._last_sync = self.clock()
        self.stats.syncs += 1
        head = self.directory / f"{self.stem}.head"
        partial = head.with_suffix(".head.partial")
        partial.write_text(json.dumps({"seq": self.seq, "hash": self.prev, "file": self.path.name if self.path else None}))
        os.replace(partial, head)

    def _close_file(self) -> None:
        if self.handle is not None:
            self.sync()
            self.handle.close()
            self.handle = None

    def close(self) -> None:
        self._close_file()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


# ------------------------------------------------------------------ reading

@dataclass
class Entry:
    path: Path
    line: int
    record: dict | None = None
    error: str = ""
    torn: bool = False  # the file's last line, cut off (a crash)
    partial: bool = False  # begins like a record but is not whole JSON (cut off by a crash)


def chain_files(directory: Path, stem: str | None = None) -> list[Path]:
    """A folder's alert files in chain order (of one stem, or all)."""
    found = [p for p in directory.glob("alerts-*.jsonl") if _stem(p) is not None and (stem is None or _stem(p) == stem)]
    return sorted(found, key=lambda p: (_stem(p) or "", p.name))


def _stem(path: Path) -> str | None:
    match = NAME.match(path.name)
    return match["stem"] if match else None


def read_file(path: Path) -> Iterator[Entry]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot read: {error.strerror or error}") from None
    lines = data.split(b"\n")
    torn_tail = bool(lines) and lines[-1] != b""
    if not torn_tail:
        lines = lines[:-1]
    for number, raw in enumerate(lines, 1):
        last = number == len(lines)
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as error:
            record, problem = None, str(error)
        else:
            problem = "" if isinstance(record, dict) else "not a JSON object"
        if problem:
            torn = last and torn_tail
            yield Entry(path, number, error="torn last line (cut off mid-write)" if torn else f"not a record: {problem}",
                        torn=torn, partial=raw.startswith(b"{") and record is None)
            continue
        yield Entry(path, number, record)


def vehicle_logs(paths: list[Path]) -> dict[tuple[Path, str], list[Path]]:
    """(folder, stem) -> files, from files, folders, or folders of vehicles' folders."""
    out: dict[tuple[Path, str], list[Path]] = {}
    for path in paths:
        if path.is_file():
            match = NAME.match(path.name)
            stem = match["stem"] if match else path.stem
            out.setdefault((path.parent, stem), []).append(path)
            continue
        if not path.is_dir():
            raise SourceError(f"{path}: no such file or folder")
        for file in sorted(path.rglob("alerts-*.jsonl")):
            match = NAME.match(file.name)
            if match:
                out.setdefault((file.parent, match["stem"]), []).append(file)
    return {key: sorted(set(files)) for key, files in out.items()}


def head_of(folder: Path, stem: str) -> dict | None:
    path = folder / f"{stem}.head"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
