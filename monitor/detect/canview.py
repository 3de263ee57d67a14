"""CanView: what CAN detectors see of one batch: the frames, their decode, the DBC plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..canbus.decode import DecodedBatch
from ..canbus.frames import FrameBatch
from ..canbus.plan import DecodePlan
from .finding import CanEvidence


@dataclass(eq=False)
class CanView:
    batch: FrameBatch
    decoded: DecodedBatch
    plan: DecodePlan

    def bus_rows(self) -> list[tuple[str, np.ndarray]]:
        """Data frames per bus, in time order."""
        data = np.flatnonzero(self.batch.is_data)
        channel = self.batch.channel[data]
        return [(self.batch.channel_names[c], data[channel == c]) for c in np.unique(channel).tolist()]


def per_bus(view: CanView, states: dict, new: Callable[[float], Any]) -> Iterator[tuple[str, np.ndarray, Any]]:
    """Each bus's data rows in this batch with the detector's state for the bus, made by
    ``new(time of the bus's first frame)`` when the bus first appears (learning starts there)."""
    for bus, rows in view.bus_rows():
        if len(rows):
            state = states.get(bus) or states.setdefault(bus, new(float(view.batch.timestamp[rows[0]])))
            yield bus, rows, state


def can_ref(bus: str, ids, frames: int, first_ts: float, last_ts: float) -> CanEvidence:
    return {"bus": bus, "ids": [f"0x{int(i):X}" for i in ids], "frames": int(frames),
            "first_ts": round(float(first_ts), 6), "last_ts": round(float(last_ts), 6)}
