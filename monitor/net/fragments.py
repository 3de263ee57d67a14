"""IP fragment reassembly (IPv4 and IPv6) for the rare packets that need it.

Fragments are keyed by (addresses, protocol, identification). Where fragments overlap, the
bytes that arrived first win (and the overlap is counted): garbage or malicious fragments
can neither crash this code nor make it allocate more than one 64 KiB datagram per key, and
the number of datagrams waiting is bounded. A datagram counts in its flow once, with its
full length, when it is complete; fragments of datagrams that never complete are counted in
ReassemblyStats with their bytes, so nothing vanishes from the totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .headers import Headers
from .packets import LINKTYPE_RAW, PacketBatch, from_packets

MAX_DATAGRAM = 65_535
NS = 1_000_000_000
#: Bytes one datagram's pieces may hold (a datagram is at most 64 KiB; overlapping garbage in
#: the corpus holds 20 KiB), so duplicates that never fill a gap cannot grow it: past this it is
#: dropped as invalid. Coverage is kept in 8-byte units, so each arrival costs its own length.
MAX_HELD_BYTES = 4 * MAX_DATAGRAM
#: All pending datagrams together: the oldest goes first past this many bytes.
MAX_PENDING_BYTES = 32 << 20


@dataclass
class ReassemblyStats:
    fragments: int = 0
    reassembled: int = 0
    overlaps: int = 0
    invalid: int = 0  # beyond 64 KiB, inconsistent ends, not captured whole, too many pieces
    evicted: int = 0  # dropped incomplete to make room (max_pending, MAX_PENDING_BYTES)
    incomplete_datagrams: int = 0
    incomplete_fragments: int = 0
    incomplete_bytes: int = 0


@dataclass
class _Datagram:
    first_ns: int
    header: bytes | None = None  # the first fragment's IP header (offset 0)
    end: int | None = None  # payload length, known once the last fragment arrived
    pieces: list[tuple[int, bytes]] = field(default_factory=list)  # in arrival order
    count: int = 0
    ip_bytes: int = 0
    held: int = 0  # bytes in pieces
    units: bytearray = field(default_factory=bytearray)  # 1 per 8-byte unit of payload covered


class Reassembler:
    def __init__(self, timeout: float = 60.0, max_pending: int = 4096) -> None:
        self.timeout_ns = int(timeout * NS)
        self.max_pending = max_pending
        self.pending: dict[tuple, _Datagram] = {}  # in order of first arrival: oldest first
        self.held = 0
        self.stats = ReassemblyStats()

    def add(self, batch: PacketBatch, h: Headers, rows: np.ndarray) -> PacketBatch | None:
        """Take fragment rows; returns the datagrams they completed as a raw-IP batch."""
        done: list[bytes] = []
        times: list[int] = []
        # The C fragment walk (fragwalk.py, tested against this code) stays off this path: a flood
        # of datagrams that never complete makes its hand-backs to Python quadratic (100,000
        # pending first fragments: minutes instead of half a second).
        for row in rows.tolist():
            self._one(batch, h, row, done, times)
        if rows.size:
            self.expire(int(batch.ts_ns[rows[-1]]))
        return from_packets(done, times, LINKTYPE_RAW, "reassembled") if done else None

    def _one(self, batch: PacketBatch, h: Headers, row: int, done: list[bytes], times: list[int]) -> None:
        """One fragment row; the datagram it completes, if any, joins done (at its time)."""
        self.stats.fragments += 1
        ts = int(batch.ts_ns[row])
        datagram = self._fragment(batch, h, row, ts)
        if datagram is not None:
            done.append(datagram)
            times.append(ts)

    def _fragment(self, batch: PacketBatch, h: Headers, row: int, ts: int) -> bytes | None:
        l3, start = int(h.l3[row]), int(h.payload[row])
        length = int(h.payload_len[row])
        end_captured = int(batch.offset[row]) + int(batch.caplen[row])
        offset, more = int(h.frag_offset[row]), bool(h.frag_more[row])
        key = (int(h.version[row]), int(h.src[row, 0]), int(h.src[row, 1]), int(h.dst[row, 0]),
               int(h.dst[row, 1]), int(h.proto[row]), int(h.frag_id[row]))
        datagram = self.pending.get(key)
        if datagram is None:
            datagram = self._new(key, ts)
        datagram.count += 1
        datagram.ip_bytes += int(h.ip_bytes[row])
        bad = start + length > end_captured or offset + length > MAX_DATAGRAM or (more and length % 8)
        if bad or datagram.held + length > MAX_HELD_BYTES:
            self._drop(key, invalid=True)
            return None
        if not more:
            if datagram.end is not None and datagram.end != offset + length:
                self._drop(key, invalid=True)
                return None
            datagram.end = offset + length
        if offset == 0:
            datagram.header = self._header(batch, h, row, l3, start)
        datagram.pieces.append((offset, batch.data[start : start + length].tobytes()))
        datagram.held += length
        self.held += length
        _cover(datagram.units, offset, length)
        while self.held > MAX_PENDING_BYTES and len(self.pending) > 1:
            self._evict_oldest()
        if key not in self.pending:
            return None
        if datagram.header is None or datagram.end is None or not _covered(datagram.units, datagram.end):
            return None
        del self.pending[key]
        self.held -= datagram.held
        self.stats.reassembled += 1
        return self._rebuild(datagram)

    def _new(self, key: tuple, ts: int) -> _Datagram:
        if len(self.pending) >= self.max_pending:
            self._evict_oldest()
        datagram = self.pending[key] = _Datagram(first_ns=ts)
        return datagram

    def _rebuild(self, datagram: _Datagram) -> bytes:
        assert datagram.end is not None and datagram.header is not None  # checked by the caller
        payload = bytearray(datagram.end)
        covered = bytearray(datagram.end)
        for offset, data in datagram.pieces:  # first arrival wins where pieces overlap
            data = data[: max(datagram.end - offset, 0)]
            span = slice(offset, offset + len(data))
            if covered[span].count(0) == len(data):
                payload[span] = data
            else:
                self.stats.overlaps += 1
                for i, byte in enumerate(data):
                    if not covered[offset + i]:
                        payload[offset + i] = byte
            covered[span] = b"\x01" * len(data)
        header = bytearray(datagram.header)
        if header[0] >> 4 == 4:
            header[2:4] = min(len(header) + len(payload), 0xFFFF).to_bytes(2, "big")
            header[6:8] = b"\x00\x00"  # no longer a fragment
        else:
            header[4:6] = len(payload).to_bytes(2, "big")
        return bytes(header) + bytes(payload)

    @staticmethod
    def _header(batch: PacketBatch, h: Headers, row: int, l3: int, start: int) -> bytes:
        if h.version[row] == 4:
            return batch.data[l3:start].tobytes()
        # IPv6: the base header; the next header becomes the fragment header's next header.
        base = bytearray(batch.data[l3 : l3 + 40].tobytes())
        base[6] = int(h.proto[row])
        return bytes(base)

    def _evict_oldest(self) -> None:
        self.stats.evicted += 1
        self._drop(next(iter(self.pending)), invalid=False)

    def _drop(self, key: tuple, invalid: bool) -> None:
        datagram = self.pending.pop(key)
        self.held -= datagram.held
        if invalid:
            self.stats.invalid += 1
        self.stats.incomplete_datagrams += 1
        self.stats.incomplete_fragments += datagram.count
        self.stats.incomplete_bytes += datagram.ip_bytes

    def expire(self, now_ns: int) -> None:
        """Drop datagrams past the timeout; the walk stops at the first young one (arrival order)."""
        old = []
        for key, datagram in self.pending.items():
            if now_ns - datagram.first_ns <= self.timeout_ns:
                break
            old.append(key)
        for key in old:
            self._drop(key, invalid=False)

    def flush(self) -> None:
        for key in list(self.pending):
            self._drop(key, invalid=False)


def _cover(units: bytearray, offset: int, length: int) -> None:
    """Mark the 8-byte units of [offset, offset + length) (offsets are multiples of 8)."""
    first, last = offset // 8, (offset + length + 7) // 8
    if last > len(units):
        units.extend(bytes(last - len(units)))
    units[first:last] = b"\x01" * (last - first)


def _covered(units: bytearray, end: int) -> bool:
    need = (end + 7) // 8
    return len(units) >= need and units.find(0, 0, need) < 0
