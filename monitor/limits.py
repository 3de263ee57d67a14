"""What one input may cost: the caps every reader of outside data works within.

The monitor reads files and traffic that may be hostile. Each cap below bounds the time and
memory one input (a line, a packet, a flow, a datagram, a document) can take; a reader that
reaches one counts it in its stats, or ends that one input with a one-line error naming the
file and place, and goes on with the rest. docs/architecture.md ("Bounds") lists where each
is enforced and what is counted.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

from .errors import SourceError

#: Text logs (candump): a line longer than this is skipped as malformed (real lines: < 200 bytes).
MAX_LOG_LINE = 64 << 10
#: Channel names in one CAN log (real logs: a handful of interfaces); frames on later names are
#: skipped, counted malformed (70,000 names cost 13-38 s, and codes are 16 bits).
MAX_LOG_CHANNELS = 256
#: A compressed input may expand to this many times its own size (candump text: about 10x) ...
MAX_EXPANSION = 100
#: ... or to this many bytes, whichever is larger, so small real files are never refused.
MIN_EXPANSION_ALLOWANCE = 16 << 20

#: Configuration and policy YAML: whole document, nesting depth, digits of an integer. PyYAML
#: (pure Python, for the line of every node) costs up to 9 s and 400 MB per MiB of dense flow
#: lists; the shipped policies are under 10 KiB.
MAX_YAML_BYTES = 512 << 10
MAX_YAML_DEPTH = 64
MAX_INT_DIGITS = 40
#: Policy: destination sets and rules (each rule is checked against every rule above it), the
#: entries of a signal's value mapping, and the characters of a ``math`` transform (parsed by
#: Python's recursive parser: 100,000 unary minus signs were a MemoryError).
MAX_DESTINATION_SETS = 1024
MAX_RULES = 1024
MAX_MAPPING_ENTRIES = 1024
MAX_MATH_CHARS = 256

#: DBC files, checked before cantools builds them (it allocates per declared byte and signal).
#: cantools costs 20 MB and 0.2 s per MB of an ordinary DBC (the largest corpus DBC: 0.8 MB), up
#: to 65 MB per MB of dense value tables: 4 MiB of those peaked at 275 MB, 3.6 s.
MAX_DBC_BYTES = 4 << 20
MAX_DBC_LINE = 64 << 10  # the longest line of the 31 corpus DBCs: 1,840 bytes
MAX_DBC_STRING = 64 << 10  # a quoted string (comment) over any number of lines: cantools spent 200 bytes a byte
MAX_DBC_MESSAGE_BYTES = 64  # CAN FD's largest frame
MAX_DBC_MESSAGES = 4096  # the corpus's most: 367 (100,000 cost 15 s, 550 MB)
MAX_DBC_SIGNALS = 32_768  # the corpus's most: 7,769 (32,768 in 4,096 messages: 4 s, 160 MB)
MAX_DBC_SIGNALS_PER_MESSAGE = 512  # 64 bytes hold at most 512 one-bit signals


def expansion_limit(compressed_bytes: int) -> int:
    """How many bytes a compressed input of this size may expand to."""
    return max(compressed_bytes * MAX_EXPANSION, MIN_EXPANSION_ALLOWANCE)


class BoundedDecompression:
    """A gzip file read with a cap on its expansion; damage and bombs become SourceError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.limit = expansion_limit(path.stat().st_size)
        self.read_so_far = 0
        self._file = gzip.open(path, "rb")  # noqa: SIM115 - closed in close(), as a file's would be

    def read(self, size: int) -> bytes:
        try:
            data = self._file.read(min(size, self.limit + 1 - self.read_so_far))
        except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
            raise SourceError(f"{self.path}: damaged gzip data after {self.read_so_far} bytes: {error}") from None
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise SourceError(f"{self.path}: gzip expands past {self.limit} bytes ({MAX_EXPANSION}x its size; "
                              "a decompression bomb?); stopped there")
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BoundedDecompression:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(path: Path) -> BinaryIO | BoundedDecompression:
    """A binary input file; ``.gz`` is decompressed within MAX_EXPANSION."""
    if path.suffix == ".gz":
        return BoundedDecompression(path)
    return path.open("rb")


def read_at_most(path: Path, limit: int, regular_only: bool = False) -> bytes | None:
    """The bytes of ``path``, or None when it holds more than ``limit`` (only limit + 1 are ever
    read: a path naming a disk image or /dev/zero costs nothing). ``regular_only`` refuses a
    device, FIFO or folder before reading (OSError). OSError otherwise as open and read raise it."""
    with path.open("rb") as handle:
        if regular_only and not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        data = handle.read(limit + 1)
    return None if len(data) > limit else data
