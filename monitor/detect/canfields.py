"""Numeric fields that move together, found with no DBC (``can_fields``): the bytes of an id no
DBC decodes, read as the numbers they may hold, paired as ``cansignals.py`` pairs decoded signals.

Without a DBC the layout is a guess, so every reading is tried: each byte, and each two adjacent
bytes big- and little-endian. A reading is a *field* when it took ``min_values`` values or more
while learning and moved smoothly (99 % of its steps within ``max_step`` of its range: a counter's
wrap or a multiplexed byte is no field). Two fields that share no byte (in one id, such as four
wheel speeds, or in two) are paired when they are one quantity measured twice: correlation of
``min_correlation`` or more over the learning frames, a line y = a x + b with a between 0.5 and
2 and b near 0. Each pair keeps its line and the spread of its residuals.

After learning, a field more than ``max_residual`` spreads off its partner's line (and more than
``min_gap`` of its learned range and ``min_relative`` of the value expected) for ``min_frames``
frames in a row breaks the pair. The guesses disagree when a value crosses a byte boundary (a
big-endian reading carries where its little-endian twin wraps), so one broken pair says little:
a frame is judged forged when the pairs of its id's fields that break are ``min_broken`` or more
and more than half of those compared at that frame (a partner older than ``stale_s`` is not
compared). Readings of a shared byte that are the same numbers in learning (a constant high
byte makes a 16-bit reading an 8-bit one) count once. Pairs inside one id are judged first: an id whose own fields
disagree is forged on its own evidence. A pair across ids counts against its judged side only
when the partner's id is not already judged forged (here, or by the payload rules in this
batch), and only where partners of two other ids or more are compared: one other id alone
cannot tell which of the two lies. A wheel speed forged to a constant breaks the pairs of the
four wheels; the vehicle speed that no longer matches it is not blamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pairfit import fit_same_quantity

Field = tuple[int, str, tuple]  # (key, reading, bytes)


@dataclass(frozen=True)
class FieldThresholds:
    min_values: int = 8  # a reading that took fewer values while learning is no field
    max_step: float = 0.25  # 99 % of its frame-to-frame steps within this share of its range
    min_correlation: float = 0.95
    max_residual: float = 8.0  # spreads of the learned residual a frame may sit off its partner's line
    min_gap: float = 0.1  # and this share of the field's learned range
    min_relative: float = 0.15  # and of the value expected
    min_frames: int = 5  # frames in a row off the line before a pair counts as broken
    min_broken: int = 2  # broken pairs of an id's fields (and more than half of those compared) that make a frame forged
    stale_s: float = 1.0
    max_fields: int = 512  # fields per bus at most
    max_pairs: int = 256  # the most correlated pairs kept per bus
    max_tries: int = 50_000  # pairs of fields fitted per bus at most


@dataclass
class FieldPair:
    x: Field
    y: Field
    slope: float
    intercept: float
    spread: float
    gap: float
    correlation: float
    run: int = 0  # frames in a row off the line so far


@dataclass
class BusFields:
    pairs: list = field(default_factory=list)
    latest: dict = field(default_factory=dict)  # Field -> (ts, value) while judging
    left_out: dict = field(default_factory=dict)  # what the bounds cut while learning, counted in the detector's stats


GRID_S = 0.05  # the grid on which pair candidates are found
FULL_SCALE = {"u8": 255.0, "be": np.inf, "le": np.inf}  # a byte at 0xFF may be a saturated sensor
READINGS = [(f"be16@{b}", (b, b + 1)) for b in range(7)] + [(f"le16@{b}", (b, b + 1)) for b in range(7)] + \
    [(f"u8@{b}", (b,)) for b in range(8)]


def read(data: np.ndarray, reading: str, where: tuple) -> np.ndarray:
    """The values of one reading of (m, 8) payload bytes."""
    if reading.startswith("u8"):
        return data[:, where[0]].astype(np.float64)
    high, low = (where[0], where[1]) if reading.startswith("be") else (where[1], where[0])
    return data[:, high].astype(np.float64) * 256 + data[:, low]


def fields_of(key: int, data: np.ndarray, t: FieldThresholds) -> list[tuple[Field, np.ndarray]]:
    """The readings of one id's learning frames that behave as numeric fields."""
    out = []
    for reading, where in READINGS:
        values = read(data, reading, where)
        span = float(values.max() - values.min()) if len(values) else 0.0
        if span == 0 or len(np.unique(values)) < t.min_values:
            continue
        if np.quantile(np.abs(np.diff(values)), 0.99) > t.max_step * span:
            continue
        if any(set(where) & set(name[2]) and abs(np.corrcoef(values, other)[0, 1]) > 0.9999 for name, other in out):
            continue  # the same bytes read another way give the same numbers (a constant high byte): one vote, not two
        out.append(((key, reading, where), values))
    return out


def learn(kept: dict, t: FieldThresholds) -> BusFields:
    """Pairs of fields from each id's kept (ts, data) learning frames (ids a DBC decodes left out
    by the caller)."""
    series: dict[Field, tuple[np.ndarray, np.ndarray]] = {}
    left_out = {"fields_not_paired": 0, "field_pairs_not_tried": 0, "field_pairs_not_kept": 0}
    for key, (ts, data) in sorted(kept.items()):
        for name, values in fields_of(key, data, t):
            if len(series) < t.max_fields:
                series[name] = (ts, values)
            else:
                left_out["fields_not_paired"] += 1
    pairs, tried = [], 0
    names = sorted(series)
    for i, j in _candidates(names, series, t):
        x, y = names[i], names[j]
        if x[0] == y[0] and set(x[2]) & set(y[2]):
            continue  # two readings of one byte are no two measurements
        if tried >= t.max_tries:
            left_out["field_pairs_not_tried"] += 1
            continue
        tried += 1
        both = [(x, y), (y, x)] if x[0] != y[0] else [(x, y)]  # across ids, each side is judged by the other
        for a, b in both:
            pair = _fit(a, b, series[a], series[b], t)
            if pair is not None:
                pairs.append(pair)
    pairs.sort(key=lambda p: -p.correlation)
    left_out["field_pairs_not_kept"] = max(len(pairs) - t.max_pairs, 0)
    out = BusFields(pairs[: t.max_pairs], left_out={k: n for k, n in left_out.items() if n})
    for name, (ts, values) in series.items():
        out.latest[name] = (float(ts[-1]), float(values[-1]))
    return out


def _candidates(names: list, series: dict, t: FieldThresholds) -> list[tuple[int, int]]:
    """Pairs worth fitting: every field sampled on one grid of ``GRID_S`` (its latest value), all
    correlations in one matrix, those within reach of ``min_correlation`` kept (the exact fit on
    the frames decides)."""
    if len(names) < 2:
        return []
    start = min(float(series[n][0][0]) for n in names)
    end = max(float(series[n][0][-1]) for n in names)
    grid = np.arange(start, end, GRID_S)
    rows = []
    for name in names:
        ts, values = series[name]
        rows.append(values[np.clip(np.searchsorted(ts, grid, side="right") - 1, 0, len(ts) - 1)])
    with np.errstate(all="ignore"):
        r = np.corrcoef(np.array(rows))
    i, j = np.nonzero(np.triu(np.nan_to_num(r) >= t.min_correlation - 0.1, 1))
    return list(zip(i.tolist(), j.tolist()))


def _fit(x: Field, y: Field, xs: tuple, ys: tuple, t: FieldThresholds) -> FieldPair | None:
    line = fit_same_quantity(xs, ys, t.stale_s, t.min_correlation, t.min_gap)
    return None if line is None else FieldPair(x, y, line.slope, line.intercept, line.spread, line.gap, line.correlation)


def forged(bf: BusFields, frames: dict, t: FieldThresholds, suspects: frozenset | set = frozenset()) -> dict[int, np.ndarray]:
    """Per key in ``frames`` (key -> (ts, data) of this batch, in time order): which of its frames
    break most of the pairs its fields are in. Pairs inside one id come first: an id whose own
    fields disagree is forged on its own evidence; a pair across ids then counts against its
    judged side only where the partner's id is not already judged forged (a forged wheel speed
    does not make the vehicle speed that no longer matches it forged), nor where ``suspects`` (ids
    flagged by other rules in this batch) holds it. Moves the latest values on."""
    current = {}
    for name in bf.latest:
        if name[0] in frames:
            ts, data = frames[name[0]]
            current[name] = (ts, read(data, name[1], name[2]))
    within: dict[int, list] = {}
    across: dict[int, list] = {}
    for pair in bf.pairs:
        if pair.y in current:
            fresh, off = _judge_pair(bf, pair, current, t)
            (within if pair.x[0] == pair.y[0] else across).setdefault(pair.y[0], []).append((pair.x[0], fresh, off))
    for name, (ts, values) in current.items():
        bf.latest[name] = (float(ts[-1]), float(values[-1]))
    out = {key: _most(votes, t) for key, votes in within.items()}
    guilty = {key for key, marks in out.items() if marks.any()} | set(suspects)
    for key, votes in across.items():
        votes = [v for v in votes if v[0] not in guilty]
        if len({partner for partner, _, _ in votes}) >= 2:  # one other id alone cannot tell which of the two lies
            out[key] = out[key] | _most(votes, t) if key in out else _most(votes, t)
    return out


def _judge_pair(bf: BusFields, pair: FieldPair, current: dict, t: FieldThresholds) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of the pair's judged side: compared, and off the line for ``min_frames`` in a row.
    A byte read alone at 0xFF may be a saturated sensor (a speed past 255) and is not compared."""
    ty, vy = current[pair.y]
    px, fresh = _partner(bf, current, pair.x, ty, t.stale_s)
    fresh &= (vy < FULL_SCALE[pair.y[1][:2]]) & (px < FULL_SCALE[pair.x[1][:2]])
    expected = pair.slope * px + pair.intercept
    residual = np.abs(vy - expected)
    off = fresh & (residual > pair.spread * t.max_residual) & (residual > pair.gap)
    off &= residual > t.min_relative * np.abs(expected)
    return fresh, _sustained(pair, off, t.min_frames)


def _most(votes: list, t: FieldThresholds) -> np.ndarray:
    compared = np.sum([fresh for _, fresh, _ in votes], axis=0)
    broken = np.sum([off for _, _, off in votes], axis=0)
    return (broken >= t.min_broken) & (2 * broken > compared)


def _partner(bf: BusFields, current: dict, x: Field, ty: np.ndarray, stale_s: float) -> tuple[np.ndarray, np.ndarray]:
    last_t, last_v = bf.latest[x]
    tx, vx = current.get(x, (np.zeros(0), np.zeros(0)))
    tx, vx = np.concatenate(([last_t], tx)), np.concatenate(([last_v], vx))
    at = np.searchsorted(tx, ty, side="right") - 1
    fresh = (at >= 0) & (ty - tx[np.maximum(at, 0)] <= stale_s)
    return vx[np.maximum(at, 0)], fresh


def _sustained(pair: FieldPair, off: np.ndarray, min_frames: int) -> np.ndarray:
    """The frames that are the ``min_frames``-th or later in a row off the line (the run of the
    last batch carries over)."""
    idx = np.arange(len(off))
    last_ok = np.maximum.accumulate(np.where(~off, idx, -1))
    run = idx - last_ok
    run[last_ok < 0] += pair.run
    pair.run = int(run[-1]) if len(off) and off[-1] else 0
    return off & (run >= min_frames)
