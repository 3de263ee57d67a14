"""What the commands write, and what they say when it cannot be written.

A write that fails (a full disk, a read-only folder, ``/dev/full``, an I/O error) ends a
command with one line naming the file and the error and what was and was not written, and exit
status ``Exit.OUTPUT``; never a traceback. A reader that goes away (``| head``: a broken pipe)
is not an error: the command stops quietly, as usual tools do.

- ``Guarded`` wraps the command's stdout: any write error becomes an ``OutputError`` naming it.
- ``RecordSink`` writes records (decode, flows) in chunks, counting those written; after a
  failure it keeps counting what it could not write, so the line says both.
- ``write_output`` writes a whole file (``report -o``, the demo's report).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..errors import OutputError


def failed(path: object, error: OSError, written: str = "") -> OutputError:
    """The one-line error: ``path: strerror[: what was written]``."""
    message = f"{path}: {error.strerror or error}" + (f": {written}" if written else "")
    return OutputError(message, path, error.errno)


def quiet(stream: TextIO) -> None:
    """Point a real stream's descriptor at /dev/null, so what is left in its buffer goes nowhere
    at exit instead of failing again there ("Exception ignored ... BrokenPipeError")."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # an in-memory stream (tests)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


class Guarded:
    """A text stream whose write errors name it (``stdout``); a broken pipe passes through."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream, self.name = stream, name

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            quiet(self.stream)
            raise failed(self.name, error) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            quiet(self.stream)
            raise failed(self.name, error) from None

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


class RecordSink:
    """Records as lines, written ``chunk`` at a time and flushed, so ``written`` counts what
    reached the file (a chunk that fails counts as not written, whole). After a failure nothing
    more is written; ``lost`` counts what was handed in since, and ``close`` raises the
    one-line error with both counts."""

    def __init__(self, stream: TextIO, name: str, chunk: int = 256, what: str = "records") -> None:
        self.stream = stream.stream if isinstance(stream, Guarded) else stream  # counted here, not named there
        self.name, self.chunk, self.what = name, chunk, what
        self.written = self.lost = 0
        self.error: OSError | None = None
        self._lines: list[str] = []
        self._counted = 0  # records among _lines (a table's header is not one)

    def write(self, line: str, record: bool = True) -> None:
        """One record's text, its newline included (``record`` False: a header)."""
        if self.error is not None:
            self.lost += record
            return
        self._lines.append(line)
        self._counted += record
        if len(self._lines) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        lines, counted, self._lines, self._counted = self._lines, self._counted, [], 0
        if self.error is not None or not lines:
            self.lost += counted
            return
        size = _file_size(self.stream)
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            self.error, self.lost = error, self.lost + counted
            if size is not None:  # a file: take back the part of the chunk that got out, so it holds `written`
                with contextlib.suppress(OSError):
                    os.ftruncate(self.stream.fileno(), size)
            quiet(self.stream)
            return
        self.written += counted

    def close(self) -> None:
        """Flush; raise the error, with the counts, if writing failed."""
        self.flush()
        if self.error is not None:
            raise failed(self.name, self.error, f"{self.written:,} {self.what} written, {self.lost:,} not written")

    def check(self) -> None:
        """Raise at once if writing has failed (a live capture that would otherwise run on)."""
        if self.error is not None:
            self.close()


def _file_size(stream: TextIO) -> int | None:
    """The size of the regular file behind ``stream`` (None: a pipe, a device, memory)."""
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


@contextlib.contextmanager
def record_output(path: str | None, out: TextIO, what: str) -> Iterator[RecordSink]:
    """A RecordSink on ``-o FILE`` (else ``out``): closed at the end, a failure raised as one
    line with the counts; the file closed in any case."""
    handle = open_output(path) if path else out
    sink = RecordSink(handle, path or "stdout", what=what)
    try:
        yield sink
        sink.flush()
    finally:
        if path:
            try:
                handle.close()
            except OSError as error:
                sink.error = sink.error or error
    sink.close()


def open_output(path: str) -> TextIO:
    """Open ``-o FILE`` for writing text; a folder that cannot be written is one line."""
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise failed(path, error, "nothing written") from None


def close_output(handle: TextIO, path: str) -> None:
    """Close ``-o FILE``; what is left in its buffer failing is one line."""
    try:
        handle.close()
    except OSError as error:
        raise failed(path, error) from None


def write_output(path: str | Path, text: str, what: str = "") -> None:
    """Write a whole file (``report -o``), in one piece: a failure is one line naming the file,
    the error and ``what`` was not written (e.g. "the report of 812 records")."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise failed(path, error, f"{what} not written" if what else "not written") from None
