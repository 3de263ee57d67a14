"""RuleMemo: the per-position values of taint's plan (taintscan.rule_values), kept across batches.

A plan is made for every batch from the vehicle's recent track, up to MAX_POSITIONS points; one
batch later the track is the same but for a position or two. Each position's tolerances and
match probability depend on that position alone (and the plan's CAN quantum), so they are
computed once and looked up after: the plan a memo helps make is identical, value for value, to
one made without it (tests/detect/test_taintmemo.py). Bounded: full, or at a new quantum, it
starts again.
"""

from __future__ import annotations

import numpy as np

from .taintrate import SPECS
from .taintscan import RuleValues, Segments, rule_values

KEY_FIELDS = 5  # lat, lon, dlat, dlon, margin: what a position's values depend on
VALUES = 7  # per encoding: lat, lon, dlat, dlon, r_lat, r_lon, p


class RuleMemo:
    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.quantum: float | None = None
        self.index: dict[bytes, int] = {}
        self.table = np.zeros((len(SPECS), VALUES, limit))
        self.computed = 0  # positions whose values were computed (the rest were looked up)

    def values(self, seg: Segments) -> list[RuleValues]:
        """Per encoding of SPECS, the values of every position of ``seg``, in its order."""
        if len(seg) > self.limit:  # more than the memo holds: computed, as without it
            return [rule_values(spec, seg) for spec in SPECS]
        if seg.quantum != self.quantum or len(self.index) + len(seg) > self.limit:
            self._clear(seg.quantum)
        rows, missing = self._rows(seg)
        if missing:
            fresh = seg.take(np.array(missing))
            at = rows[missing]
            by_numbers: dict[tuple, np.ndarray] = {}  # the byte order changes no value: one computation per pair of specs
            for k, spec in enumerate(SPECS):
                numbers = (spec.kind, spec.width, spec.scale)
                if numbers not in by_numbers:
                    by_numbers[numbers] = np.stack(rule_values(spec, fresh))
                self.table[k][:, at] = by_numbers[numbers]
            self.computed += len(missing)
        picked = self.table[:, :, rows]
        return [tuple(picked[k]) for k in range(len(SPECS))]  # type: ignore[misc]

    def _rows(self, seg: Segments) -> tuple[np.ndarray, list[int]]:
        """Each position's row in the table; the rows of positions not seen before are new."""
        size = KEY_FIELDS * 8
        keys = np.ascontiguousarray(np.stack([seg.lat, seg.lon, seg.dlat, seg.dlon, seg.margin], 1), np.float64).tobytes()
        rows = np.empty(len(seg), np.int64)
        missing: list[int] = []
        index = self.index
        for i in range(len(seg)):
            key = keys[i * size : (i + 1) * size]
            row = index.get(key)
            if row is None:
                row = index[key] = len(index)
                missing.append(i)
            rows[i] = row
        return rows, missing

    def _clear(self, quantum: float) -> None:
        self.quantum = quantum
        self.index.clear()
