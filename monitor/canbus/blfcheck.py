"""What a BLF file may cost before python-can reads it.

python-can's BLF reader reads each object's declared size at once (Python allocates that many
bytes before reading: a crafted 32-bit size asks for up to 4 GiB) and inflates each zlib
container whole. So gatewatch hands it a file whose reads never ask for more than the file
holds (``CappedReads``), and first walks the file's containers itself (``check``), inflating
each with a limit, so the whole file cannot expand past limits.MAX_EXPANSION.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from ..errors import SourceError
from ..limits import MAX_EXPANSION, expansion_limit

FILE_HEADER = struct.Struct("<4sL")  # signature "LOGG", header size
OBJECT_HEADER = struct.Struct("<4sHHLL")  # "LOBJ", header size, header version, object size, object type
CONTAINER = struct.Struct("<H6xL4x")  # compression method, uncompressed size
LOG_CONTAINER, ZLIB_DEFLATE = 10, 2


class CappedReads:
    """A binary file whose ``read(n)`` never asks for more than is left in it."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._size = os.fstat(handle.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._handle.read()
        return self._handle.read(max(0, min(size, self._size - self._handle.tell())))

    def __getattr__(self, name: str):
        return getattr(self._handle, name)


def check(path: Path) -> None:
    """SourceError when the file's zlib containers inflate past the expansion cap."""
    size = path.stat().st_size
    limit = budget = expansion_limit(size)
    with path.open("rb") as handle:
        head = handle.read(FILE_HEADER.size)
        if len(head) < FILE_HEADER.size or head[:4] != b"LOGG":
            return  # not BLF at all: python-can says so
        handle.seek(FILE_HEADER.unpack(head)[1])
        while budget >= 0:
            header = handle.read(OBJECT_HEADER.size)
            if len(header) < OBJECT_HEADER.size:
                return
            signature, _, _, object_size, object_type = OBJECT_HEADER.unpack(header)
            if signature != b"LOBJ" or object_size < OBJECT_HEADER.size:
                return  # damaged: python-can stops here too, and reports it
            body = handle.read(min(object_size - OBJECT_HEADER.size, size))
            handle.seek(object_size % 4, os.SEEK_CUR)
            if object_type == LOG_CONTAINER and len(body) >= CONTAINER.size:
                method, _ = CONTAINER.unpack_from(body)
                if method == ZLIB_DEFLATE:
                    try:
                        budget -= len(zlib.decompressobj().decompress(body[CONTAINER.size:], budget + 1))
                    except zlib.error:
                        return  # python-can meets the same error and reports it
    raise SourceError(f"{path}: BLF containers inflate past {limit} bytes "
                      f"({MAX_EXPANSION}x the file; a decompression bomb?)")
