"""Signals of different ids that move together (``can.signals``): where a DBC decodes a bus, a
forged signal that no longer agrees with its partners, or that jumps faster than the signal ever
changed, gives a masquerade away.

While a bus learns (``can.learn_s``), the decoded numeric signals of each message are kept (at
most ``max_samples`` per signal). When learning ends, signals of *different* messages with the
same DBC unit (the four wheel speeds and the vehicle speed, all km/h) are paired: each sample of
one is matched with the latest sample of the other, and a pair whose correlation reaches
``min_correlation`` and whose line y = a x + b says "one quantity measured twice" (a between 0.5
and 2, b near 0) keeps the line and the spread of its residuals. After that,
a frame whose signal sits more than ``max_residual`` spreads off its partner's line (and more than
``min_gap`` of the signal's learned range and ``min_relative`` of the value expected), for
``min_frames`` frames in a row, breaks the pair. The finding names both signals and
cannot say which of the two is the forged one. Each signal also keeps how it moved from frame to
frame while learning (``signaljumps.py``): a step no genuine sender makes (a speed faster than a
vehicle brakes or accelerates, any other signal far faster than it ever moved and by a large part
of its own value: a wheel read as 0 at speed, an odometer reset to 0) is a jump, unless a learned
partner still agrees with the new value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from .base import Detector
from .canview import CanView, can_ref, per_bus
from .finding import Finding
from .memory import Repeats
from .pairfit import fit_same_quantity
from .signaljumps import StepModel, learn_steps, per_mps
from .signaljumps import jumped as steps_jumped

Series = tuple[str, str]  # (message, signal)


@dataclass(frozen=True)
class SignalThresholds:
    min_correlation: float = 0.95  # pairs that moved together this closely while learning
    max_residual: float = 8.0  # spreads of the learned residual a frame may sit off its partner's line
    min_gap: float = 0.1  # and at least this share of the signal's learned range
    min_relative: float = 0.15  # and of the value expected (sampling lag and wheel slip stay below it)
    max_samples: int = 4096  # per signal while learning
    max_pairs: int = 64  # the most correlated pairs kept per bus
    max_tries: int = 20_000  # pairs of same-unit signals fitted per bus at most (when learning ends)
    stale_s: float = 1.0  # a partner value older than this is not compared
    min_frames: int = 5  # frames in a row off the line before it counts (a stop or a sampling lag is brief)
    max_rate: float = 4.0  # not a speed: times the fastest change per second seen while learning
    min_jump: float = 0.25  # and at least this share of the learned range
    min_relative_jump: float = 0.25  # and of the signal's own value (a calm learning says little of later moves)
    min_step_s: float = 0.01  # steps closer in time than this count as this long
    max_accel: float = 12.0  # a speed: m/s^2 no road vehicle sustains (past what tyres give on a dry road)
    hold_s: float = 0.25  # a speed: its sensor may refresh this slowly, showing that long's change in one step


@dataclass
class Pair:
    x: Series
    y: Series
    slope: float
    intercept: float
    spread: float  # the residuals' standard deviation (floored)
    gap: float  # the least residual that counts, from the learned range of y
    correlation: float
    speed_per_mps: float | None = None  # the unit per m/s when both measure a speed


@dataclass
class BusSignals:
    t0: float
    samples: dict = field(default_factory=dict)  # series -> list of (ts, values)
    units: dict = field(default_factory=dict)  # series -> unit
    pairs: list | None = None
    latest: dict = field(default_factory=dict)  # series -> (ts, value) while judging
    runs: dict = field(default_factory=dict)  # (x, y) -> frames in a row off the line
    steps: dict = field(default_factory=dict)  # series -> StepModel


def numeric_series(view: CanView, rows: np.ndarray):
    """(series, unit, row indices, values) of every numeric, always-present signal in these rows."""
    for cols in view.decoded.messages:
        mine = np.isin(cols.rows, rows)
        if not mine.any():
            continue
        for sig in cols.message.root.signals:
            values = cols.values.get(sig.name)
            if values is None or sig.choices or not sig.unit or values.dtype.kind not in "iuf":
                continue
            yield (cols.message.name, sig.name), sig.unit, cols.rows[mine], values[mine].astype(np.float64)


def learned_series(bs: BusSignals) -> dict[Series, tuple[np.ndarray, np.ndarray]]:
    """Each signal's learning samples, finite values only (an IEEE float signal can carry NaN)."""
    out = {}
    for name, parts in bs.samples.items():
        ts, values = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        finite = np.isfinite(values)
        out[name] = (ts[finite], values[finite])
    return out


def fit_pairs(series: dict, bs: BusSignals, t: SignalThresholds) -> list[Pair]:
    found, tried = [], 0
    names = sorted(series)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if x[0] == y[0] or bs.units[x] != bs.units[y] or tried >= t.max_tries:
                continue
            tried += 1  # one direction is enough: a forged x or a forged y both move y off x's line
            pair = _fit(x, y, series[x], series[y], t)
            if pair is not None:
                found.append(replace(pair, speed_per_mps=per_mps(bs.units[y])))
    found.sort(key=lambda p: -p.correlation)
    return found[: t.max_pairs]


def _fit(x: Series, y: Series, xs: tuple, ys: tuple, t: SignalThresholds) -> Pair | None:
    line = fit_same_quantity(xs, ys, t.stale_s, t.min_correlation, t.min_gap)
    return None if line is None else Pair(x, y, line.slope, line.intercept, line.spread, line.gap, line.correlation)


class SignalPairs(Detector):
    name = "can_signals"
    sections: ClassVar[dict[str, type]] = {"can_signals": SignalThresholds}

    def configure(self, thresholds) -> None:
        self.t, self.learn_s = thresholds.can_signals, thresholds.can.learn_s
        self.buses: dict[str, BusSignals] = {}
        self.counts: Counter = Counter()
        self.repeats = Repeats(thresholds.wire.repeat_s)  # per (bus, pair)

    def on_can(self, view: CanView, state) -> list[Finding]:
        if self.learn_s <= 0 or not view.decoded.messages:
            return []
        found: list[Finding] = []
        for bus, rows, bs in per_bus(view, self.buses, BusSignals):
            ts = view.batch.timestamp
            learning = rows[ts[rows] < bs.t0 + self.learn_s]
            if len(learning):
                self._keep(view, bs, learning)
            judged = rows[ts[rows] >= bs.t0 + self.learn_s]
            if len(judged):
                if bs.pairs is None:
                    series = learned_series(bs)
                    bs.pairs, bs.steps = fit_pairs(series, bs, self.t), learn_steps(series, bs.units, self.t)
                    bs.latest = {name: (float(ts[-1]), float(values[-1])) for name, (ts, values) in series.items()}
                    bs.samples = {}
                    self.counts["pairs_learned"] += len(bs.pairs)
                    self.counts["rates_learned"] += len(bs.steps)
                found += self._judge(view, bus, bs, judged)
        return found

    def _keep(self, view: CanView, bs: BusSignals, rows: np.ndarray) -> None:
        for series, unit, at, values in numeric_series(view, rows):
            kept = bs.samples.setdefault(series, [])
            room = self.t.max_samples - sum(len(p[0]) for p in kept)
            if room <= 0:
                self.counts["learning_samples_not_kept"] += len(at)
                continue
            kept.append((view.batch.timestamp[at[:room]], values[:room]))
            bs.units[series] = unit

    def _judge(self, view: CanView, bus: str, bs: BusSignals, rows: np.ndarray) -> list[Finding]:
        assert bs.pairs is not None
        current = {s: (view.batch.timestamp[at], v) for s, _, at, v in numeric_series(view, rows)}
        found = []
        for pair in bs.pairs:
            if pair.y not in current:
                continue
            ty, vy = current[pair.y]
            px, fresh, age = self._partner(bs, current, pair.x, ty)
            expected = pair.slope * px + pair.intercept
            residual = np.abs(vy - expected)
            broken = fresh & (residual > self._tolerance(pair, expected, age))
            broken = self._sustained(bs, pair, broken)
            self.counts["frames_compared"] += int(fresh.sum())
            if broken.any():
                self.counts["frames_off_their_partner"] += int(broken.sum())
                first = int(np.flatnonzero(broken)[0])
                if self.repeats.due((bus, pair.x, pair.y), float(ty[first]), "suppressed_repeats") is not None:
                    found.append(self._finding(view, bus, pair, ty, vy, px, residual, broken, first))
        found += self._jumps(view, bus, bs, current)
        for series, (ts, values) in current.items():
            bs.latest[series] = (float(ts[-1]), float(values[-1]))
        return found

    def _jumps(self, view: CanView, bus: str, bs: BusSignals, current: dict) -> list[Finding]:
        """Signals that moved in one step further than a genuine sender does (``signaljumps.py``)
        while no learned partner agrees with the new value."""
        found = []
        for series, (ts, values) in current.items():
            model = bs.steps.get(series)
            if model is None or series not in bs.latest:
                continue
            last_t, last_v = bs.latest[series]
            before, dt = np.concatenate(([last_v], values[:-1])), np.diff(np.concatenate(([last_t], ts)))
            jumped = steps_jumped(model, before, values, dt, self.t)
            if jumped.any():  # a partner that agrees clears the frame
                agrees = self._partner_agrees(bs, current, series, ts[jumped], values[jumped])
                self.counts["jumps_partner_agrees"] += int(agrees.sum())
                jumped[np.flatnonzero(jumped)[agrees]] = False
            if not jumped.any():
                continue
            self.counts["jumps"] += int(jumped.sum())
            first = int(np.flatnonzero(jumped)[0])
            if self.repeats.due((bus, series), float(ts[first]), "suppressed_repeats") is not None:
                found.append(self._jump_finding(view, bus, series, model, ts, values, before, dt, jumped, first))
        return found

    def _partner_agrees(self, bs: BusSignals, current: dict, series: Series, ts: np.ndarray,
                        values: np.ndarray) -> np.ndarray:
        """Where a learned partner of ``series``, fresh at ``ts``, sits on the pair's line with ``values``."""
        agrees = np.zeros(len(ts), bool)
        for pair in bs.pairs or ():
            if series not in (pair.x, pair.y):
                continue
            seen, fresh, age = self._partner(bs, current, pair.x if series == pair.y else pair.y, ts)
            x, y = (seen, values) if series == pair.y else (values, seen)
            expected = pair.slope * x + pair.intercept
            agrees |= fresh & (np.abs(y - expected) <= self._tolerance(pair, expected, age))
        return agrees

    def _jump_finding(self, view, bus, series: Series, model: StepModel, ts, values, before, dt, jumped, first) -> Finding:
        name, step_s = ".".join(series), round(float(dt[first]), 3)
        step = abs(float(values[first] - before[first]))
        if model.speed_per_mps is not None:
            seen = f"{name} changed faster than a vehicle brakes or accelerates"  # the numbers go in evidence
        else:
            seen = f"{name} changed faster than it ever did while learning"
        seen += " (masquerade-like)"
        rate = step / max(float(dt[first]), self.t.min_step_s)
        ids = sorted({m.frame_id for m in view.plan.messages if m.name == series[0]})
        evidence = {"signal": name, "from": round(float(before[first]), 3), "to": round(float(values[first]), 3),
                    "step_s": step_s, "rate_per_s": round(rate, 3), "learned_fastest_per_s": round(model.fastest, 3),
                    "learned_range": round(model.span, 3), "learned_largest_step": round(model.largest_step, 3),
                    "bound": "physics" if model.speed_per_mps is not None else "learned"}
        return Finding(float(ts[first]), "can.signals", "can", seen, 0.6,
                       can=can_ref(bus, ids, int(jumped.sum()), ts[jumped][0], ts[jumped][-1]), evidence=evidence)

    def _sustained(self, bs: BusSignals, pair: Pair, broken: np.ndarray) -> np.ndarray:
        """The frames that are the ``min_frames``-th or later in a row off the line (the run of the
        previous batch carries over)."""
        key = (pair.x, pair.y)
        idx = np.arange(len(broken))
        last_ok = np.maximum.accumulate(np.where(~broken, idx, -1))
        run = idx - last_ok
        run[last_ok < 0] += bs.runs.get(key, 0)  # frames before the first fit continue the carried run
        bs.runs[key] = int(run[-1]) if broken[-1] else 0
        return broken & (run >= self.t.min_frames)

    def _tolerance(self, pair: Pair, expected: np.ndarray, age: np.ndarray) -> np.ndarray:
        """How far a value may sit off its partner's line: ``max_residual`` learned spreads, ``min_gap``
        of the learned range, ``min_relative`` of the value expected, and for speeds what the vehicle
        may have gained or lost since the partner's value was sent (a pair learned in a steady
        cruise has a narrow spread, and a 10 Hz partner lags a 50 Hz signal under hard braking)."""
        least = max(pair.spread * self.t.max_residual, pair.gap)
        tolerance = np.maximum(least, self.t.min_relative * np.abs(expected))
        if pair.speed_per_mps is not None:
            tolerance = tolerance + self.t.max_accel * pair.speed_per_mps * age
        return tolerance

    def _partner(self, bs: BusSignals, current: dict, x: Series, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The partner's latest value at each of ``ty``, whether it is fresh enough, and its age."""
        tx, vx = current.get(x, (np.zeros(0), np.zeros(0)))
        if x in bs.latest:
            last_t, last_v = bs.latest[x]
            tx, vx = np.concatenate(([last_t], tx)), np.concatenate(([last_v], vx))
        if not len(tx):
            return np.zeros(len(ty)), np.zeros(len(ty), bool), np.zeros(len(ty))
        at = np.searchsorted(tx, ty, side="right") - 1
        age = ty - tx[np.maximum(at, 0)]
        fresh = (at >= 0) & (age <= self.t.stale_s)
        return vx[np.maximum(at, 0)], fresh, np.maximum(age, 0.0)

    def _finding(self, view, bus, pair: Pair, ty, vy, px, residual, broken, first) -> Finding:
        evidence = {"signal": ".".join(pair.y), "value": round(float(vy[first]), 3),
                    "partner": ".".join(pair.x), "partner_value": round(float(px[first]), 3),
                    "expected": round(pair.slope * float(px[first]) + pair.intercept, 3),
                    "residual": round(float(residual[first]), 3), "learned_spread": round(pair.spread, 4),
                    "learned_correlation": round(pair.correlation, 4), "frames_off": int(broken.sum())}
        ids = sorted({m.frame_id for m in view.plan.messages if m.name in (pair.x[0], pair.y[0])})
        return Finding(float(ty[first]), "can.signals", "can",
                       f"{'.'.join(pair.y)} no longer moves with {'.'.join(pair.x)} (masquerade-like)", 0.6,
                       can=can_ref(bus, ids, int(broken.sum()), ty[broken][0], ty[broken][-1]), evidence=evidence)

    def stats(self) -> dict:
        return dict(self.counts + self.repeats.suppressed)
