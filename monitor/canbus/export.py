"""Decoded frames as plain records, in time order, for people and files (the edge, not the hot path).

A record is ``{"timestamp", "channel", "arbitration_id", "is_extended", "message", "signals"}``
with signal values exactly as cantools' ``decode_message(decode_choices=False)`` returns them
(ints stay ints), or ``"error": reason`` instead of ``"signals"`` for a frame cantools refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .decode import DecodedBatch, MessageColumns


@dataclass(frozen=True)
class SignalFilter:
    """Signals to keep, by ``Signal`` or ``Message.Signal``; empty keeps everything."""

    names: frozenset[str] = frozenset()

    @staticmethod
    def parse(text: str | None) -> SignalFilter:
        return SignalFilter(frozenset(n.strip() for n in (text or "").split(",") if n.strip()))

    def selects(self, message: str, signal: str) -> bool:
        return not self.names or signal in self.names or f"{message}.{signal}" in self.names

    def wanted(self, columns: MessageColumns) -> list[str]:
        return [s for s in columns.message.signal_names if self.selects(columns.message.name, s)]


def iter_records(decoded: DecodedBatch, selection: SignalFilter = SignalFilter(),
                 choices: bool = False) -> Iterator[dict]:
    """One record per decoded frame (frames with no DBC entry are left out), in batch order."""
    batch = decoded.batch
    per_message = []
    for columns in decoded.messages:
        # A signal of a node cantools cannot unpack has no column: its rows carry the error.
        names = [n for n in selection.wanted(columns) if n in columns.values]
        if names or not selection.names:  # a message without signals still has its frames
            per_message.append((columns, names, _lists(columns, names, choices)))
    if not per_message:
        return
    rows = np.concatenate([c.rows for c, _, _ in per_message])
    owner = np.concatenate([np.full(len(c.rows), k) for k, (c, _, _) in enumerate(per_message)])
    position = np.concatenate([np.arange(len(c.rows)) for c, _, _ in per_message])
    order = np.argsort(rows, kind="stable")
    timestamps, channels = batch.timestamp.tolist(), batch.channel.tolist()
    ids, extended = batch.arbitration_id.tolist(), batch.is_extended.tolist()
    for row, k, i in zip(rows[order].tolist(), owner[order].tolist(), position[order].tolist()):
        columns, names, values = per_message[k]
        record = {
            "timestamp": timestamps[row],
            "channel": batch.channel_names[channels[row]],
            "arbitration_id": ids[row],
            "is_extended": extended[row],
            "message": columns.message.name,
        }
        reason = columns.reason(i)
        if reason is not None:
            record["error"] = reason
        else:
            record["signals"] = {n: values[n][0][i] for n in names if values[n][1] is None or values[n][1][i]}
        yield record


def _lists(columns: MessageColumns, names: list[str], choices: bool) -> dict:
    """Per signal: (values as Python objects, presence list or None)."""
    out = {}
    for name in names:
        values = columns.values[name].tolist()
        if choices and name in columns.raw:
            labels = columns.names(name).tolist()
            values = [label if label is not None else v for v, label in zip(values, labels)]
        present = columns.present[name]
        out[name] = (values, None if present is None else present.tolist())
    return out
