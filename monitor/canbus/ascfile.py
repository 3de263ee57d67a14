"""Vector ASC to FrameBatches on the compiled core (src/gw_asc.c), line for line as
``read_with_python_can`` reads them: python-can's ASCReader reads the header (and its date), the
C reads the frame lines and skips what python-can skips, and hands back each line it cannot vouch
for (non-ASCII, trigger block dates, unusual spellings, lines python-can would warn or fail on),
which python-can's ASCReader then reads alone. Lines are cut as Python's text mode cuts them,
and a line past MAX_LOG_LINE characters is skipped and counted as BoundedLines does."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import SourceError
from ..limits import MAX_LOG_LINE
from .candump import ParseStats
from .frames import FrameBatch
from .logcolumns import LogColumns

CHUNK = 1 << 20
MORE, FULL, LINE, DONE = 0, 1, 2, 3
_NEWLINE = re.compile(rb"[\r\n]")
#: A line with more bytes than this has more than MAX_LOG_LINE characters, whatever they are.
_SURELY_OVERLONG = 4 * (MAX_LOG_LINE + 1)


def read_asc_native(path: Path, batch_size: int, core, drive) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Batches and stats as logs.read_with_python_can gives them; ``drive`` is logs.drive, its
    accounting (passed in: logs imports this module)."""
    try:
        import can
    except ImportError as error:
        raise SourceError(f"{path}: reading this format needs an optional package: {error}") from error
    handle = path.open("rb")
    lines = ByteLines(handle)
    # python-can's own reader, for the header and the lines the C hands back (absolute times)
    reader = can.ASCReader(io.StringIO(), relative_timestamp=False)
    columns = LogColumns(batch_size, core)
    steps = _steps(core, columns, lines, reader)
    yield from drive(path, columns, steps, handle.close, lambda: lines.overlong)


def _steps(core, columns: LogColumns, lines: ByteLines, reader) -> Iterator[None]:
    reader.file = lines.header_lines()
    reader._extract_header()  # python-can's header rules: base, dates, where the frames start
    while True:
        status, pos, end, after, lines.number = core.canlogs_asc_parse(
            columns.frames, lines.buffer, lines.pos, lines.eof, reader._converted_base, reader.start_time,
            MAX_LOG_LINE, lines.number)
        lines.pos = pos
        if status == LINE:
            lines.pos = after
            text = lines.text(pos, end, after > end)
            for message in _read_line(reader, text) if text is not None else ():
                columns.add_message(message)
        elif status == MORE:
            lines.more()
        yield  # the batch goes out the moment it is full, as the reference's does
        if status == DONE:
            return


def _read_line(reader, text: str) -> list:
    """python-can's reading of one body line (a frame, nothing, or a new trigger block start
    time kept in the reader): a blank line ends its header at once, then this line follows."""
    reader.file = io.StringIO("\n" + text)
    return list(reader)


class ByteLines:
    """A text log's bytes a chunk at a time, cut into lines where Python's text mode cuts them
    ("\\n", "\\r\\n", "\\r"), decoded as it decodes them (UTF-8, errors replaced)."""

    def __init__(self, handle: BinaryIO, chunk: int = CHUNK) -> None:
        self.handle, self.chunk = handle, chunk
        self.buffer, self.pos, self.eof = b"", 0, False
        self.number = 0  # lines read
        self.overlong: list[int] = []  # their numbers

    def more(self) -> None:
        """Read on. An unfinished line already too long to keep is skipped to its end."""
        rest = self.buffer[self.pos:]
        if len(rest) > _SURELY_OVERLONG and not _NEWLINE.search(rest):
            self._skip_line()
            return
        data = self.handle.read(self.chunk)
        self.eof = not data
        self.buffer, self.pos = rest + data, 0

    def _skip_line(self) -> None:
        self.number += 1
        self.overlong.append(self.number)
        while True:
            data = self.handle.read(self.chunk)
            found = _NEWLINE.search(data) if data else None
            if not data or found:
                break
        if not data or found is None:
            self.buffer, self.pos, self.eof = b"", 0, True
            return
        end = found.start()
        if data[end] == 0x0D and end + 1 == len(data):
            data += self.handle.read(self.chunk)
        if data[end] == 0x0D and data[end + 1:end + 2] == b"\n":
            end += 1
        self.buffer, self.pos = data[end + 1:], 0

    def text(self, start: int, end: int, terminated: bool) -> str | None:
        """Line ``self.number``, [start, end) of the buffer, decoded; None when it is too long."""
        text = self.buffer[start:end].decode("utf-8", "replace")
        if len(text) + terminated > MAX_LOG_LINE:
            self.overlong.append(self.number)
            return None
        return text

    def header_lines(self) -> Iterator[str]:
        """Lines one at a time, as BoundedLines gives them to python-can's header reading (a
        skipped overlong line reads as a blank one)."""
        while True:
            found = _NEWLINE.search(self.buffer, self.pos)
            if found and not (found.group() == b"\r" and found.end() == len(self.buffer) and not self.eof):
                end = found.start()
                after = end + 2 if self.buffer[end:end + 2] == b"\r\n" else end + 1
            elif self.eof:
                if self.pos >= len(self.buffer):
                    return
                end = after = len(self.buffer)
            else:
                skipped = len(self.overlong)
                self.more()
                if len(self.overlong) > skipped:
                    yield "\n"
                continue
            start, self.pos = self.pos, after
            self.number += 1
            text = self.text(start, end, after > end)
            yield "\n" if text is None else text + ("\n" if after > end else "")
