"""The sequence numbers a collector has seen from one vehicle, as sorted closed ranges, so the
numbers that never came are the holes between them whatever the numbers are (a record with
sequence 10^10 costs one range, not a list of 10^10 numbers).

The ranges are bounded: past ``cap`` of them a new number joins the range nearest to it, and
the numbers that join spans is counted in ``forgotten`` (they are then no longer reported as
missing; the count says how many may be).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass
class SeqRanges:
    cap: int = 10_000
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # inclusive
    forgotten: int = 0  # numbers folded into a range without having come (beyond the cap)

    def add(self, seq: int) -> None:
        i = bisect_right(self.starts, seq)  # ranges [0, i) start at or below seq
        if i and self.ends[i - 1] >= seq:
            return
        joins_left = i > 0 and self.ends[i - 1] == seq - 1
        joins_right = i < len(self.starts) and self.starts[i] == seq + 1
        if joins_left and joins_right:
            self.ends[i - 1] = self.ends.pop(i)
            del self.starts[i]
        elif joins_left:
            self.ends[i - 1] = seq
        elif joins_right:
            self.starts[i] = seq
        elif len(self.starts) < self.cap:
            self.starts.insert(i, seq)
            self.ends.insert(i, seq)
        else:
            self._fold(i, seq)

    def _fold(self, i: int, seq: int) -> None:
        """At the cap: stretch the nearer neighbour to reach ``seq``."""
        left = seq - self.ends[i - 1] if i > 0 else None
        right = self.starts[i] - seq if i < len(self.starts) else None
        if right is None or (left is not None and left <= right):
            self.forgotten += left - 1
            self.ends[i - 1] = seq
        else:
            self.forgotten += right - 1
            self.starts[i] = seq

    def missing(self) -> tuple[int, list[tuple[int, int]]]:
        """How many numbers between the first and the last never came, and those holes as
        (first, last) ranges."""
        holes = [(end + 1, start - 1) for end, start in zip(self.ends, self.starts[1:])]
        return sum(last - first + 1 for first, last in holes), holes
