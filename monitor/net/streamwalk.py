"""StreamTable.process on the compiled core: the in-order walk (src/gw_streams.c) over a batch.

The C takes rows while they are the common case: a sender with nothing set aside for a checksum
verdict whose segment is next in order, behind the stream, beyond the window, held after every
piece it holds (a hole that stays open), or the first of a mid-stream start long enough to
confirm itself. At the first row that needs more (filling a hole, an overlap, a gap to skip, a
tentative base, a verdict to make) it stops, the Python handles that row on the same state
(StreamTable._row), and the C resumes after it. So
the results are the reference's: each sender's state is copied into a matrix row before the
walk and written back before the Python touches it and at the end; the counters, the waiting
set, the slots and the handed-out chunks are applied in row order before every Python row;
and the senders' recency order (which sender ``max_streams`` forgets) is rebuilt at the end
from the last row that touched each. A batch that could make the table forget a sender is
left to the Python whole."""

from __future__ import annotations

import numpy as np

# The sender matrix's columns, as gw_streams.h numbers them.
COLUMNS = 14
EXISTS, SIMPLE, ANCHOR, NEXT, BASE, CONFIRMED, DELIVERED, VERDICT, DIRTY, BAD, WAITING, PIECES, HELD, LAST_END = range(COLUMNS)
NEW, FOLLOWED, GONE = 0, 1, 2
MODES = {"auto": 0, "verify": 1, "ignore": 2}


class Walk:
    """One batch's walk: the row and sender matrices, the outputs, and the sync with the table."""

    def __init__(self, table, core, data, h, rows, side, past, chunks, columns) -> None:
        self.table, self.core, self.data, self.h, self.rows = table, core, data, h, rows
        self.side, self.past, self.chunks, self.columns = side, past, chunks, columns
        idx, fids, slots, sport, lo, hi, seq, flags, times, codes = columns
        self.sender_of, first = _group(fids, sport, lo, hi)
        self.keys = [(f, s, int(a), int(b)) for f, s, a, b in zip(fids[first].tolist(), sport[first].tolist(),
                                                                  lo[first].tolist(), hi[first].tolist())]
        r = rows[idx]
        sizes = self.h.captured_len[r].astype(np.int64)
        self.matrix = np.stack([self.sender_of.astype(np.int64), fids, slots.astype(np.int64),
                                side[idx].astype(np.int64), seq.astype(np.int64), flags.astype(np.int64),
                                self.h.payload[r].astype(np.int64), sizes, codes.astype(np.int64),
                                times.astype(np.int64)], axis=1)
        self.matrix = np.ascontiguousarray(self.matrix, np.int64)
        self.state = np.array([self._state_of(u) for u in range(len(self.keys))], np.int64).reshape(-1, COLUMNS)
        n = len(idx)
        self.walked_past, self.touched = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
        self.out_offset, self.out_len = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.out = np.empty(int(np.clip(sizes, 0, None).sum()), np.uint8)
        self.discards = np.zeros(n, np.int64)
        self.held_at, self.holds = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.new_pieces: dict[int, list[int]] = {}  # sender -> rows the C held as its new last pieces
        self.starts, self.sizes = self.h.payload[r].tolist(), sizes.tolist()

    def fits(self) -> bool:
        """No sender can be forgotten in this batch (each key is made at most twice: once per side)."""
        return len(self.table.senders) + 2 * len(self.keys) <= self.table.config.max_streams

    def run(self) -> None:
        table, config = self.table, self.table.config
        data = np.ascontiguousarray(self.data, np.uint8)
        n, start = len(self.matrix), 0
        python_chunks: dict[int, bytes] = {}
        walker = self.core.StreamsWalk(data, self.matrix, self.state, table.done_fid, table.done_bits,
                                       MODES[config.checksum], config.depth, config.window, config.unreliable_after,
                                       config.max_segments, config.confirm, config.flow_memcap, config.memcap,
                                       config.gap_timeout_s * 1e9, self.walked_past, self.touched, self.out_offset,
                                       self.out_len, self.out, self.discards, self.held_at, self.holds)
        while True:
            stats = table.stats
            stop, counted, discarded, held, table.memory.used = walker.walk(
                start, stats["checksum_unreliable_senders"], stats["checksum_reliable_senders"], table.memory.used)
            # What the Python reads before its next row: the counters and the waiting set.
            for name, amount in counted:
                table.stats[name] += amount
            if discarded:
                table.waiting.difference_update(self.discards[:discarded].tolist())
            for row in self.holds[:held].tolist():
                self.new_pieces.setdefault(int(self.sender_of[row]), []).append(row)
            if stop >= n:
                break
            u = int(self.sender_of[stop])
            self._store(u)
            self.touched[stop] = table._row(self.data, self.h, self.rows, self.side, self.past, python_chunks,
                                            *(column[stop].item() for column in self.columns))
            self.walked_past[stop] = 2  # the Python's row: its chunk and slot are done
            self._load(u)
            start = stop + 1
        for u, row in enumerate(self.state.tolist()):
            self._store(u, row)
        self._reorder()
        self._finish(python_chunks)

    def _finish(self, python_chunks: dict[int, bytes]) -> None:
        """The C rows' slots, past-depth marks and chunks; chunks in row order, as the Python
        loop inserts them."""
        idx, fids, slots = self.columns[:3]
        walked = self.touched != 0  # the Python's rows too: each flow's slot as its last row left it
        last_first = slice(None, None, -1)
        flows, last = np.unique(fids[walked][last_first], return_index=True)
        self.table.slots.update(zip(flows.tolist(), slots[walked][last_first][last].tolist()))
        self.past[idx[self.walked_past == 1]] = True
        has = np.flatnonzero(self.out_len > 0)
        ends = self.out_offset[has] + self.out_len[has]
        blob = self.out[: int(ends[-1]) if len(has) else 0].tobytes()  # one copy; bytes slices after
        mine = dict(zip(idx[has].tolist(), map(blob.__getitem__, map(slice, self.out_offset[has].tolist(),
                                                                      ends.tolist()))))
        if python_chunks:
            mine.update(python_chunks)
            mine = dict(sorted(mine.items()))
        self.chunks.update(mine)

    def _state_of(self, u: int) -> list[int]:
        """Sender u's state from the table, as a matrix row."""
        row = [0] * COLUMNS
        sender = self.table.senders.get(self.keys[u])
        if sender is None:
            row[SIMPLE], row[ANCHOR] = 1, -1  # not followed yet: a SYN starts it here
            return row
        pieces = sender.pieces
        # Nothing aside, and (as _drain leaves a confirmed sender) every held piece past the hole.
        row[EXISTS], row[SIMPLE] = FOLLOWED, int(not sender.aside and (not pieces or pieces[0][0] > sender.next))
        row[PIECES], row[HELD], row[LAST_END] = len(pieces), sender.held, pieces[-1][1] if pieces else 0
        row[ANCHOR], row[NEXT], row[BASE] = sender.anchor, sender.next, sender.base
        row[CONFIRMED], row[DELIVERED], row[VERDICT] = int(sender.confirmed), sender.delivered, sender.verdict
        row[BAD], row[WAITING] = sender.bad, sender.waiting_since
        return row

    def _load(self, u: int) -> None:
        self.state[u] = self._state_of(u)

    def _store(self, u: int, row: list[int] | None = None) -> None:
        """Sender u's matrix row (or row, the same as a list) back into the table, if the C changed it."""
        if row is None:
            row = self.state[u].tolist()
        if not row[DIRTY]:
            return
        self.state[u, DIRTY] = 0
        key, senders = self.keys[u], self.table.senders
        if row[EXISTS] == GONE:
            senders.pop(key, None)  # it reached depth: forgotten (its later rows are past)
            return
        sender = senders.get(key)
        if sender is None:
            sender = senders[key] = self.table.new_sender()
        if sender.verdict != row[VERDICT]:
            sender.aside = []  # as _checked leaves a sender whose verdict it has just made
        sender.anchor, sender.next, sender.base = row[ANCHOR], row[NEXT], row[BASE]
        sender.confirmed, sender.delivered, sender.verdict = bool(row[CONFIRMED]), row[DELIVERED], row[VERDICT]
        sender.bad, sender.waiting_since, sender.held = row[BAD], row[WAITING], row[HELD]
        data = self.data
        for at in self.new_pieces.pop(u, []):  # after every piece held, in row order: still sorted
            start, size, first = int(self.held_at[at]), self.sizes[at], self.starts[at]
            sender.pieces.append([start, start + size, start, start + size, data[first : first + size].tobytes()])

    def _reorder(self) -> None:
        """The senders' recency: every sender a row reached moves last, in the order of its last row."""
        reached = np.flatnonzero(self.touched)
        if not len(reached):
            return
        who = self.sender_of[reached][::-1]
        _, last = np.unique(who, return_index=True)
        senders = self.table.senders
        for u in who[np.sort(last)][::-1].tolist():
            key = self.keys[u]
            if key in senders:
                senders[key] = senders.pop(key)


def _group(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with equal values in every column as one group: each row's group, and a row of each."""
    order = np.lexsort(columns[::-1])
    new = np.zeros(len(order), bool)
    new[0] = True
    for column in columns:
        ranked = column[order]
        new[1:] |= ranked[1:] != ranked[:-1]
    group = np.empty(len(order), np.int64)
    group[order] = np.cumsum(new) - 1
    return group, order[new]


def walk(table, core, data, h, rows, side, past, chunks, columns) -> bool:
    """Run a batch's wanted rows on the compiled core; False (nothing done) when the batch is
    left to the Python whole."""
    config = table.config
    settings = (config.depth, config.window, config.unreliable_after, config.max_segments, config.confirm,
                config.flow_memcap, config.memcap)
    if not all(isinstance(value, int) and abs(value) < 1 << 62 for value in settings):
        return False  # settings that are not int64s would not reach the C as they are
    if not len(columns[0]) or data.dtype != np.uint8 or data.ndim != 1:
        return False
    batch = Walk(table, core, data, h, rows, side, past, chunks, columns)
    if not batch.fits():
        return False
    batch.run()
    return True
