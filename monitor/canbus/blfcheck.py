"""What a BLF file may cost before python-can reads it.

python-can's BLF reader reads each object's declared size at once (Python allocates that many
bytes before reading: a crafted 32-bit size asks for up to 4 GiB) and inflates each zlib
container whole. So gatewatch hands it a file whose reads never ask for more than the file
holds (``CappedReads``), and first walks the file's containers itself (``check``), inflating
each with a limit, so the whole file cannot expand past limits.MAX_EXPANSION, and checking the
size each object inside them declares (python-can parsed an object of size 0 forever).
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
LOG_CONTAINER, STORED, ZLIB_DEFLATE = 10, 0, 2
#: An object inside a container: a CAN FD frame takes about 100 bytes, an Ethernet frame 1.6 KB.
MAX_INNER_OBJECT = 1 << 20


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
    """SourceError when the file's zlib containers inflate past the expansion cap, or an object
    inside a container declares a size python-can would loop on or wait for without bound."""
    size = path.stat().st_size
    limit = budget = expansion_limit(size)
    inner = _InnerObjects(path)
    with path.open("rb") as handle:
        head = handle.read(FILE_HEADER.size)
        if len(head) < FILE_HEADER.size or head[:4] != b"LOGG":
            return  # not BLF at all: python-can says so
        handle.seek(FILE_HEADER.unpack(head)[1])
        while budget >= 0:
            at = handle.tell()
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
                        data = zlib.decompressobj().decompress(body[CONTAINER.size:], budget + 1)
                    except zlib.error:
                        return  # python-can meets the same error and reports it
                    budget -= len(data)
                elif method == STORED:
                    data = body[CONTAINER.size:]
                else:
                    continue
                if budget >= 0 and not inner.feed(data, at):
                    return
    raise SourceError(f"{path}: BLF containers inflate past {limit} bytes "
                      f"({MAX_EXPANSION}x the file; a decompression bomb?)")


class _InnerObjects:
    """The objects inside the containers, walked as python-can walks them (an object may run on
    into the next container), checking each declared size before python-can trusts it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tail = b""  # the start of an object that runs on into the next container

    def feed(self, data: bytes, container_at: int) -> bool:
        """False where python-can stops reading (no object where one must start)."""
        data = self.tail + data if self.tail else data
        pos = 0
        while pos + OBJECT_HEADER.size <= len(data):
            at = data.find(b"LOBJ", pos, pos + 8)
            if at < 0:
                return False
            object_size = OBJECT_HEADER.unpack_from(data, at)[3]
            if not OBJECT_HEADER.size <= object_size <= MAX_INNER_OBJECT:
                raise SourceError(f"{self.path}: the object at byte {at} of the container at byte {container_at} "
                                  f"declares size {object_size} (python-can would read it forever or wait for "
                                  f"it; objects are {OBJECT_HEADER.size} to {MAX_INNER_OBJECT} bytes)")
            if at + object_size > len(data):
                pos = at
                break
            pos = at + object_size
        self.tail = data[pos:]
        return True
