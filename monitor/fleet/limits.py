"""The collector's bounds on what one PUBLISH and one vehicle may cost it, each with a counter
when it bites (collector.py). A broker can refuse big packets itself (Mosquitto's
``max_packet_size``); these hold whatever the broker lets through."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    message_bytes: int = 1 << 20  # a larger PUBLISH is quarantined whole, unread
    message_lines: int = 10_000  # so is one with more lines
    record_bytes: int = 256 << 10  # a longer line is no record (real ones are a few KiB)
    vehicle_rate: float = 1000.0  # lines per second per topic vehicle, sustained (the uplink sends 200)
    vehicle_burst: float = 20_000.0  # lines at once after a quiet spell
    vehicles: int = 100_000  # topic vehicles tracked; records naming more are quarantined
    gap_ranges: int = 10_000  # ranges of sequence numbers kept per vehicle (ranges.py)
    quarantine_bytes: int = 64 << 20  # per day; beyond, quarantined lines are only counted


@dataclass
class Bucket:
    """A token bucket: ``take`` is True while the vehicle is within its rate."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens, self.at = self.burst, self.clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
