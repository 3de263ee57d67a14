"""CanView: what CAN detectors see of one batch: the frames, their decode, the DBC plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..canbus.decode import DecodedBatch
from ..canbus.frames import FrameBatch
from ..canbus.plan import DecodePlan


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


def can_ref(bus: str, ids, frames: int, first_ts: float, last_ts: float) -> dict:
    return {"bus": bus, "ids": [f"0x{int(i):X}" for i in ids], "frames": int(frames),
            "first_ts": round(float(first_ts), 6), "last_ts": round(float(last_ts), 6)}
