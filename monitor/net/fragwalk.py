"""Reassembler.add on the compiled core: the walk of a batch's fragment rows (src/gw_fragments.c).

The C takes the fragments that only join a datagram (counted, bytes held, its end and covered
units noted); at the first fragment that would drop, complete or make room it stops, the Python
handles that row on the same state (Reassembler._one), and the C resumes after it. Each
datagram's state is copied into a matrix row (and its units into a buffer) before the walk and
written back before the Python touches it and at the end; datagrams the C made join the
pending table in row order before every Python row, so the table's order (oldest first) is the
reference's. Before a Python row that may make room (evict the oldest, which may be any
datagram) every datagram is written back, and all are read again after it."""

from __future__ import annotations

import numpy as np

from .streamwalk import _group

PENDING, FIRST_NS, HAS_HEADER, END, COUNT, IP_BYTES, HELD, UNITS_LEN, DIRTY, HEADER_ROW = range(10)
COLUMNS, UNITS = 10, 8193


class FragmentWalk:
    """One batch's walk: the row and datagram matrices, and the sync with the Reassembler."""

    def __init__(self, table, core, batch, h, rows: np.ndarray) -> None:
        self.table, self.core, self.batch, self.h, self.rows = table, core, batch, h, rows
        key_columns = (h.version[rows], h.src[rows, 0], h.src[rows, 1], h.dst[rows, 0], h.dst[rows, 1], h.proto[rows],
                       h.frag_id[rows])
        self.group, first = _group(*key_columns)
        self.keys = list(zip(*(c[first].tolist() for c in key_columns)))
        self.starts = h.payload[rows].astype(np.int64)
        self.lengths = h.payload_len[rows].astype(np.int64)
        self.offsets = h.frag_offset[rows].astype(np.int64)
        end_captured = batch.offset[rows].astype(np.int64) + batch.caplen[rows].astype(np.int64)
        self.matrix = np.ascontiguousarray(np.stack(
            [self.group, self.starts, self.lengths, end_captured, self.offsets, h.frag_more[rows].astype(np.int64),
             h.ip_bytes[rows].astype(np.int64), batch.ts_ns[rows].astype(np.int64)], axis=1), np.int64)
        self.state = np.zeros((len(self.keys), COLUMNS), np.int64)
        self.units = np.zeros((len(self.keys), UNITS), np.uint8)
        for g in range(len(self.keys)):
            self._load(g)
        self.created, self.pieces = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
        self.new_pieces: dict[int, list[int]] = {}  # datagram -> rows whose bytes joined it

    def run(self, done: list[bytes], times: list[int]) -> None:
        from .fragments import MAX_HELD_BYTES, MAX_PENDING_BYTES, _Datagram

        table, n, start = self.table, len(self.rows), 0
        walker = self.core.StreamsFragmentsWalk(self.matrix, self.state, self.units, MAX_HELD_BYTES,
                                                MAX_PENDING_BYTES, table.max_pending, self.created, self.pieces)
        while True:
            stop, taken, made, joined, table.held = walker.walk(start, table.held, len(table.pending))
            table.stats.fragments += taken
            for g in self.created[:made].tolist():  # new datagrams join the table in row order
                table.pending[self.keys[g]] = _Datagram(first_ns=int(self.state[g, FIRST_NS]))
            for at in self.pieces[:joined].tolist():
                self.new_pieces.setdefault(int(self.group[at]), []).append(at)
            if stop >= n:
                break
            evicts = len(table.pending) >= table.max_pending or table.held + int(self.lengths[stop]) > MAX_PENDING_BYTES
            touched = range(len(self.keys)) if evicts else [int(self.group[stop])]
            for g in touched:
                self._store(g)
            table._one(self.batch, self.h, int(self.rows[stop]), done, times)
            for g in touched:
                self._load(g)
            start = stop + 1
        for g in range(len(self.keys)):
            self._store(g)

    def _load(self, g: int) -> None:
        datagram = self.table.pending.get(self.keys[g])
        row, units = self.state[g], self.units[g]
        row[:] = 0
        row[END], row[HEADER_ROW] = -1, -1
        units[:] = 0
        if datagram is None:
            return
        row[PENDING], row[FIRST_NS], row[HAS_HEADER] = 1, datagram.first_ns, datagram.header is not None
        row[END] = -1 if datagram.end is None else datagram.end
        row[COUNT], row[IP_BYTES], row[HELD] = datagram.count, datagram.ip_bytes, datagram.held
        row[UNITS_LEN] = len(datagram.units)
        units[: len(datagram.units)] = np.frombuffer(bytes(datagram.units), np.uint8)

    def _store(self, g: int) -> None:
        row = self.state[g]
        if not row[DIRTY]:
            return
        row[DIRTY] = 0
        datagram = self.table.pending[self.keys[g]]
        datagram.count, datagram.ip_bytes, datagram.held = int(row[COUNT]), int(row[IP_BYTES]), int(row[HELD])
        datagram.end = None if row[END] < 0 else int(row[END])
        data, h, rows = self.batch.data, self.h, self.rows
        if row[HEADER_ROW] >= 0:
            at = int(row[HEADER_ROW])
            row[HEADER_ROW] = -1
            datagram.header = self.table._header(self.batch, h, int(rows[at]), int(h.l3[rows[at]]),
                                                 int(self.starts[at]))
        for at in self.new_pieces.pop(g, []):
            start, length = int(self.starts[at]), int(self.lengths[at])
            datagram.pieces.append((int(self.offsets[at]), data[start : start + length].tobytes()))
        datagram.units[:] = self.units[g, : int(row[UNITS_LEN])].tobytes()


def walk(table, core, batch, h, rows: np.ndarray, done: list[bytes], times: list[int]) -> bool:
    """Run a batch's fragment rows on the compiled core; False (nothing done) when the batch is
    left to the Python whole."""
    if not len(rows) or batch.data.dtype != np.uint8 or batch.data.ndim != 1:
        return False
    FragmentWalk(table, core, batch, h, rows).run(done, times)
    return True
