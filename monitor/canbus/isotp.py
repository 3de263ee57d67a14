"""ISO-TP (ISO 15765-2) reassembly of diagnostic messages from CAN frames.

Per (bus, arbitration id): a single frame is a whole message; a first frame opens one of up
to 4095 bytes (or 2^32 with the escape), consecutive frames fill it in sequence. Flow-control
frames carry no data. A consecutive frame out of sequence drops the partial message (counted).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: A message may declare up to 4 GiB (the escape); diagnostic transfers are far smaller. Larger
#: declarations are refused at the first frame (counted), so no partial grows past this.
MAX_MESSAGE = 1 << 20
#: Partial messages open at once (one per bus and id); the oldest is dropped past this (counted).
MAX_OPEN = 4096


@dataclass
class Message:
    bus: str
    arbitration_id: int
    first_ts: float
    last_ts: float
    data: bytes
    frames: int


@dataclass
class Partial:
    size: int
    data: bytearray
    next_index: int
    first_ts: float
    frames: int = 1


@dataclass
class Reassembler:
    open: dict = field(default_factory=dict)  # (bus, id) -> Partial
    counts: Counter = field(default_factory=Counter)

    def add(self, bus: str, arbitration_id: int, ts: float, payload: bytes) -> Message | None:
        if not payload:
            return None
        kind, key = payload[0] >> 4, (bus, arbitration_id)
        if kind == 0:
            size, at = (payload[0] & 0xF, 1) if payload[0] & 0xF else (payload[1] if len(payload) > 1 else 0, 2)
            if size == 0 or at + size > len(payload):
                self.counts["bad_single_frames"] += 1
                return None
            return Message(bus, arbitration_id, ts, ts, bytes(payload[at : at + size]), 1)
        if kind == 1:
            self._first_frame(key, ts, payload)
            return None
        if kind == 2:
            partial = self.open.get(key)
            if partial is None:
                return None
            if payload[0] & 0xF != partial.next_index & 0xF:
                self.counts["out_of_sequence"] += 1
                del self.open[key]
                return None
            partial.data += payload[1:]
            partial.next_index += 1
            partial.frames += 1
            if len(partial.data) >= partial.size:
                del self.open[key]
                return Message(bus, arbitration_id, partial.first_ts, ts, bytes(partial.data[: partial.size]),
                               partial.frames)
        return None

    def _first_frame(self, key: tuple, ts: float, payload: bytes) -> None:
        """Open a message; a first frame too short for its length field, or declaring nothing or
        more than MAX_MESSAGE, is counted and opens nothing."""
        if len(payload) < 2:
            self.counts["bad_first_frames"] += 1
            return
        size, at = ((payload[0] & 0xF) << 8) | payload[1], 2
        if size == 0:
            size, at = (int.from_bytes(payload[2:6], "big"), 6) if len(payload) >= 6 else (0, 2)
        if not 0 < size <= MAX_MESSAGE:
            self.counts["bad_first_frames"] += 1
            self.open.pop(key, None)
            return
        if self.open.pop(key, None) is not None:
            self.counts["interrupted_messages"] += 1
        elif len(self.open) >= MAX_OPEN:
            del self.open[next(iter(self.open))]
            self.counts["partials_dropped_for_room"] += 1
        self.open[key] = Partial(size, bytearray(payload[at:]), 1, ts)
