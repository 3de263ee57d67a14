"""The head of a TCP stream as the app-layer parsers read it.

Reassembly (net/reassembly.py) hands each segment's in-order bytes to the inspector; a Head
collects them for one flow direction up to a bound: parsers read protocol heads
(ClientHello, HTTP request heads, DNS over TCP messages), never whole transfers.
"""

from __future__ import annotations

MAX_HEAD = 65_536


class Head(bytearray):
    """In-order bytes of one direction, at most ``limit`` of them (later bytes are not read)."""

    def __init__(self, limit: int = MAX_HEAD) -> None:
        super().__init__()
        self.limit = limit

    def take(self, chunk: bytes) -> None:
        self += chunk[: max(self.limit - len(self), 0)]

    @property
    def full(self) -> bool:
        return len(self) >= self.limit
