"""What counts as an upload for the behaviour detectors, and the uploads of a flow as bursts.

A connection's set-up is not an upload: the TLS and DTLS handshake records (ClientHello,
ChangeCipherSpec, alerts; a ClientHello cut over several TCP segments is followed to its record's
end), QUIC long-header Initial, Handshake and Retry packets of known versions, and TCP segments
without payload (SYN, ACK, FIN never reach here). Counted as bursts, a ClientHello sat one
period-less upload at the start of every beacon connection and held its timing jitter above the
limit for minutes; to a mapping destination opening a connection per upload it doubled the bursts.

A burst is payload sent with gaps shorter than ``gap_s``; a burst that lasts longer than
``max_burst_s`` is a stream (video, a bulk transfer), not an upload, and is kept apart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from ..net.view import NetView

TLS_SETUP = (0x14, 0x15, 0x16)  # ChangeCipherSpec, alert, handshake: everything but application data
QUIC_VERSIONS = (0x00000001, 0x6B3343CF)  # v1 (RFC 9000), v2 (RFC 9369)
QUIC_DRAFT = 0xFF000000  # draft-NN versions
MAX_BURSTS = 1024


def setup_rows(view: NetView, rows: np.ndarray) -> np.ndarray:
    """True for the rows (payload rows of one batch) that open a TLS/DTLS record of connection
    set-up or are a QUIC long-header handshake packet."""
    starts, lengths = view.start[rows], view.length[rows]
    head = np.zeros((len(rows), 5), np.uint8)
    for k in range(5):
        present = lengths > k
        head[present, k] = view.data[starts[present] + k]
    b0, b1, b2 = head[:, 0], head[:, 1], head[:, 2]
    tls = np.isin(b0, TLS_SETUP) & (((b1 == 0x03) & (b2 <= 0x04)) | ((b1 == 0xFE) & np.isin(b2, (0xFC, 0xFD, 0xFF))))
    version = head[:, 1:5].astype(np.uint32) @ np.array([1 << 24, 1 << 16, 1 << 8, 1], np.uint32)
    known = np.isin(version, QUIC_VERSIONS) | ((version & 0xFFFFFF00) == QUIC_DRAFT)
    quic = view.udp[rows] & (b0 & 0xC0 == 0xC0) & ((b0 >> 4) & 3 != 1) & known & (lengths >= 7)  # 0-RTT carries data
    return (tls & (lengths >= 5)) | quic


def record_tail(view: NetView, row: int) -> int:
    """Bytes of row's TLS record that follow in later segments (0 when it ends in this one)."""
    start, length = int(view.start[row]), int(view.length[row])
    declared = 5 + int(view.data[start + 3]) * 256 + int(view.data[start + 4])
    return max(0, declared - length)


@dataclass
class Bursts:
    """A flow's (or destination's) uploads as bursts: (start, end, bytes), the last one open."""
    gap_s: float
    max_burst_s: float
    closed: deque = field(default_factory=lambda: deque(maxlen=MAX_BURSTS))
    open: list | None = None  # [start, end, bytes]
    streams: int = 0  # bursts longer than max_burst_s: kept out of the uploads
    opened: float = float("inf")  # the first packet seen, set-up included
    # ``closed`` as a float array, extended by the bursts closed since it was last read: the
    # uploads are read at every new burst, and converting the whole deque each time was most of it.
    _rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)), repr=False, compare=False)
    _closed_count: int = field(default=0, repr=False, compare=False)  # bursts ever closed into ``closed``
    _rows_count: int = field(default=0, repr=False, compare=False)  # of them, those already in ``_rows``

    def add(self, ts: np.ndarray, sizes: np.ndarray) -> int:
        """Time-ordered payload rows; returns how many bursts they started."""
        gaps = np.diff(ts) >= self.gap_s
        first = np.concatenate(([0], np.flatnonzero(gaps) + 1))
        last = np.concatenate((first[1:] - 1, [len(ts) - 1]))
        sums = np.add.reduceat(sizes, first)
        new = 0
        for start, end, size in zip(ts[first].tolist(), ts[last].tolist(), sums.tolist()):
            if self.open is not None and start - self.open[1] < self.gap_s:
                self.open[1], self.open[2] = max(self.open[1], end), self.open[2] + size
                continue
            self._close()
            self.open, new = [start, end, size], new + 1
        return new

    def _close(self) -> None:
        if self.open is None:
            return
        if self.open[1] - self.open[0] > self.max_burst_s:
            self.streams += 1
        else:
            self.closed.append(tuple(self.open))
            self._closed_count += 1
        self.open = None

    def seen(self, ts: np.ndarray) -> None:
        """Any payload of the flow, set-up included: when it opened."""
        self.opened = min(self.opened, float(ts.min()))

    def clear(self) -> None:
        self.closed.clear()
        self.open, self.opened = None, float("inf")
        self._rows, self._closed_count, self._rows_count = np.zeros((0, 3)), 0, 0

    def uploads(self, since: float = float("-inf")) -> tuple[np.ndarray, np.ndarray]:
        """(start times, bytes) of the bursts since ``since``, the open one included unless it is
        already a stream."""
        array = self._closed_rows()
        array = array[array[:, 0] >= since] if since != float("-inf") else array.copy()
        if self.open is not None and self.open[1] - self.open[0] <= self.max_burst_s and self.open[0] >= since:
            array = np.concatenate((array, np.array([self.open], dtype=float)))
        if not len(array):
            return np.zeros(0), np.zeros(0)
        return array[:, 0], array[:, 2]

    def _closed_rows(self) -> np.ndarray:
        """``closed`` as rows of floats (start, end, bytes): the rows made before, with the bursts
        closed since; the deque's bound applies to both."""
        new = self._closed_count - self._rows_count
        if new:
            tail = list(islice(self.closed, max(0, len(self.closed) - new), None))
            self._rows = np.concatenate((self._rows, np.array(tail, dtype=float).reshape(-1, 3)))[-MAX_BURSTS:]
            self._rows_count = self._closed_count
        return self._rows
