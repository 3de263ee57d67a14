"""DoIP (ISO 13400-2) messages cut out of one sender's byte stream.

A DoIP message is an 8-byte header (protocol version, its inverse, payload type, payload
length) and its payload. Over TCP a message may be split across segments and a segment may
hold several messages, so the detector feeds the reassembled stream (``NetView.stream``) into
a ``DoipStream`` per connection; a UDP datagram (vehicle identification on 13400) is read on
its own. Only the head of each payload is kept (``HEAD_BYTES``: the addresses and the UDS
request's first bytes), the rest is skipped as it arrives, so a flash download's megabytes are
never held.

A header that cannot be one (wrong inverse, unknown version, absurd length) means the stream
was lost (a gap, or not DoIP at all): the reader looks for the next plausible header and counts
the bytes it passed over (``bytes_skipped``, ``resyncs``); nothing is dropped uncounted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

HEADER = 8
HEAD_BYTES = 64  # payload bytes kept per message
MAX_PAYLOAD = 1 << 24  # longer than any gateway accepts: a header this long is not one
VERSIONS = frozenset({0x01, 0x02, 0x03, 0xFF})  # 2010, 2012, 2019; 0xFF: default (identification)
VERSION_PAIR = re.compile(rb"\x01\xfe|\x02\xfd|\x03\xfc|\xff\x00")  # a version and its inverse

PAYLOAD_TYPES = {0x0000: "generic negative acknowledge", 0x0001: "vehicle identification request",
                 0x0002: "vehicle identification request with EID", 0x0003: "vehicle identification request with VIN",
                 0x0004: "vehicle announcement", 0x0005: "routing activation request",
                 0x0006: "routing activation response", 0x0007: "alive check request", 0x0008: "alive check response",
                 0x4001: "entity status request", 0x4002: "entity status response",
                 0x4003: "diagnostic power mode information request", 0x4004: "diagnostic power mode information response",
                 0x8001: "diagnostic message", 0x8002: "diagnostic message positive acknowledgement",
                 0x8003: "diagnostic message negative acknowledgement"}
#: what a tester sends to the vehicle to find it, reach an ECU or diagnose it
REQUESTS = frozenset({0x0001, 0x0002, 0x0003, 0x0005, 0x4001, 0x4003, 0x8001})


@dataclass(frozen=True)
class DoipMessage:
    payload_type: int
    length: int  # the payload length the header states
    head: bytes  # the payload's first HEAD_BYTES bytes (all of it when shorter)

    @property
    def name(self) -> str:
        return PAYLOAD_TYPES.get(self.payload_type, f"payload type 0x{self.payload_type:04x}")


def plausible(data: bytes | bytearray, at: int = 0) -> bool:
    """Could an 8-byte DoIP header start at ``at``?"""
    version = data[at]
    return (version in VERSIONS and data[at + 1] == version ^ 0xFF
            and int.from_bytes(data[at + 2:at + 4], "big") in PAYLOAD_TYPES
            and int.from_bytes(data[at + 4:at + 8], "big") <= MAX_PAYLOAD)


class DoipStream:
    """One sender's DoIP messages, from its bytes fed in order, split anywhere."""

    def __init__(self) -> None:
        self.pending = b""  # a header or head not yet complete (under HEADER + HEAD_BYTES bytes)
        self.skip = 0  # payload bytes still to pass over after the last message's head
        self.counts: Counter = Counter()

    def feed(self, data: bytes) -> list[DoipMessage]:
        if self.skip:
            passed = min(self.skip, len(data))
            self.skip -= passed
            data = data[passed:]
        buffer, at, out = self.pending + data, 0, []
        while len(buffer) - at >= HEADER:
            if not plausible(buffer, at):
                at = self._resync(buffer, at)
                continue
            length = int.from_bytes(buffer[at + 4:at + 8], "big")
            keep = min(length, HEAD_BYTES)
            if len(buffer) - at < HEADER + keep:
                break
            out.append(DoipMessage(int.from_bytes(buffer[at + 2:at + 4], "big"), length,
                                   bytes(buffer[at + HEADER:at + HEADER + keep])))
            self.counts["messages"] += 1
            at += HEADER + keep
            passed = min(length - keep, len(buffer) - at)
            at += passed
            self.skip = length - keep - passed
        self.pending = buffer[at:]
        return out

    def _resync(self, buffer: bytes, at: int) -> int:
        """The next offset where a header could start (bytes passed over are counted)."""
        self.counts["resyncs"] += 1
        last = len(buffer) - HEADER
        start = next((m.start() for m in VERSION_PAIR.finditer(buffer, at + 1, last + 2)
                      if m.start() <= last and plausible(buffer, m.start())), last + 1)
        self.counts["bytes_skipped"] += start - at
        return start


def datagram(data: bytes, counts: Counter) -> list[DoipMessage]:
    """The DoIP messages of one UDP datagram; a cut last message is counted, not read."""
    stream = DoipStream()
    found = stream.feed(data)
    counts.update(stream.counts)
    if stream.pending or stream.skip:
        counts["datagram_cut"] += 1
    return found
