"""CAN-side detectors: unknown arbitration ids, DBC range violations, timing anomalies.

Timing is judged per window (``window_s``), not per frame: bus jitter makes single
inter-arrival checks noisy. The expected count per id and window comes from the DBC cycle
time, or is learned during the first ``learn_s`` seconds of each bus (the largest count seen
in a window, plus ``learned_rate_tolerance`` of it). Ids seen while learning also become known to
the unknown-id check; an id it missed is flagged only when corroborated (``unknown_min_frames``).

Masquerade (the attacker replaces a sender's frames at the same rate) is invisible to both:
the ids are known and the rate unchanged. Range checks against the DBC catch it only when the
forged values leave the DBC's stated ranges.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .base import Detector
from .canview import CanView, can_ref, per_bus
from .finding import Finding
from .memory import Repeats

ID_BITS = 30  # room for 29-bit ids and the extended flag in one int64 key
MAX_TRACKED_UNKNOWN = 65_536  # unknown ids counted per bus (a fuzzer's random 29-bit ids are endless)


@dataclass
class BusState:
    t0: float
    learned_max: Counter = field(default_factory=Counter)  # key -> largest count per window while learning
    learned_frames: Counter = field(default_factory=Counter)  # key -> frames while learning
    learned_ids: set = field(default_factory=set)
    pending_window: int = -1
    pending: Counter = field(default_factory=Counter)  # key -> count in the open window
    pending_first: dict = field(default_factory=dict)
    unknown_counts: Counter = field(default_factory=Counter)  # key -> unknown frames so far (bounded)
    unknown_window: int = -1  # the last window with unknown frames, and how many it had
    unknown_in_window: int = 0


def frame_keys(batch, rows: np.ndarray) -> np.ndarray:
    return batch.arbitration_id[rows].astype(np.int64) | (batch.is_extended[rows].astype(np.int64) << (ID_BITS - 1))


def key_id(key):
    """The arbitration id of a key (an int or an int64 array)."""
    return key & ((1 << (ID_BITS - 1)) - 1)


@dataclass(frozen=True)
class Ranged:
    """Signals of a message with a DBC range, as the range check reads them: their minima and
    maxima as column vectors (a row per signal), their names, and the rows of each name."""

    message: object
    signals: list
    low: np.ndarray
    high: np.ndarray
    names: frozenset
    columns: dict  # signal name -> its rows (a name in two multiplexed branches has two)

    @classmethod
    def of(cls, message, signals: list) -> Ranged:
        columns: dict = {}
        for k, sig in enumerate(signals):
            columns.setdefault(sig.name, []).append(k)
        low, high = (np.array([getattr(s, end) for s in signals]).reshape(-1, 1) for end in ("minimum", "maximum"))
        return cls(message, signals, low, high, frozenset(columns), columns)


@dataclass(frozen=True)
class CanThresholds:
    known_ids: dict = field(default_factory=dict)  # bus -> ids allowed beyond the DBCs
    learn_s: float = 0.0  # seconds at the start of each bus to learn ids and rates from (0: DBC only)
    window_s: float = 0.5  # timing is judged per window, not per frame (bus jitter)
    rate_margin: int = 1  # frames a window may exceed the expected count by
    learned_rate_tolerance: float = 0.1  # a learned count may be exceeded by this share too (fast ids jitter more)
    min_learning_frames: int = 10  # fewer frames of an id while learning tell no rate (an event-driven id)
    unknown_min_frames: int = 3  # with learn_s: an unknown id is flagged from this many frames of it, or of
    # all unknown ids in one window (a rare id the learning period missed is not an attack; fuzzing floods)
    cycle_tolerance: float = 0.5  # DBC cycle time: flag windows with more than (1+this) x expected
    uds_ids: tuple = ()  # extra diagnostic ids (beyond 0x7DF, 0x7E0-0x7EF, 29-bit 0x18DA/0x18DB)
    uds_invalid_keys: int = 3  # refused SecurityAccess keys within repeat_s that make a brute force
    remote_join_s: float = 30.0  # a UDS finding this soon after control from outside names that command


class CanRules(Detector):
    name = "can"
    sections: ClassVar[dict[str, type]] = {"can": CanThresholds}

    def configure(self, thresholds) -> None:
        self.t = thresholds.can
        self.buses: dict[str, BusState] = {}
        self.seen_unknown: set = set()
        self.range_seen: Counter = Counter()
        self._ranged_signals: dict[int, Ranged] = {}  # id(message plan) -> its signals with a range
        self._dbc_limits: dict[int, tuple] = {}  # id(decode plan) -> (plan, {key: DBC window limit or None})
        self.counts: Counter = Counter()
        self.timing_repeats = Repeats(thresholds.wire.repeat_s)  # per (bus, key)
        self._known_extra = {bus: {int(i) for i in ids} for bus, ids in self.t.known_ids.items()}

    def flagged(self, rule: str, bus: str, windows: np.ndarray, keys: np.ndarray) -> None:
        """Each (window, id) cell a rule flags; a hook for evaluations (lab/road.py), no-op here."""

    def on_can(self, view: CanView, state) -> list[Finding]:
        found: list[Finding] = []
        batch = view.batch
        for bus, rows, bs in per_bus(view, self.buses, BusState):
            keys = frame_keys(batch, rows)
            ts = batch.timestamp[rows]
            found += self._unknown(view, bus, bs, rows, keys, ts)
            found += self._timing(view, bus, bs, keys, ts)
        found += self._ranges(view)
        return found

    def finish(self, state) -> list[Finding]:
        found: list[Finding] = []
        for bus, bs in self.buses.items():
            if bs.pending:
                found += self._judge(bus, bs, bs.pending_window, bs.pending, bs.pending_first, None)
        return found

    # ------------------------------------------------------------------ unknown ids

    def _unknown(self, view, bus, bs: BusState, rows, keys, ts) -> list[Finding]:
        learning = ts < bs.t0 + self.t.learn_s
        if learning.any():
            bs.learned_ids.update(np.unique(keys[learning]).tolist())
        batch = view.batch  # a J1939 group from another source address is in the DBC too (by PGN)
        in_dbc = view.plan.index_of(batch.arbitration_id[rows], batch.is_extended[rows]) < len(view.plan.messages)
        known = in_dbc | learning
        if bs.learned_ids:
            known |= np.isin(keys, np.fromiter(bs.learned_ids, np.int64))
        if bus in self._known_extra:
            known |= np.isin(key_id(keys), np.fromiter(self._known_extra[bus], np.int64))
        checked = self.t.learn_s > 0 or bus in self._known_extra or in_dbc.any()
        if not checked:
            return []
        unknown = np.flatnonzero(~known)
        self.counts["unknown_id_frames"] += len(unknown)
        if len(unknown) and self.t.learn_s > 0:
            unknown = self._corroborated(bs, unknown, keys, ts)
        if len(unknown):
            self.flagged("unknown_id", bus, ((ts[unknown] - bs.t0) // self.t.window_s).astype(np.int64), keys[unknown])
        found = []
        for key in np.unique(keys[unknown]).tolist():
            if (bus, key) in self.seen_unknown:
                continue
            self.seen_unknown.add((bus, key))
            mine = unknown[keys[unknown] == key]
            found.append(Finding(float(ts[mine[0]]), "can.unknown_id", "can", "arbitration id in no DBC or policy",
                                 0.7, can=can_ref(bus, [key_id(key)], len(mine), ts[mine[0]], ts[mine[-1]]),
                                 evidence={"payload_hex": view.batch.payload(int(rows[mine[0]])).hex()}))
        return found

    def _corroborated(self, bs: BusState, unknown: np.ndarray, keys, ts) -> np.ndarray:
        """The unknown frames of ids seen ``unknown_min_frames`` times, or in a window holding that
        many unknown frames of any ids (the count of a window open in the last batch carries over)."""
        windows = ((ts[unknown] - bs.t0) // self.t.window_s).astype(np.int64)
        uniq, inverse, per_window = np.unique(windows, return_inverse=True, return_counts=True)
        per_window[uniq == bs.unknown_window] += bs.unknown_in_window
        bs.unknown_window, bs.unknown_in_window = int(uniq[-1]), int(per_window[-1])
        ids, first, per_id = np.unique(keys[unknown], return_inverse=True, return_counts=True)
        so_far = np.array([bs.unknown_counts[k] for k in ids.tolist()]) + per_id
        if len(bs.unknown_counts) < MAX_TRACKED_UNKNOWN:
            bs.unknown_counts.update(dict(zip(ids.tolist(), per_id.tolist())))
        else:
            self.counts["unknown_ids_not_tracked"] += 1
        keep = (per_window[inverse] >= self.t.unknown_min_frames) | (so_far[first] >= self.t.unknown_min_frames)
        self.counts["unknown_id_frames_uncorroborated"] += int((~keep).sum())
        return unknown[keep]

    # ------------------------------------------------------------------ timing

    def _timing(self, view, bus, bs: BusState, keys, ts) -> list[Finding]:
        windows = ((ts - bs.t0) // self.t.window_s).astype(np.int64)
        found: list[Finding] = []
        combined = (windows << ID_BITS) | keys
        uniq, first, counts = np.unique(combined, return_index=True, return_counts=True)
        for cell, start, n in zip(uniq.tolist(), first.tolist(), counts.tolist()):
            window, key = cell >> ID_BITS, cell & ((1 << ID_BITS) - 1)
            if window != bs.pending_window:
                if bs.pending:
                    found += self._judge(bus, bs, bs.pending_window, bs.pending, bs.pending_first, view)
                bs.pending_window, bs.pending, bs.pending_first = window, Counter(), {}
            bs.pending[key] += n
            bs.pending_first.setdefault(key, float(ts[start]))
        return found

    def _judge(self, bus, bs: BusState, window: int, counts: Counter, firsts: dict, view) -> list[Finding]:
        learning = bs.t0 + (window + 1) * self.t.window_s <= bs.t0 + self.t.learn_s
        if learning:
            for key, n in counts.items():
                bs.learned_max[key] = max(bs.learned_max[key], n)
                bs.learned_frames[key] += n
            return []
        found = []
        for key, n in counts.items():
            limit = self._limit(bus, bs, key, view)
            if limit is None or n <= limit:
                continue
            self.counts["timing_windows_flagged"] += 1
            self.flagged("timing", bus, np.array([window]), np.array([key]))
            start = bs.t0 + window * self.t.window_s
            if self.timing_repeats.due((bus, key), start, "timing_suppressed_repeats") is not None:
                found.append(Finding(firsts[key], "can.timing", "can", "more frames than the id's rate allows",
                                     0.6, can=can_ref(bus, [key_id(key)], n, start, start + self.t.window_s),
                                     evidence={"frames_in_window": n, "expected_at_most": limit,
                                               "window_s": self.t.window_s}))
        return found

    def learned_limit(self, bs: BusState, key: int) -> float:
        return bs.learned_max[key] * (1 + self.t.learned_rate_tolerance) + self.t.rate_margin

    def _limit(self, bus, bs: BusState, key: int, view) -> float | None:
        if key in bs.learned_max:
            return self.learned_limit(bs, key) if bs.learned_frames[key] >= self.t.min_learning_frames else None
        return self._dbc_limit(view.plan, key) if view is not None else None

    def _dbc_limit(self, plan, key: int) -> float | None:
        """The window limit the DBC's cycle time gives an id, cached per plan: a plan lookup is a
        few numpy calls, and every id is judged in every window. The cache holds the plan itself,
        so an id() reused by a later plan is never mistaken for it."""
        entry = self._dbc_limits.get(id(plan))
        if entry is None or entry[0] is not plan:
            entry = self._dbc_limits[id(plan)] = (plan, {})
        limits = entry[1]
        if key in limits:
            return limits[key]
        limit = self._cycle_limit(plan.lookup(key_id(key), bool(key >> (ID_BITS - 1))))
        if len(limits) < MAX_TRACKED_UNKNOWN:  # a fuzzer's random ids would grow it without end
            limits[key] = limit
        return limit

    def _cycle_limit(self, message) -> float | None:
        if message is not None and message.cycle_time_ms:
            expected = self.t.window_s / (message.cycle_time_ms / 1000) * message.frames_per_cycle
            return expected * (1 + self.t.cycle_tolerance) + self.t.rate_margin
        return None

    # ------------------------------------------------------------------ ranges

    def _ranges(self, view: CanView) -> list[Finding]:
        """All ranged signals of a message are tested in one matrix comparison (a few numpy calls
        per message, not four per signal); only signals with a violation are looked at one by one.
        The matrix has a row per signal (np.array of the columns: one call, where column_stack
        made each column 2-D first)."""
        found = []
        with np.errstate(invalid="ignore"):
            for cols in view.decoded.messages:
                if len(cols.rows):
                    found += self._message_ranges(view, cols)
        return found

    def _message_ranges(self, view: CanView, cols) -> list[Finding]:
        ranged = self._ranged_present(cols)
        if not ranged.signals:
            return []
        values = np.array([cols.values[sig.name] for sig in ranged.signals])
        bad = (values < ranged.low) | (values > ranged.high)
        for name, present in cols.present.items():  # None: the signal is in every row
            if present is not None:
                for k in ranged.columns.get(name, ()):
                    bad[k] &= present
        found = []
        for k in np.flatnonzero(bad.any(1)).tolist():
            sig = ranged.signals[k]
            found += self._range_finding(view, cols, sig, cols.values[sig.name], bad[k])
        return found

    def _range_finding(self, view: CanView, cols, sig, values, bad: np.ndarray) -> list[Finding]:
        batch = view.batch
        n = int(np.count_nonzero(bad))
        self.counts["range_violations"] += n
        key = (cols.message.name, sig.name)
        self.range_seen[key] += n
        if self.range_seen[key] != n:  # only the first violations of a signal make a finding
            return []
        at = cols.rows[np.flatnonzero(bad)]
        return [Finding(float(batch.timestamp[at[0]]), "can.range", "can",
                        f"{cols.message.name}.{sig.name} outside its DBC range", 0.6,
                        can=can_ref(batch.channel_of(int(at[0])), [cols.message.frame_id], n,
                                    batch.timestamp[at[0]], batch.timestamp[at[-1]]),
                        evidence={"value": _plain(values[np.flatnonzero(bad)[0]]), "range": [sig.minimum, sig.maximum]})]

    def _ranged_present(self, cols) -> Ranged:
        """The ranged signals decoded in this batch. A message decodes the same signals batch
        after batch (a multiplexed one may not), so the arrays made once for all of its ranged
        signals serve whenever all of them are present."""
        ranged = self._ranged(cols.message)
        if cols.values.keys() >= ranged.names:
            return ranged
        return Ranged.of(cols.message, [sig for sig in ranged.signals if sig.name in cols.values])

    def _ranged(self, message) -> Ranged:
        """The message's signals that have a DBC range, found once per message plan (the entry
        holds the message, so that a reused id() is never taken for it)."""
        found = self._ranged_signals.get(id(message))
        if found is None or found.message is not message:
            found = Ranged.of(message, [s for node in message.root.walk() for s in node.signals if s.minimum is not None])
            self._ranged_signals[id(message)] = found
        return found

    def stats(self) -> dict:
        return dict(self.counts + self.timing_repeats.suppressed)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
