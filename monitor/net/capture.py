"""Replay of pcap and pcapng files as PacketBatch objects.

The record walk is the one per-packet Python loop on the replay path, so it does the least it
can: it finds where each record starts; the record headers are then decoded for the whole
batch at once with numpy. With the native core (monitor/native) the walk runs in C instead and
fills the batch columns as it goes (gw_pcap.c, gw_pcapng.c); the Python walk stays the
reference, and rare events (a damaged record's resync, pcapng section and interface blocks)
are handled here on both paths. Files are read in chunks, so captures larger than memory replay.

A damaged record (a length no writer produces) is counted and the reader looks for the next
plausible record; a file that ends inside a record ends the replay with a warning, never an
exception. Both land in ReplayStats.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import native
from ..errors import SourceError
from ..source import Source
from .packets import PAD, PacketBatch
from .pcapng import PcapngWalker

log = logging.getLogger(__name__)

CHUNK = 4 << 20  # read size: 4 MiB chunks keep peak RSS near 90 MB on a 1 M-packet capture (32 MiB: 257 MB) and run faster (cache)
#: No capture tool writes a record larger than this (libpcap's MAXIMUM_SNAPLEN).
MAX_RECORD = 262_144

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),  # microsecond timestamps, little endian
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanosecond timestamps
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


@dataclass
class ReplayStats:
    path: str = ""
    records: int = 0
    damaged: int = 0
    truncated_file: bool = False
    bad_times: int = 0  # packet times out of range (replaced by the previous packet's time)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)


def read_capture(path: str | Path, batch_size: int = 65_536, stats: ReplayStats | None = None,
                 chunk_bytes: int = CHUNK) -> Iterator[PacketBatch]:
    """PacketBatches from a pcap or pcapng file (format found from its magic, not its name)."""
    path = Path(path)
    stats = stats if stats is not None else ReplayStats()
    stats.path = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise SourceError(f"{path}: cannot open capture: {error.strerror or error}") from error
    with handle:
        magic = handle.read(4)
        handle.seek(0)
        walker: PcapWalker | PcapngWalker
        if magic == PCAPNG_MAGIC:
            walker = PcapngWalker(str(path), stats, path.stat().st_size)
        elif magic in PCAP_MAGICS:
            walker = PcapWalker(str(path), stats)
        else:
            raise SourceError(f"{path}: not a pcap or pcapng file (magic {magic.hex() or 'empty'})")
        yield from _batches(handle, walker, batch_size, stats, chunk_bytes)


def _batches(handle, walker, batch_size: int, stats: ReplayStats, chunk_bytes: int = CHUNK) -> Iterator[PacketBatch]:
    pending = b""  # the unfinished record at the end of the last chunk
    consumed = 0  # file offset of pending[0], for error locations
    while True:
        # One numpy buffer per chunk: the leftover bytes, then the file read straight into it, with
        # room for the PAD zeros, so the batch's data is this buffer (no joining and padding copies).
        buf = np.empty(len(pending) + chunk_bytes + PAD, dtype=np.uint8)
        buf[: len(pending)] = np.frombuffer(pending, dtype=np.uint8)
        got = handle.readinto(buf.data[len(pending) : len(pending) + chunk_bytes]) or 0
        end, at_eof = len(pending) + got, got == 0
        if not end:
            return
        view = buf.data[:end]
        records, used = walker.walk(view, consumed, at_eof)
        pending = bytes(view[used:])
        if records is not None and len(records):
            stats.records += len(records)
            buf[used : used + PAD] = 0
            yield from _split(walker.to_batch(buf[: used + PAD], records), batch_size)
        consumed += used
        if at_eof:
            if pending:
                stats.truncated_file = True
                stats.warn(f"{stats.path}: file ends inside a record at byte {consumed}; replay stopped there")
            return


def _split(batch: PacketBatch, size: int) -> Iterator[PacketBatch]:
    n = len(batch)
    if n <= size:
        yield batch
        return
    for start in range(0, n, size):
        s = slice(start, start + size)
        yield PacketBatch(batch.data, batch.offset[s], batch.caplen[s], batch.wirelen[s], batch.ts_ns[s],
                          batch.linktype[s], batch.interface[s], batch.interface_names)


def gather_u32(data: np.ndarray, offsets: np.ndarray, endian: str) -> np.ndarray:
    """The 32-bit word at each offset (unaligned) as int64."""
    words = data[offsets[:, None] + np.arange(4)]
    return words.copy().view(f"{endian}u4").ravel().astype(np.int64)


class PcapWalker:
    """Classic libpcap format: a 24-byte file header, then 16-byte record headers."""

    def __init__(self, path: str, stats: ReplayStats) -> None:
        self.path, self.stats = path, stats
        self.header_done = False

    def walk(self, buf: memoryview, file_pos: int, at_eof: bool):
        pos = 0
        if not self.header_done:
            if len(buf) < 24:
                return None, 0
            self.endian, self.ns_per_tick = PCAP_MAGICS[bytes(buf[:4])]
            snaplen, linktype = struct.unpack_from(self.endian + "II", buf, 16)
            self.snaplen = snaplen or MAX_RECORD
            self.linktype = linktype & 0xFFFF  # upper bits carry FCS length flags
            self.header_done = True
            pos = 24
        limit = max(self.snaplen, MAX_RECORD)
        core = native.kernels
        if core is not None:
            return self._walk_native(core, buf, pos, file_pos, limit)
        caplen_at = struct.Struct(self.endian + "I").unpack_from
        starts: list[int] = []
        end = len(buf)
        while pos + 16 <= end:
            caplen = caplen_at(buf, pos + 8)[0]
            if caplen > limit:
                pos = self._resync(buf, pos, file_pos, limit)
                if pos < 0:
                    pos = end
                    break
                continue
            following = pos + 16 + caplen
            if following > end:
                break
            starts.append(pos)
            pos = following
        return np.array(starts, dtype=np.int64), pos

    def _walk_native(self, core, buf: memoryview, pos: int, file_pos: int, limit: int):
        """The same walk in C (monitor/native/src/gw_pcap.c), columns filled as it goes; a
        damaged record stops it and is skipped here, as above."""
        end = len(buf)
        parts: list[_PcapRows] = []
        while True:
            rows = _PcapRows.empty(max((end - pos) // 16, 1))
            count, pos, reason = core.pcap_walk(buf, pos, self.endian == ">", self.ns_per_tick, limit,
                                                rows.offset, rows.caplen, rows.wirelen, rows.ts_ns)
            parts.append(rows.head(count))
            if reason == 1:  # damaged: same resync (and warning) as the Python walk
                pos = self._resync(buf, pos, file_pos, limit)
                if pos < 0:
                    return _PcapRows.join(parts), end
            elif reason == 0:
                return _PcapRows.join(parts), pos

    def _resync(self, buf: memoryview, pos: int, file_pos: int, limit: int) -> int:
        """Skip a damaged record: find the next place where two headers in a row look sane."""
        self.stats.damaged += 1
        self.stats.warn(f"{self.path}: damaged record at byte {file_pos + pos} (length field out of range); skipped")
        prev_sec = struct.unpack_from(self.endian + "I", buf, pos)[0]
        for cand in range(pos + 1, len(buf) - 16):
            following = self._plausible(buf, cand, prev_sec, limit)
            if following and (following == len(buf) or self._plausible(buf, following, prev_sec, limit)):
                return cand
        return -1

    def _plausible(self, buf: memoryview, at: int, prev_sec: int, limit: int) -> int:
        """End of the record at ``at`` if its header looks like one, else 0."""
        if at + 16 > len(buf):
            return 0
        sec, frac, caplen, wirelen = struct.unpack_from(self.endian + "IIII", buf, at)
        sane = 0 < caplen <= min(limit, wirelen) and wirelen <= MAX_RECORD and abs(sec - prev_sec) < 86_400
        end = at + 16 + caplen
        return end if sane and frac < 1_000_000_000 and end <= len(buf) else 0

    def to_batch(self, data: np.ndarray, starts) -> PacketBatch:
        if isinstance(starts, _PcapRows):  # the native walk filled the columns already
            n = len(starts)
            return PacketBatch(data=data, offset=starts.offset, caplen=starts.caplen, wirelen=starts.wirelen,
                               ts_ns=starts.ts_ns, linktype=np.full(n, self.linktype, dtype=np.uint16),
                               interface=np.zeros(n, dtype=np.uint16), interface_names=("",))
        e = self.endian
        sec = gather_u32(data, starts, e)
        frac = gather_u32(data, starts + 4, e)
        caplen = gather_u32(data, starts + 8, e)
        wirelen = np.maximum(gather_u32(data, starts + 12, e), caplen)
        n = len(starts)
        return PacketBatch(
            data=data,
            offset=starts + 16,
            caplen=caplen.astype(np.int32),
            wirelen=wirelen.astype(np.int32),
            ts_ns=sec * 1_000_000_000 + frac * self.ns_per_tick,
            linktype=np.full(n, self.linktype, dtype=np.uint16),
            interface=np.zeros(n, dtype=np.uint16),
            interface_names=("",),
        )


@dataclass
class _PcapRows:
    """Batch columns of pcap records as the native walk writes them (offsets past the headers)."""

    offset: np.ndarray  # int64
    caplen: np.ndarray  # int32
    wirelen: np.ndarray  # int32
    ts_ns: np.ndarray  # int64

    @classmethod
    def empty(cls, capacity: int) -> _PcapRows:
        return cls(np.empty(capacity, np.int64), np.empty(capacity, np.int32), np.empty(capacity, np.int32),
                   np.empty(capacity, np.int64))

    def head(self, count: int) -> _PcapRows:
        # Copies: a view would keep the whole (mostly unused) capacity alive with the batch.
        return _PcapRows(self.offset[:count].copy(), self.caplen[:count].copy(), self.wirelen[:count].copy(),
                         self.ts_ns[:count].copy())

    @classmethod
    def join(cls, parts: list[_PcapRows]) -> _PcapRows:
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("offset", "caplen", "wirelen", "ts_ns")))

    def __len__(self) -> int:
        return int(self.offset.shape[0])


class CaptureSource(Source):
    """A pcap/pcapng file as a timeline source, in time slices; damaged records counted."""

    kind = "ip"

    def __init__(self, path: str | Path, slice_s: float = float("inf"), chunk_bytes: int = CHUNK) -> None:
        super().__init__(str(path))
        self.path, self.slice_s, self.chunk_bytes = Path(path), slice_s, chunk_bytes
        self.replay = ReplayStats()

    def batches(self, stop: threading.Event) -> Iterator[PacketBatch]:
        for batch in self.sliced(read_capture(self.path, stats=self.replay, chunk_bytes=self.chunk_bytes), self.slice_s, stop):
            self.count(batch)
            yield batch
