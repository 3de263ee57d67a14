"""Just enough TCP reassembly for reading the first messages of a connection.

A Stream collects one direction's bytes in sequence order from the first segment it is
given: retransmitted bytes are dropped, a segment that arrives early waits (a few of them, a
few kilobytes) for the gap to fill. It is for protocol heads (ClientHello, HTTP request
heads, DNS over TCP), never for whole transfers, so it is bounded in size.
"""

from __future__ import annotations

MOD = 1 << 32
MAX_WAITING = 16


class Stream:
    __slots__ = ("data", "limit", "next_seq", "waiting")

    def __init__(self, limit: int = 65_536) -> None:
        self.next_seq = -1  # unknown until the first segment (or the SYN) says
        self.data = bytearray()
        self.waiting: dict[int, bytes] = {}
        self.limit = limit

    def add(self, seq: int, payload: bytes) -> bool:
        """Add a segment; True when it brought new in-order bytes."""
        if self.next_seq < 0:
            self.next_seq = seq
        grew = self._place(seq, payload)
        while grew and self.waiting:
            ready = [s for s in self.waiting if (self.next_seq - s) % MOD < MOD // 2]
            if not ready:
                break
            for s in ready:
                self._place(s, self.waiting.pop(s))
        return grew

    def _place(self, seq: int, payload: bytes) -> bool:
        ahead = (seq - self.next_seq) % MOD
        if ahead and ahead < MOD // 2:  # a gap before this segment: keep it for later
            if len(self.waiting) < MAX_WAITING:
                self.waiting[seq] = payload
            return False
        overlap = (self.next_seq - seq) % MOD
        fresh = payload[overlap:] if overlap < len(payload) else b""
        room = self.limit - len(self.data)
        fresh = fresh[: max(room, 0)]
        if not fresh:
            return False
        self.data += fresh
        self.next_seq = (self.next_seq + len(fresh)) % MOD
        return True

    def consume(self, count: int) -> None:
        del self.data[:count]

    @property
    def full(self) -> bool:
        return len(self.data) >= self.limit
