"""What a decode gives: MessageColumns per message of a batch, DecodedBatch for the batch, and
the error codes; made by the numpy decode (decode.py) and the native one (decode_native.py) alike."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .frames import FrameBatch
from .plan import MessagePlan

E_OK, E_SIZE, E_UNPACK, E_MUX = 0, 1, 2, 3


@dataclass
class MessageColumns:
    """Decoded signals of every frame of one message in a batch.

    ``rows`` index the batch. ``values[name]`` has one entry per row; ``present[name]`` is
    None when every row has the signal, else a mask (multiplexed signals, frames in error).
    A row with ``error != 0`` has no signals; ``reason(i)`` gives cantools' message for it.
    """

    message: MessagePlan
    rows: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    present: dict[str, np.ndarray | None] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)  # signals with choices only
    error: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    error_arg: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    error_keys: dict[int, tuple[int, ...]] = field(default_factory=dict)  # row -> mux ids

    def reason(self, i: int) -> str | None:
        code = int(self.error[i])
        if code == E_OK:
            return None
        if code == E_SIZE:
            return f"Wrong data size: {int(self.error_arg[i])} instead of {self.message.length} bytes"
        if code == E_UNPACK:
            return "unpacking failed"
        keys = [str(k) for k in self.error_keys.get(i, ())]
        ids = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " or " + keys[-1]
        return f"expected multiplexer id {ids}, but got {int(self.error_arg[i])}"

    def names(self, signal: str) -> np.ndarray:
        """Choice names of a signal (None where the raw value has none), like decode_choices."""
        choices = self.message.signal(signal).choices or {}
        raw = self.raw.get(signal)
        out = np.full(len(self.rows), None, object)
        if raw is not None:
            for value, name in choices.items():
                out[raw == value] = name
        return out


@dataclass
class DecodedBatch:
    batch: FrameBatch
    messages: list[MessageColumns]
    unknown: np.ndarray  # indices of data frames with no DBC entry

    @property
    def errors(self) -> int:
        return sum(int(np.count_nonzero(m.error)) for m in self.messages)
