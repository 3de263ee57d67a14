"""Payload model per CAN id, for masquerade and fabrication on known ids (``can.payload``).

The timing and unknown-id rules cannot see a masquerade: the attacker replaces a sender's
frames at the sender's own rate. What changes is what the frames say. While a bus learns (the
first ``can.learn_s`` seconds, as the timing rule), every id's frames are kept (at most
``max_learning_frames`` each); when learning ends each id gets a model:

- per byte, the values it took and whether it was *stable* (no new value in the second half
  of learning: a constant, a flag, a slow state), and the lengths it was sent with;
- per byte that was not stable, the range of its values (a value beyond it by more than its
  own span is out of bounds; half weight, as slow signals drift);
- per byte that varies in at most ``delta_max_values`` regular steps (a rolling counter), the
  steps from one frame to the next;
- per pair of low-cardinality bytes (at most ``pair_max_values`` values each, such as a gear
  and a lamp), the combinations seen together.

A frame scores the surprise of what it breaks, summed: a value a stable byte never took, a
length never used, a combination of two known values never seen together (half weight when
that pair still changed late in learning; the largest such, once), a step a counter never took. The surprise of one break is log((n + 2) / (k + 1))
for n learning frames and k values (or combinations) seen: a byte constant over a thousand
frames that changes is far more surprising than a byte that took 200 values. A frame scoring
``min_score`` or more is a finding. So is a frame that scores at least ``confirm_score`` (one
stable byte broken) in a window where its id sends more frames than it ever did in a window
while learning, next to frames that fit the model: an injected frame (fabrication) among the
genuine sender's, whose extra frame alone is within the timing rule's margin, confirmed by what
it says. (An ECU that sends an extra frame on a change of state keeps the new state after it.)

A masquerade (the genuine sender silenced, another node sending the id at its rate) need not
break a stable byte hard enough for ``min_score``; three more rules corroborate what the model
sees, each learned in the same period from the same kept frames:

- the sending clock (``canclock.py``): a frame of an id whose sender's timer changed (intervals
  and phase both off the learned clock) that also scores ``confirm_score`` is flagged;
- state bytes (``canstates.py``): a byte that contradicts the same state carried by three other
  ids or more (a reverse lamp off while the gear says reverse) is flagged;
- numeric fields where no DBC decodes the id (``canfields.py``): readings that moved together
  while learning (four wheel speeds), flagged where most of an id's pairs break.

The last two judge ids against each other, so an id the first rules flagged in the same batch
is no witness against another. A finding says which rules flagged its frames
(``frames_per_rule``).

Where a DBC decodes the id, the bytes of its measurements (numeric signals: a speed, a
temperature) are left to the step model and to the signal pairs (``cansignals.py``): a value never
seen while learning is normal for them. Only the first eight bytes are modelled (classic CAN; FD payloads beyond that are not). With
``learn_s: 0`` (the default) the detector is idle. A short learning period misses slow states
(a gear engaged for the first time later on): measured on ROAD by ``make score``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import canfields, canstates
from .base import Detector
from .canclock import ClockThresholds, fit_grid, sender_changed
from .canfields import FieldThresholds
from .canside import ID_BITS, frame_keys, key_id
from .canstates import StateThresholds
from .canview import CanView, can_ref, per_bus
from .finding import Finding
from .memory import Repeats

BYTES = 8


@dataclass(frozen=True)
class PayloadThresholds:
    min_score: float = 32.0  # summed surprise of a frame that is a finding on its own (several stable bytes broken)
    max_learning_frames: int = 8192  # per id; later learning frames are counted, not kept
    max_ids: int = 2048  # ids modelled per bus (a fuzzer's random 29-bit ids while learning are not)
    pair_max_values: int = 16  # bytes with at most this many values are paired
    delta_max_values: int = 4  # bytes stepping by at most this many distinct amounts get a step model (counters)
    confirm_score: float = 3.0  # enough in a window with more frames than the id ever sent in one


@dataclass
class IdModel:
    frames: int
    seen: np.ndarray  # (BYTES, 256) bool
    weight: np.ndarray  # (BYTES,) surprise of a new value: 0 for bytes not stable
    lengths: frozenset
    length_weight: float
    most_per_window: int  # frames in a window while learning, at most
    pairs: list = field(default_factory=list)  # (a, b, sorted combos a*256+b, surprise)
    steps: np.ndarray | None = None  # (BYTES, 256) bool: the steps (mod 256) each byte took frame to frame
    step_weight: np.ndarray | None = None  # (BYTES,) surprise of a new step: counters and smooth signals only
    last: np.ndarray | None = None  # the id's latest payload (its first 8 bytes), for the next step
    low: np.ndarray | None = None  # (BYTES,) per byte that was not stable, the range it may use:
    high: np.ndarray | None = None  # its learned range widened by its own span on either side
    range_weight: np.ndarray | None = None
    window: int = -1  # the open window while judging, its frames so far, and whether one of them fit the model
    in_window: int = 0
    window_had_fit: bool = False


@dataclass
class BusLearning:
    t0: float
    kept: dict = field(default_factory=dict)  # key -> list of (ts array, data array, dlc array)
    counts: Counter = field(default_factory=Counter)
    models: dict | None = None  # key -> IdModel once learning ended
    clocks: dict = field(default_factory=dict)  # key -> canclock.Grid of the periodic ids
    states: canstates.StateBytes = field(default_factory=canstates.StateBytes)
    fields: canfields.BusFields = field(default_factory=canfields.BusFields)


def measurement_bytes(plan, frame_id: int, extended: bool) -> np.ndarray:
    """The first eight payload bytes that carry a measurement of the id's DBC message (a numeric
    signal of more than 4 bits without value names): found by setting each byte of an empty
    payload and decoding. Those bytes are the signal-pair detector's; a new speed or temperature
    is no forgery, so the value, range and pair models leave them alone."""
    message = plan.lookup(frame_id, extended) if plan is not None else None
    out = np.zeros(BYTES, bool)
    if message is None:
        return out
    from ..canbus.decode import decode_batch  # only where a DBC knows the id
    from ..canbus.frames import FrameBatch

    probe = FrameBatch.empty(BYTES + 1, ("probe",))
    probe.arbitration_id[:], probe.is_extended[:], probe.dlc[:] = frame_id, extended, max(message.length, 1)
    probe.data[np.arange(1, BYTES + 1), np.arange(BYTES)] = 0xFF
    measured = [sig.name for sig in message.root.signals if not sig.choices and sig.length > 4]
    for cols in decode_batch(plan, probe).messages:
        for name in measured:
            values = cols.values.get(name)
            if values is not None and len(values) == BYTES + 1:
                out |= values[1:] != values[0]
    return out


def surprise(frames, known):
    """log((n + 2) / (k + 1)) for n learning frames and k values seen (scalars or arrays)."""
    return np.log((frames + 2) / (known + 1))


def build_model(ts: np.ndarray, data: np.ndarray, dlc: np.ndarray, half: float, pair_max: int,
                windows: np.ndarray, delta_max: int = 4, measured: np.ndarray | None = None) -> IdModel:
    """The model of one id from its learning frames (``half``: the time learning was half over;
    ``windows``: each frame's window index; ``measured``: bytes of DBC measurements, left to the
    step model only)."""
    modelled = ~measured if measured is not None else np.ones(BYTES, bool)
    n = len(ts)
    first = ts < half
    seen = np.zeros((BYTES, 256), bool)
    seen_early = np.zeros((BYTES, 256), bool)
    cols = np.arange(BYTES)
    seen[np.repeat(cols[None, :], n, 0), data] = True
    seen_early[np.repeat(cols[None, :], int(first.sum()), 0), data[first]] = True
    both_halves = bool(first.any() and (~first).any())
    stable = (seen == seen_early).all(1) & both_halves & modelled
    known = seen.sum(1)
    weight = np.where(stable, surprise(n, known), 0.0)
    lengths = frozenset(np.unique(dlc).tolist())
    pairs = []
    low = [k for k in range(BYTES) if known[k] <= pair_max and modelled[k]]
    for i, a in enumerate(low):
        for b in low[i + 1:]:
            combos = np.unique(data[:, a].astype(np.int32) * 256 + data[:, b])
            early = np.unique(data[first, a].astype(np.int32) * 256 + data[first, b])
            settled = both_halves and len(early) == len(combos)
            pairs.append((a, b, combos, float(surprise(n, len(combos))) * (1.0 if settled else 0.5)))
    most = int(np.unique(windows, return_counts=True)[1].max())
    steps, step_weight = _step_model(ts, data, half, delta_max)
    lo, hi = data.min(0).astype(np.int16), data.max(0).astype(np.int16)
    span = hi - lo
    return IdModel(n, seen, weight, lengths, float(surprise(n, len(lengths))), most, pairs, steps, step_weight, data[-1].copy(),
                   lo - span, hi + span, np.where(~stable & modelled & (span > 0), 0.5 * surprise(n, known), 0.0))


def _step_model(ts: np.ndarray, data: np.ndarray, half: float, delta_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Per byte, the steps (mod 256) from one frame to the next while learning. A byte that varies
    in few regular steps (a rolling counter, a smooth signal) and whose steps settled in the first
    half gets a weight (counted for a frame whose value is a known one: a new value is the value
    model's)."""
    step = (data[1:].astype(np.int16) - data[:-1]) % 256
    cols, first = np.arange(BYTES), ts[1:] < half
    seen = np.zeros((BYTES, 256), bool)
    early = np.zeros((BYTES, 256), bool)
    seen[np.repeat(cols[None, :], len(step), 0), step] = True
    early[np.repeat(cols[None, :], int(first.sum()), 0), step[first]] = True
    known = seen.sum(1)
    varies = (data != data[0]).any(0)
    regular = (seen == early).all(1) & bool(first.any() and (~first).any()) & (known <= delta_max) & varies
    return seen, np.where(regular, surprise(len(step), known), 0.0)


def frame_scores(model: IdModel, data: np.ndarray, dlc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Summed surprise per frame, and per frame the mask of bytes it broke (a stable byte's new
    value, or a counter's or smooth signal's new step). Moves the model's latest payload on."""
    cols = np.arange(BYTES)[None, :]
    values_seen = model.seen[cols, data]  # (m, BYTES)
    broke = ~values_seen & (model.weight > 0)
    score = (broke * model.weight).sum(1)
    if model.steps is not None and model.step_weight is not None and model.last is not None:
        previous = np.vstack([model.last[None, :], data[:-1]])
        jumped = ~model.steps[cols, (data.astype(np.int16) - previous) % 256] & (model.step_weight > 0) & values_seen
        score += (jumped * model.step_weight).sum(1)
        broke |= jumped
        model.last = data[-1].copy()
    if model.low is not None and model.high is not None and model.range_weight is not None:
        outside = ((data < model.low) | (data > model.high)) & (model.range_weight > 0)
        score += (outside * model.range_weight).sum(1)
        broke |= outside
    score += np.where(np.isin(dlc, list(model.lengths)), 0.0, model.length_weight)
    unseen_pairs = np.zeros(len(data))
    for a, b, combos, weight in model.pairs:  # one broken relation counts once, however many pairs show it
        pair = data[:, a].astype(np.int32) * 256 + data[:, b]
        unseen_pairs = np.maximum(unseen_pairs, np.where(values_seen[:, a] & values_seen[:, b] & ~np.isin(pair, combos), weight, 0.0))
    score += unseen_pairs
    return score, broke


def crowded_by_two_senders(model: IdModel, windows: np.ndarray, fits: np.ndarray) -> np.ndarray:
    """Per frame: does its window hold more of the id's frames than any window did while learning,
    and also a frame that fits the model? Two senders on one id (the genuine one and an injector)
    look like that; an ECU that sends one extra frame when its state changes does not: its later
    frames carry the new state too. The count and the fit of a window open in the previous batch
    carry over (frames of that batch are not judged again)."""
    uniq, inverse, counts = np.unique(windows, return_inverse=True, return_counts=True)
    had_fit = np.zeros(len(uniq), bool)
    np.logical_or.at(had_fit, inverse, fits)
    carried = uniq == model.window
    counts[carried] += model.in_window
    had_fit[carried] |= model.window_had_fit
    model.window, model.in_window, model.window_had_fit = int(uniq[-1]), int(counts[-1]), bool(had_fit[-1])
    return ((counts > model.most_per_window) & had_fit)[inverse]


class PayloadModels(Detector):
    name = "can_payload"
    sections: ClassVar[dict[str, type]] = {"can_payload": PayloadThresholds, "can_clock": ClockThresholds,
                                           "can_states": StateThresholds, "can_fields": FieldThresholds}

    def configure(self, thresholds) -> None:
        self.t, self.learn_s, self.window_s = thresholds.can_payload, thresholds.can.learn_s, thresholds.can.window_s
        self.clock_t, self.state_t, self.field_t = thresholds.can_clock, thresholds.can_states, thresholds.can_fields
        self.min_rate_frames = thresholds.can.min_learning_frames  # fewer tell no rate: windows are not judged crowded
        self.buses: dict[str, BusLearning] = {}
        self.counts: Counter = Counter()
        self.repeats = Repeats(thresholds.wire.repeat_s)  # per (bus, key)

    def scored(self, bus: str, ts: np.ndarray, keys: np.ndarray, scores: np.ndarray, flagged: np.ndarray) -> None:
        """Every judged frame's score and whether it was flagged; a hook for evaluations (bench), no-op here."""

    def on_can(self, view: CanView, state) -> list[Finding]:
        if self.learn_s <= 0:
            return []
        found: list[Finding] = []
        batch = view.batch
        for bus, rows, bl in per_bus(view, self.buses, BusLearning):
            ts = batch.timestamp[rows]
            learning = ts < bl.t0 + self.learn_s
            if learning.any():
                self._keep(bl, batch, rows[learning])
            if (~learning).any():
                if bl.models is None:
                    self._freeze(bl, view.plan)
                found += self._judge(view, bus, bl, rows[~learning])
        return found

    def _keep(self, bl: BusLearning, batch, rows: np.ndarray) -> None:
        keys = frame_keys(batch, rows)
        for key in np.unique(keys).tolist():
            mine = rows[keys == key]
            if key not in bl.counts and len(bl.counts) >= self.t.max_ids:
                self.counts["learning_ids_not_modelled"] += 1  # a flood of random ids while learning
                continue
            room = self.t.max_learning_frames - bl.counts[key]
            bl.counts[key] += len(mine)
            if room < len(mine):
                self.counts["learning_frames_not_kept"] += len(mine) - max(room, 0)
                mine = mine[: max(room, 0)]
            if len(mine):
                bl.kept.setdefault(key, []).append((batch.timestamp[mine], batch.data[mine, :BYTES], batch.dlc[mine]))

    def _freeze(self, bl: BusLearning, plan) -> None:
        half = bl.t0 + self.learn_s / 2
        bl.models, learned, undecoded = {}, {}, {}
        for key, parts in bl.kept.items():
            ts, data, dlc = (np.concatenate([p[i] for p in parts]) for i in range(3))
            measured = measurement_bytes(plan, key_id(key), bool(key >> (ID_BITS - 1)))
            bl.models[key] = build_model(ts, data, dlc, half, self.t.pair_max_values, self._windows(bl, ts),
                                         self.t.delta_max_values, measured)
            grid = fit_grid(ts, self.clock_t)
            if grid is not None:
                bl.clocks[key] = grid
            learned[key] = (ts, np.where(measured, 0, data))  # a DBC measurement is no state
            if plan is None or plan.lookup(key_id(key), bool(key >> (ID_BITS - 1))) is None:
                undecoded[key] = (ts, data)  # where a DBC decodes the id, cansignals.py pairs its signals
        bl.states = canstates.learn(learned, self.state_t)
        bl.fields = canfields.learn(undecoded, self.field_t)
        bl.kept = {}
        self.counts["ids_modelled"] += len(bl.models)
        self.counts["ids_with_a_clock"] += len(bl.clocks)
        self.counts["state_bytes_paired"] += len(bl.states.partners)
        self.counts["field_pairs_learned"] += len(bl.fields.pairs)
        self.counts.update({"state_bytes_not_paired": bl.states.not_paired, **bl.fields.left_out})

    def _windows(self, bl: BusLearning, ts: np.ndarray) -> np.ndarray:
        return ((ts - bl.t0) // self.window_s).astype(np.int64)

    def _judge(self, view: CanView, bus: str, bl: BusLearning, rows: np.ndarray) -> list[Finding]:
        """Each id's frames against its own model first (values, steps, a crowded window, a changed
        clock); then against the ids that carry the same state or quantity, where an id already
        flagged here is no witness against another."""
        batch, found = view.batch, []
        keys = frame_keys(batch, rows)
        assert bl.models is not None
        per_key = {key: rows[keys == key] for key in np.unique(keys).tolist() if key in bl.models}
        # an id unseen while learning is left to the unknown-id rule
        own = {key: self._own(bl, key, batch, mine) for key, mine in per_key.items()}
        suspects = {key for key, (_, _, flagged, _) in own.items() if flagged.any()}
        frames = {key: (batch.timestamp[mine], batch.data[mine, :BYTES]) for key, mine in per_key.items()}
        witnesses = {"states": canstates.forged(bl.states, frames, self.state_t, suspects),
                     "fields": canfields.forged(bl.fields, frames, self.field_t, suspects)}
        for key, mine in per_key.items():
            scores, broke, flagged, rules = own[key]
            for rule, marks in witnesses.items():
                if key in marks and marks[key].any():
                    flagged = flagged | marks[key]
                    rules[rule] = int(marks[key].sum())
            self.scored(bus, batch.timestamp[mine], np.full(len(mine), key), scores, flagged)
            over = np.flatnonzero(flagged)
            self.counts["frames_judged"] += len(mine)
            self.counts["frames_flagged"] += len(over)
            self.counts.update({f"frames_flagged_by_{rule}": n for rule, n in rules.items()})
            if len(over) and self.repeats.due((bus, key), float(batch.timestamp[mine[over[0]]]), "suppressed_repeats") is not None:
                found.append(self._finding(view, bus, key, bl.models[key], mine, over, scores, broke, rules))
        return found

    def _own(self, bl: BusLearning, key: int, batch, mine: np.ndarray) -> tuple:
        """An id's frames against its own model: scores, bytes broken, flags, frames per rule."""
        model = bl.models[key]
        scores, broke = frame_scores(model, batch.data[mine, :BYTES], batch.dlc[mine])
        crowded = crowded_by_two_senders(model, self._windows(bl, batch.timestamp[mine]), scores < self.t.confirm_score)
        crowded &= model.frames >= self.min_rate_frames
        grid = bl.clocks.get(key)
        clock = sender_changed(grid, batch.timestamp[mine], self.clock_t) if grid else np.zeros(len(mine), bool)
        confirmable = scores >= self.t.confirm_score
        marks = {"payload": scores >= self.t.min_score, "crowded": crowded & confirmable, "clock": clock & confirmable}
        flagged = marks["payload"] | marks["crowded"] | marks["clock"]
        return scores, broke, flagged, {rule: int(m.sum()) for rule, m in marks.items() if m.any()}

    def _finding(self, view, bus, key, model: IdModel, mine, over, scores, broke, rules: dict) -> Finding:
        batch, first = view.batch, int(mine[over[0]])
        ts = batch.timestamp[mine[over]]
        evidence = {"score": round(float(scores[over[0]]), 2), "min_score": self.t.min_score,
                    "most_frames_per_window_learned": model.most_per_window,
                    "payload_hex": batch.payload(first).hex(), "learning_frames": model.frames,
                    "bytes_broken": np.flatnonzero(broke[over[0]]).tolist(), "frames_over": len(over),
                    "frames_per_rule": rules}
        return Finding(float(ts[0]), "can.payload", "can", "payload unlike what the id sent while learning (masquerade-like)",
                       0.6, can=can_ref(bus, [key_id(key)], len(over), ts[0], ts[-1]), evidence=evidence)

    def stats(self) -> dict:
        return dict(self.counts + self.repeats.suppressed)
