"""CAN log files to FrameBatches, by suffix, through a registry of lazily imported readers.

candump ``.log`` / ``.log.gz`` is parsed columnar by gatewatch itself; Vector ASC and BLF too
when the native core is loaded (ascfile, blffile: C kernels giving python-can's very reading);
otherwise they, PCAN TRC (every version python-can reads) and ASAM MF4 (with the optional
``asammdf`` extra) go through python-can's own readers, whose frames are written straight into
batch columns.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, TextIO, cast

from .. import native
from ..errors import ConfigError, SourceError
from ..limits import MAX_LOG_LINE
from ..source import Source
from . import blfcheck
from .candump import CHUNK as CANDUMP_CHUNK
from .candump import ParseStats
from .frames import BatchBuilder, FrameBatch

#: suffix -> (module, function) producing (FrameBatch, ParseStats) pairs
LOG_READERS: dict[str, tuple[str, str]] = {
    ".log": ("monitor.canbus.candump", "read_candump"),
    ".log.gz": ("monitor.canbus.candump", "read_candump"),
    ".asc": ("monitor.canbus.logs", "read_asc"),
    ".blf": ("monitor.canbus.logs", "read_blf"),
    ".trc": ("monitor.canbus.logs", "read_with_python_can"),
    ".mf4": ("monitor.canbus.logs", "read_with_python_can"),
}


def log_suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(LOG_READERS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def read_log(path: str | Path, batch_size: int = 1 << 16, chunk_bytes: int = CANDUMP_CHUNK) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Batches of the frames in a CAN log, with what the parse skipped. ``chunk_bytes``: how
    much candump text is parsed at once (memory against speed)."""
    path = Path(path)
    suffix = log_suffix(path)
    if suffix not in LOG_READERS:
        known = ", ".join(sorted(LOG_READERS))
        raise ConfigError(f"{path}: unknown CAN log format {suffix!r} (known: {known})")
    if not path.is_file():
        raise SourceError(f"{path}: no such CAN log")
    module, function = LOG_READERS[suffix]
    reader = getattr(importlib.import_module(module), function)
    if function == "read_candump":
        return reader(path, chunk_bytes)
    return reader(path, batch_size)


def read_with_python_can(path: Path, batch_size: int = 1 << 16) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Read ASC/BLF/TRC/MF4 with python-can. Its readers stop at the first line they cannot
    parse; that is reported as one malformed entry and the frames before it are kept."""
    builder = BatchBuilder(batch_size)
    if log_suffix(path) == ".blf":
        blfcheck.check(path)
    handle, reader = open_python_can(path)
    lines = handle if isinstance(handle, BoundedLines) else None

    def close() -> None:
        stop = getattr(reader, "stop", None)
        if stop:
            stop()
        _close(handle)

    overlong = (lambda: lines.overlong) if lines is not None else list
    yield from drive(path, builder, _each_message(builder, reader), close, overlong)


#: The python-can release whose ASC and BLF reading the compiled readers reproduce, quirk for
#: quirk; under another release those formats are read by python-can itself.
NATIVE_PYTHON_CAN = "4.6."


def _native_core():
    """The compiled core, if loaded and the installed python-can is the one it reproduces."""
    core = native.kernels
    if core is None:
        return None
    try:
        import can
    except ImportError:
        return None  # python-can's path says which package is missing
    return core if can.__version__.startswith(NATIVE_PYTHON_CAN) else None


def read_asc(path: Path, batch_size: int = 1 << 16) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Vector ASC: the compiled columnar reader when the native core is loaded, else python-can."""
    core = _native_core()
    if core is not None:
        from .ascfile import read_asc_native

        return read_asc_native(path, batch_size, core, drive)
    return read_with_python_can(path, batch_size)


def read_blf(path: Path, batch_size: int = 1 << 16) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Vector BLF: the compiled columnar reader when the native core is loaded, else python-can."""
    core = _native_core()
    if core is not None:
        from .blffile import read_blf_native

        return read_blf_native(path, batch_size, core, drive, open_python_can)
    return read_with_python_can(path, batch_size)


def open_python_can(path: Path):
    """The file and python-can's reader over it; SourceError (the file closed) when it cannot start."""
    handle = _open_for_python_can(path)
    try:
        return handle, _python_can_reader(path, handle)
    except ImportError as error:
        _close(handle)
        raise SourceError(f"{path}: reading this format needs an optional package: {error}") from error
    except Exception as error:  # python-can raises many kinds on open
        _close(handle)
        raise SourceError(f"{path}: python-can cannot open it: {error}") from error


def _each_message(builder: BatchBuilder, reader) -> Iterator[None]:
    for message in reader:
        builder.add_message(message)
        yield


def drive(path: Path, builder, steps: Iterator[None], close, overlong) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Batches from a reader that adds frames to ``builder`` (BatchBuilder or LogColumns) a step
    at a time, with the reference's accounting: a batch out whenever the builder is full, an
    error ends the read as one malformed entry keeping the frames before it, then the overlong
    lines (``overlong()``: their numbers) and python-can's warnings. Shared by python-can's path
    and the compiled readers so both report alike."""
    stats = ParseStats()
    warnings = ReaderWarnings(path)
    try:
        with warnings:
            for _ in steps:
                if builder.full:
                    yield _finish(builder, stats)
                    stats = ParseStats()
    except Exception as error:  # noqa: BLE001 - report and keep what was read
        stats.malformed += 1
        read = stats.frames + len(builder)
        # python-can does not tell the line; 0 means "no line number" to the reporters.
        stats.examples.append((0, f"python-can stopped reading after frame {read}: {error}"))
    finally:
        close()
    skipped_lines = overlong()
    if skipped_lines:
        stats.malformed += len(skipped_lines)
        stats.examples += [(number, f"line longer than {MAX_LOG_LINE} characters; skipped") for number in skipped_lines[:100]]
    if warnings.count:
        stats.malformed += 1
        skipped = f"python-can skipped what it could not read {warnings.count} times (first: {warnings.first})"
        stats.examples.append((0, skipped))
    if len(builder) or stats.malformed:
        yield _finish(builder, stats)


class ReaderWarnings(logging.Filter):
    """python-can's file readers log a warning and skip what they cannot read. On a crafted file
    some skip in place forever (a BLF object of size 0 is read again and again), so the
    warnings are counted here instead of printed one a line, and past MAX_READER_WARNINGS the
    read stops with a SourceError: bounded time for any file."""

    LOGGERS = ("can.io.asc", "can.io.blf", "can.io.trc", "can.io.mf4")

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path, self.count, self.first = path, 0, ""

    def filter(self, record: logging.LogRecord) -> bool:
        self.count += 1
        self.first = self.first or record.getMessage()
        if self.count > MAX_READER_WARNINGS:
            raise SourceError(f"{self.path}: python-can's reader is stuck: {self.count} warnings "
                              f"(first: {self.first})")
        return False

    def __enter__(self) -> ReaderWarnings:  # noqa: PYI034
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)


#: Warnings one file may draw from python-can's reader before the read is stopped.
MAX_READER_WARNINGS = 10_000


def _open_for_python_can(path: Path) -> IO | BoundedLines | None:
    """The file, opened here so it is closed here even when python-can's reader fails to start
    on a damaged file (its readers leave their own handle open then). MF4 goes by path."""
    suffix = log_suffix(path)
    if suffix == ".blf":
        return path.open("rb")
    if suffix in (".asc", ".trc"):
        return BoundedLines(path.open("r", encoding="utf-8", errors="replace"))
    return None


class BoundedLines:
    """A text log as python-can iterates it, a line at a time, but never holding more than
    MAX_LOG_LINE characters of one: a longer line (a 200 MB one cost 0.6-1.4 GB) is read past in
    pieces, a blank line (which the readers skip) stands in its place, and its number is kept."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.number = 0
        self.overlong: list[int] = []  # line numbers

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._handle.readline(MAX_LOG_LINE + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) <= MAX_LOG_LINE:
            return line
        while not line.endswith("\n") and line:
            line = self._handle.readline(MAX_LOG_LINE)
        self.overlong.append(self.number)
        return "\n"

    def __getattr__(self, name: str):
        return getattr(self._handle, name)


def _python_can_reader(path: Path, handle: IO | BoundedLines | None):
    import can

    suffix = log_suffix(path)
    if suffix == ".asc":
        # An ASC file's header gives its absolute start ("date ..."); python-can's default makes
        # the times relative to it, which puts the CAN history in 1970, far from any capture.
        return can.ASCReader(cast(TextIO, handle), relative_timestamp=False)
    if suffix == ".blf":
        return can.BLFReader(cast(BinaryIO, blfcheck.CappedReads(cast(BinaryIO, handle))))
    if suffix == ".trc":
        return can.TRCReader(cast(TextIO, handle))
    return can.LogReader(str(path))


def _close(handle: IO | BoundedLines | None) -> None:
    if handle is not None:
        handle.close()


def _finish(builder, stats: ParseStats) -> tuple[FrameBatch, ParseStats]:
    batch = builder.finish()
    stats.frames += len(batch)
    stats.lines += len(batch)
    return batch, stats


class CanLogSource(Source):
    """A CAN log as a timeline source: its frames in time slices, malformed lines counted
    with their file:line reasons (``stats.extra``)."""

    kind = "can"

    def __init__(self, path: str | Path, slice_s: float = float("inf"), chunk_bytes: int = CANDUMP_CHUNK,
                 offset_s: float = 0.0) -> None:
        super().__init__(str(path))
        self.path, self.slice_s, self.chunk_bytes, self.offset_s = Path(path), slice_s, chunk_bytes, offset_s
        self.stats.extra.update(malformed=0, examples=[], first_ts=None, last_ts=None)

    def batches(self, stop: threading.Event) -> Iterator[FrameBatch]:
        return self.sliced(self._counted(), self.slice_s, stop)

    def _counted(self) -> Iterator[FrameBatch]:
        for batch, stats in read_log(self.path, chunk_bytes=self.chunk_bytes):
            if self.offset_s and len(batch):  # a log whose clock was not the capture's (--can-time-offset)
                batch = dataclasses.replace(batch, timestamp=batch.timestamp + self.offset_s)
            self.count(batch)
            self.stats.extra["malformed"] += stats.malformed
            self.stats.extra["examples"] += [f"{self.path}:{line}: {reason}" if line else f"{self.path}: {reason}"
                                             for line, reason in stats.examples]
            yield batch
