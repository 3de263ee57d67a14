"""Per-flow detector state with a bound: flow ids only grow, so the oldest are the smallest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class FlowMemory(dict, Generic[V]):  # keys: flow ids, or tuples that start with one
    def __init__(self, limit: int = 65_536) -> None:
        super().__init__()
        self.limit = limit
        self.forgotten = 0

    def remember(self, flow_id: Hashable, value: V) -> V:
        self[flow_id] = value
        if len(self) > self.limit:
            for old in sorted(self)[: self.limit // 2]:
                del self[old]
                self.forgotten += 1
        return value


def forgotten(**memories: FlowMemory) -> dict[str, int]:
    """Flows each memory had to forget to stay bounded, for a detector's stats (zeros left out)."""
    return {f"{name}_flows_forgotten": m.forgotten for name, m in memories.items() if m.forgotten}


class Repeats:
    """At most one finding per key (flow and signature, bus and id, ...) per ``window_s`` of
    data time; the repeats in between are counted under a label, and told to the next finding."""

    def __init__(self, window_s: float, limit: int = 200_000) -> None:
        self.window_s = window_s
        self.limit = limit
        self.last: dict[Hashable, list] = {}  # key -> [time of the last finding, repeats since]
        self.suppressed: Counter = Counter()  # label -> repeats not reported

    def due(self, key: Hashable, ts: float, label: str = "suppressed_repeats") -> int | None:
        """None while ``key`` is within the window of its last finding; else the number of
        repeats suppressed since that finding (0 for a first one)."""
        entry = self.last.get(key)
        if entry is not None and ts - entry[0] < self.window_s:
            entry[1] += 1
            self.suppressed[label] += 1
            return None
        self.last.pop(key, None)
        self.last[key] = [ts, 0]  # re-inserted: insertion order is age order
        if len(self.last) > self.limit:  # bounded: the oldest keys may report once more, never lost silently
            for old in list(self.last)[: self.limit // 2]:
                del self.last[old]
        return entry[1] if entry else 0
