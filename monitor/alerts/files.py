"""Chained JSON Lines files: writing with rotation, retention and an fsync policy. Reading them
(names, discovery, lines within bounds) is logfiles.py's.

A vehicle's alert log is a series of files ``alerts-<vehicle>-<first seq>.jsonl`` (the number
zero-padded, so names sort in chain order). The writer appends to the newest, starts a new one
when it passes ``rotate_bytes`` or ``rotate_s``, and deletes the oldest beyond ``keep_files``
(counted). It continues the chain across files and restarts: on open it reads the last intact
record. A crash or power cut leaves at most a torn last line: readers report it and go on; the
writer starts a fresh line after it. ``<stem>.head`` holds the last sequence number and hash at
every sync, sealed (head.py), so a log cut short after a sync is told from one that just ended.

A write or fsync that fails is never silent. A full disk (ENOSPC, EDQUOT) may pass: records
wait in a bounded backlog and lines in a bounded buffer, and the file is closed and opened
again at the next try. Any other error (EROFS, EIO, EBADF) will not pass by waiting: the
writer keeps trying, but its ``failure`` is ``fatal``, and the daemon and ``replay`` stop on it
(cli.Exit.OUTPUT). A chain is continued only under the algorithm and key it was begun with.
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .chain import GENESIS, HMAC, SHA256, chain_of, seal
from .head import read_head, seal_of, write_head
from .logfiles import chain_files, read_file

log = logging.getLogger(__name__)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64] or "vehicle"


#: Errors a full disk gives: they may pass (a file deleted, the disk grown), so what cannot be
#: written waits. Every other error (EROFS, EIO, EBADF, EFBIG) is fatal for the output.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
RETRY_S = 0.5  # while writing fails, an append tries again at most this often (flush and close always try)
LINE_BACKLOG = 20_000  # flow and DNS lines kept in memory while they cannot be written (about 6 MB)


@dataclass(frozen=True)
class WriteFailure:
    """Where writing failed, and why: ``path: strerror``."""

    path: str
    errno: int | None
    reason: str

    @classmethod
    def of(cls, error: OSError, path: object) -> WriteFailure:
        return cls(str(error.filename or path), error.errno, error.strerror or str(error))

    @property
    def fatal(self) -> bool:
        """Not a full disk: waiting will not help."""
        return self.errno not in NO_SPACE

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ChainMismatch(ConfigError):
    """The configured key or algorithm is not the one the existing chain was begun with."""


@dataclass
class WriterSettings:
    rotate_bytes: int = 64 << 20
    rotate_s: float = 86400.0
    keep_files: int = 30
    fsync: str | float = "always"  # "always", or milliseconds between syncs
    key: bytes | None = None
    backlog: int = 10_000  # records kept in memory while they cannot be written (disk full)
    key_file: str = ""  # where the key came from, for messages


@dataclass
class WriterStats:
    records: int = 0
    files_opened: int = 0
    files_deleted: int = 0
    syncs: int = 0
    resumed_at: int = 0
    torn_line_found: bool = False
    write_errors: int = 0  # writes or syncs that failed (ENOSPC, EIO): retried, nothing lost
    dropped: int = 0  # records never written: the oldest waiting, past the backlog, and what waited at close
    files_held_for_uplink: int = 0  # past keep_files, kept because the uplink has not sent them yet
    last_error: str = ""


class ChainedWriter:
    """Appends records to the chain. A record that cannot be written (the disk is full) waits in
    a bounded backlog, unsealed, and is sealed and written in order once writing works again, so
    the chain on disk never has a gap; only past ``backlog`` records does the oldest go, counted."""

    def __init__(self, directory: Path, vehicle_id: str, settings: WriterSettings | None = None,
                 clock=time.monotonic) -> None:
        self.directory = directory
        self.stem = f"alerts-{safe_name(vehicle_id)}"
        self.settings = settings or WriterSettings()
        self.clock = clock
        self.stats = WriterStats()
        self.fd: int | None = None
        self.size = 0
        self.path: Path | None = None
        self.seq, self.prev = 0, GENESIS
        self.backlog: deque[dict] = deque()
        self._cut_line = False  # a failed write left part of a line: the next record starts a new one
        self._opened_at = 0.0
        self._last_sync = 0.0
        self._synced_seq = 0
        self._listed: tuple[Path | None, list[str]] = (None, [])  # (current file, chain files) for the head
        # Set by the daemon when an uplink reads this log: the file its cursor is in ("" before
        # the first acknowledgement). Retention never deletes that file or a later one.
        self.hold_from: Callable[[], str] | None = None
        # Set by AlertLog: builds the record that puts records dropped for want of room into the
        # chain (count, first and last drop time, why) once writing works again.
        self.overflow_record: Callable[[int, float, float, str], dict] | None = None
        self._unreported: list = [0, 0.0, 0.0]  # dropped, first, last (wall clock) not yet in the chain
        self.failure: WriteFailure | None = None  # standing: the last write or sync failed
        self.last_failure: WriteFailure | None = None  # the latest ever (named when records were lost)
        self.fatal: WriteFailure | None = None  # the first failure a full disk does not explain
        self._retry_at = 0.0
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
        self._same_algorithm(last)
        if last is not None:
            chain = chain_of(last)
            self.seq, self.prev = int(chain.get("seq", 0)), str(chain.get("hash", GENESIS))
            self.stats.resumed_at = self._synced_seq = self.seq
        self.path = files[-1]

    def _same_algorithm(self, last: dict | None) -> None:
        """Refuse to continue a chain under another algorithm or key than it was begun with: its
        sealed head says which (an old head, the last record); a keyed head's seal must hold
        under the configured key. Continuing would leave a chain no single key verifies."""
        head, _ = read_head(self.directory / f"{self.stem}.head")
        key, want = self.settings.key, HMAC if self.settings.key else SHA256
        have = head.alg if head is not None and head.sealed else chain_of(last).get("alg") if last else None
        if have is None or (have == want and not (key and head is not None and head.sealed)):
            return
        log_name = self.directory / f"{self.stem}-*.jsonl"
        key_text = f"the key {self.settings.key_file or '(given)'}" if key else "no key (alerts.hmac_key_file unset)"
        fix = "configure the log's own key, or start a new log (replay --force, or move the log aside)"
        if have != want:
            raise ChainMismatch(f"{log_name}: the alert chain is sealed with {have} but {key_text} would continue it "
                                f"with {want}: {fix}")
        assert head is not None and key is not None
        if not hmac.compare_digest(seal_of(head, key), head.seal):
            raise ChainMismatch(f"{log_name}: the alert chain's head is not sealed under {key_text} (another key, or "
                                f"the head was changed): {fix}")

    # ------------------------------------------------------------ writing

    @property
    def degraded(self) -> bool:
        """Records wait unwritten (or were dropped) since writing last failed."""
        return bool(self.backlog)

    def append(self, record: dict) -> dict:
        if len(self.backlog) >= self.settings.backlog:
            self.backlog.popleft()
            self.stats.dropped += 1
            now = time.time()
            self._unreported = [self._unreported[0] + 1, self._unreported[1] or now, now]
        self.backlog.append(record)
        if len(self.backlog) == 1 or self.clock() >= self._retry_at:  # while writing fails, not at every record
            self.drain()
        return record

    def drain(self) -> int:
        """Write what waits, oldest first, until one fails (kept for the next try); how many left."""
        had_failed = bool(self.stats.last_error)
        while self.backlog:
            try:
                self._write(self.backlog[0])
            except OSError as error:
                self._failed("write", error)
                break
            self.backlog.popleft()
        unreported = not self.backlog and self._unreported[0] and self.overflow_record is not None
        if unreported:
            unreported = not self._report_overflow(self.stats.last_error or "the disk was full")
        try:
            self._sync_if_due()
        except OSError as error:
            self._failed("sync", error)
        else:
            if had_failed and not self.backlog and not unreported:
                log.warning("alert log writable again: the records that waited are written (%d dropped in all)",
                            self.stats.dropped)
                self.failure, self.stats.last_error = None, ""
        return len(self.backlog)

    def _report_overflow(self, why: str) -> bool:
        """The overflow record, once what waited is written: the chain then says what it lacks."""
        dropped, first, last = self._unreported
        assert self.overflow_record is not None
        try:
            self._write(self.overflow_record(dropped, first, last, f"no room to write them ({why})"))
        except OSError as error:
            self._failed("write", error)
            return False
        self._unreported = [0, 0.0, 0.0]
        return True

    def flush(self) -> None:
        """Write what waits and sync now, whatever the fsync policy (errors counted)."""
        self.drain()
        if self.seq != self._synced_seq:
            try:
                self.sync()
            except OSError as error:
                self._failed("sync", error)

    def _failed(self, what: str, error: OSError) -> None:
        failure = WriteFailure.of(error, self.path or self.directory)
        self.stats.write_errors += 1
        if not self.stats.last_error:  # once when writing starts to fail; drain() says when it works again
            log.error("alert log %s failed (%s); records wait in memory (at most %d, then the oldest go, counted)",
                      what, failure, self.settings.backlog)
        self.stats.last_error = f"{what}: {error.strerror or error}"
        self.failure = self.last_failure = failure
        if failure.fatal and self.fatal is None:
            self.fatal = failure
        self._retry_at = self.clock() + RETRY_S
        self._forget_fd()

    def _forget_fd(self) -> None:
        """Close the file after a failure: the next try opens it again (a disk remounted, a
        file system repaired), and no descriptor holds the disk meanwhile."""
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass  # the failure is already counted and named
            self.fd = None

    def _write(self, record: dict) -> None:
        self._roll_if_due()
        assert self.fd is not None
        if self._cut_line:
            _write_all(self.fd, b"\n")
            self.size += 1
            self._cut_line = False
        seal(record, self.seq + 1, self.prev, self.settings.key)
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        try:
            _write_all(self.fd, line)
        except PartialWrite as cut:
            if not _cut_back(self.fd, self.size):  # else the next record starts a fresh line
                self._cut_line, self.size = True, self.size + cut.written
            raise cut.error from None
        self.size += len(line)
        self.seq, self.prev = self.seq + 1, chain_of(record)["hash"]
        self.stats.records += 1

    def _roll_if_due(self) -> None:
        s = self.settings
        if self.fd is None:
            self._open(self.path if self.path and self.path.exists() and self.path.stat().st_size < s.rotate_bytes else None)
        elif self.size >= s.rotate_bytes or self.clock() - self._opened_at >= s.rotate_s:
            self._close_file()
            self._open(None)

    def _open(self, existing: Path | None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = existing or self.directory / f"{self.stem}-{self.seq + 1:012d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.fd, self.path, self._opened_at, self.size = fd, path, self.clock(), os.fstat(fd).st_size
        if existing is not None and self.size and not _ends_with_newline(path):
            self._cut_line = True  # after a torn line: the next record starts a line of its own
        self.stats.files_opened += 1
        self._retain()

    def _retain(self) -> None:
        files = chain_files(self.directory, self.stem)
        held = self.hold_from() if self.hold_from else None
        for old in files[: max(0, len(files) - self.settings.keep_files)]:
            if held is not None and (not held or old.name >= held):  # names sort in chain order
                self.stats.files_held_for_uplink += 1
                continue
            old.unlink()
            self.stats.files_deleted += 1
            log.warning("alert log retention: deleted %s (keep_files %d)", old.name, self.settings.keep_files)

    def _sync_if_due(self) -> None:
        policy = self.settings.fsync
        if self.seq != self._synced_seq and (policy == "always" or (self.clock() - self._last_sync) * 1000 >= float(policy)):
            self.sync()

    def sync(self) -> None:
        """fsync the file, then record the synced head (sequence, hash, files, algorithm; sealed
        with the key, see head.py) in ``<stem>.head``."""
        if self.fd is None:
            return
        os.fsync(self.fd)
        self._last_sync = self.clock()
        self.stats.syncs += 1
        head = self.directory / f"{self.stem}.head"
        try:
            write_head(head, self.seq, self.prev, self.path.name if self.path else None, self._head_files(),
                       self.settings.key)
        except OSError as error:
            error.filename = str(head)  # name the head, not the file beside it that was being written
            try:
                head.with_suffix(".head.partial").unlink(missing_ok=True)
            except OSError:
                pass  # a read-only disk: there is none
            raise
        self._synced_seq = self.seq

    def _head_files(self) -> list[str]:
        """The chain's files for the head, listed again only when the current file changes
        (retention deletes files only when a new one opens)."""
        if self._listed[0] != self.path:
            self._listed = (self.path, [p.name for p in chain_files(self.directory, self.stem)])
        return self._listed[1]

    def _close_file(self) -> None:
        if self.fd is not None:
            try:
                self.sync()
            finally:
                os.close(self.fd)
                self.fd = None

    def close(self) -> None:
        """Write what waits if it can (what cannot is counted as dropped), sync and close."""
        self.drain()
        if self.backlog:
            self.stats.dropped += len(self.backlog)
            log.error("alert log closed with %d record(s) never written: %s", len(self.backlog), self.last_failure)
            self.backlog.clear()
        try:
            self._close_file()
        except OSError as error:
            self._failed("close", error)


class PartialWrite(Exception):
    def __init__(self, written: int, error: OSError) -> None:
        super().__init__(str(error))
        self.written, self.error = written, error


def _cut_back(fd: int, size: int) -> bool:
    """Take back the part of a line a failed write left (shrinking a file needs no room)."""
    try:
        os.ftruncate(fd, size)
        return True
    except OSError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (short writes continue); a failure says how much got out."""
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError as error:
        if not written:
            raise
        raise PartialWrite(written, error) from None


class LineFile:
    """An append-only JSON Lines file (the flow and DNS logs), written in chunks of whole lines
    with raw writes, the file opened for each chunk (no descriptor holds the disk between two).
    Lines that cannot be written (the disk is full) wait, at most ``backlog`` of them, and go
    with the next chunk; past that the oldest are lost, counted. A chunk cut short leaves part
    of a line: the next starts on a fresh line."""

    CHUNK_LINES = 512

    def __init__(self, path: Path, backlog: int = LINE_BACKLOG) -> None:
        self.path, self.backlog = path, backlog
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        self.written = self.lost = 0
        self.failure: WriteFailure | None = None  # standing: the last chunk could not be written
        self.last_failure: WriteFailure | None = None
        self.fatal: WriteFailure | None = None
        self._lines: deque[bytes] = deque()
        self._fresh = 0  # lines handed in since the last try
        self._cut_line = False

    @property
    def waiting(self) -> int:
        return len(self._lines)

    def write(self, entry: dict) -> None:
        if len(self._lines) >= self.backlog:
            self._lines.popleft()
            self.lost += 1
        self._lines.append((json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode())
        self._fresh += 1
        if self._fresh >= self.CHUNK_LINES and self.failure is None:  # while failing, flush() alone retries
            self.flush()

    def flush(self) -> None:
        self._fresh = 0
        if not self._lines:
            return
        lead = b"\n" if self._cut_line else b""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            self._failed(error)
            return
        try:
            before = os.fstat(fd).st_size
            _write_all(fd, lead + b"".join(self._lines))
        except PartialWrite as cut:
            if not _cut_back(fd, before):  # else the whole lines are written, part of the next may be
                self._wrote(cut.written - len(lead))
            self._failed(cut.error)
        except OSError as error:
            self._failed(error)
        else:
            self.written += len(self._lines)
            self._lines.clear()
            self._cut_line, self.failure = False, None
        finally:
            os.close(fd)

    def _wrote(self, written: int) -> None:
        """A chunk cut short after ``written`` bytes of its lines (the newline that ends an
        earlier cut line not counted): the whole lines are written, part of the next may be."""
        done = whole = 0
        for line in self._lines:
            if done + len(line) > written:
                break
            done, whole = done + len(line), whole + 1
        self._cut_line = written > done
        for _ in range(whole):
            self._lines.popleft()
        self.written += whole

    def _failed(self, error: OSError) -> None:
        if self.failure is None:
            log.error("%s: cannot write (%s); lines wait in memory (at most %d, then the oldest go, counted)",
                      self.path, error.strerror or error, self.backlog)
        self.failure = self.last_failure = WriteFailure.of(error, self.path)
        if self.failure.fatal and self.fatal is None:
            self.fatal = self.failure

    def close(self) -> None:
        """Write what waits if it can; what cannot is lost, counted."""
        self.flush()
        if self._lines:
            self.lost += len(self._lines)
            log.error("%s: closed with %d line(s) never written: %s", self.path, len(self._lines), self.last_failure)
            self._lines.clear()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
