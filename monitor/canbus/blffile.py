"""Vector BLF to FrameBatches on the compiled core (src/gw_blf.c), object for object as
``read_with_python_can`` reads them: the same check first (blfcheck's container walk, its inner
walk in C), python-can's BLFReader to open the file (its header, its start time, its errors),
then the file's objects read here as python-can reads them, each LOG_CONTAINER inflated with a
bound, and the frame objects inside walked by the C into the batch columns."""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from ..errors import SourceError
from ..limits import MAX_EXPANSION, expansion_limit
from . import blfcheck
from .candump import ParseStats
from .frames import FrameBatch
from .logcolumns import LogColumns

TAIL, FULL, LOST, VERSION, TICKS, STUCK = range(6)
CHECK_OK, CHECK_STOP, CHECK_SIZE, CHECK_SHORT = range(4)
#: Inflated containers the check keeps for the read that follows (each is inflated once then),
#: by file offset and size; past this many bytes the read inflates them again.
KEEP_BYTES = 8 << 20
#: python-can's BLF logger: its warnings are counted by logs.ReaderWarnings, as python-can's are.
LOG = logging.getLogger("can.io.blf")


def read_blf_native(path: Path, batch_size: int, core, drive, open_python_can) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Batches and stats as logs.read_with_python_can gives them; ``drive`` and
    ``open_python_can`` are logs' own (passed in: logs imports this module)."""
    columns = LogColumns(batch_size, core)
    kept: dict[tuple[int, int], bytes] = {}
    check(path, core, kept)
    _, reader = open_python_can(path)
    steps = _objects(core, columns, reader, expansion_limit(path.stat().st_size), path, kept)
    yield from drive(path, columns, steps, reader.stop, list)


def _objects(core, columns: LogColumns, reader, limit: int, path: Path, kept: dict) -> Iterator[None]:
    """python-can's BLFReader.__iter__ over reader.file, its container parsing done by the C."""
    from can.io import blf

    tail = b""
    while True:
        at = reader.file.tell()
        data = reader.file.read(blf.OBJ_HEADER_BASE_STRUCT.size)
        if not data:
            return
        signature, _, _, obj_size, obj_type = blf.OBJ_HEADER_BASE_STRUCT.unpack(data)
        if signature != b"LOBJ":
            raise blf.BLFParseError()
        obj_data = reader.file.read(obj_size - blf.OBJ_HEADER_BASE_STRUCT.size)
        reader.file.read(obj_size % 4)
        if obj_type != blf.LOG_CONTAINER:
            continue
        method, _ = blf.LOG_CONTAINER_STRUCT.unpack_from(obj_data)
        container_data = obj_data[blf.LOG_CONTAINER_STRUCT.size:]
        if method == blf.NO_COMPRESSION:
            data = container_data
        elif method == blf.ZLIB_DEFLATE:
            inflated = kept.pop((at, obj_size), None)
            data = inflated if inflated is not None else _inflate(container_data, limit, path)
        else:
            LOG.warning("Unknown compression method (%d)", method)
            continue
        data = tail + data if tail else data
        pos = yield from _container(core, columns, data, reader.start_timestamp, path)
        tail = data[pos:]


def _container(core, columns: LogColumns, data: bytes, start: float, path: Path):
    """The C's walk of one container's objects; returns where the unfinished object starts."""
    from can.io import blf

    pos = 0
    while True:
        status, pos, version, ticks, ten_us = core.canlogs_blf_walk(columns.frames, data, pos, start)
        if status == TICKS:  # past 2^53 ticks a double division is not exact: Decimal, as python-can
            factor = blf.TIME_TEN_MICS_FACTOR if ten_us else blf.TIME_ONE_NANS_FACTOR
            columns.batch.timestamp[columns.frames.n - 1] = float(Decimal(ticks) * factor) + start
        elif status == VERSION:
            LOG.warning("Unknown object header version (%d)", version)
        elif status == LOST:
            raise blf.BLFParseError("Could not find next object")
        elif status == STUCK:
            raise SourceError(f"{path}: a BLF object of size 0 (python-can would read it forever)")
        yield
        if status == TAIL:
            return pos


def _inflate(data: bytes, limit: int, path: Path) -> bytes:
    """A container's zlib data, never more than the file's expansion limit (check() held the
    whole file to it already; this bound holds where python-can reads on past a damaged object)."""
    inflated = zlib.decompressobj().decompress(data, limit + 1)
    if len(inflated) > limit:
        raise SourceError(f"{path}: BLF containers inflate past {limit} bytes "
                          f"({MAX_EXPANSION}x the file; a decompression bomb?)")
    return inflated


def check(path: Path, core, kept: dict | None = None) -> None:
    """blfcheck.check, with the walk of the objects inside each container in C. Into ``kept``
    go the first KEEP_BYTES of inflated containers, by (offset, size)."""
    size = path.stat().st_size
    limit = budget = expansion_limit(size)
    tail, keeping = b"", 0
    with path.open("rb") as handle:
        head = handle.read(blfcheck.FILE_HEADER.size)
        if len(head) < blfcheck.FILE_HEADER.size or head[:4] != b"LOGG":
            return
        handle.seek(blfcheck.FILE_HEADER.unpack(head)[1])
        while budget >= 0:
            at = handle.tell()
            header = handle.read(blfcheck.OBJECT_HEADER.size)
            if len(header) < blfcheck.OBJECT_HEADER.size:
                return
            signature, _, _, object_size, object_type = blfcheck.OBJECT_HEADER.unpack(header)
            if signature != b"LOBJ" or object_size < blfcheck.OBJECT_HEADER.size:
                return
            body = handle.read(min(object_size - blfcheck.OBJECT_HEADER.size, size))
            handle.seek(object_size % 4, os.SEEK_CUR)
            if object_type != blfcheck.LOG_CONTAINER or len(body) < blfcheck.CONTAINER.size:
                continue
            method, _ = blfcheck.CONTAINER.unpack_from(body)
            if method == blfcheck.ZLIB_DEFLATE:
                try:
                    data = zlib.decompressobj().decompress(body[blfcheck.CONTAINER.size:], budget + 1)
                except zlib.error:
                    return
                budget -= len(data)
                if kept is not None and budget >= 0 and keeping + len(data) <= KEEP_BYTES:
                    kept[at, object_size] = data  # whole: the budget was not reached
                    keeping += len(data)
            elif method == blfcheck.STORED:
                data = body[blfcheck.CONTAINER.size:]
            else:
                continue
            if budget >= 0:
                rest = _check_inner(core, tail + data if tail else data, at, path)
                if rest is None:
                    return
                tail = rest
    raise SourceError(f"{path}: BLF containers inflate past {limit} bytes "
                      f"({MAX_EXPANSION}x the file; a decompression bomb?)")


def _check_inner(core, data: bytes, container_at: int, path: Path) -> bytes | None:
    """blfcheck._InnerObjects.feed: the unfinished object's start, None where python-can stops."""
    status, pos, at, object_size = core.canlogs_blf_check(data, blfcheck.MAX_INNER_OBJECT)
    if status == CHECK_STOP:
        return None
    if status == CHECK_SHORT:
        blfcheck.OBJECT_HEADER.unpack_from(data, at)  # raises struct.error, as blfcheck does
    if status == CHECK_SIZE:
        header = blfcheck.OBJECT_HEADER.size
        raise SourceError(f"{path}: the object at byte {at} of the container at byte {container_at} "
                          f"declares size {object_size} (python-can would read it forever or wait for "
                          f"it; objects are {header} to {blfcheck.MAX_INNER_OBJECT} bytes)")
    return data[pos:]
