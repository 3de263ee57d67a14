"""Per-flow detector state with a bound: flow ids only grow, so the oldest are the smallest."""

from __future__ import annotations

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
