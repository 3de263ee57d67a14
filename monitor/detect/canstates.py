"""One state reported by several ids: a forged state byte that no longer agrees with the ids
that report the same state gives a masquerade away, with no DBC.

A gear, a lamp, a door: one ECU decides it and several messages carry it, each in its own
coding. While the bus learns, a *state byte* is a byte of an id that took at most ``max_values``
values, at least two of them held for ``min_hold_s`` and ``min_run_frames`` in a row (shorter
values are transitions; a relation seen for a second after one event is a coincidence as
often as not), and changed no more often than every ``min_hold_s`` on average (a counter or a
multiplex index is no state). Two state
bytes of different ids are *partners* when their held values map one to one (a bijection of two
or more pairs: 0x00 with 0x04 and 0x20 with 0x0C) and every change of each came within
``settle_s`` of a change of the other (one ECU reacts a little later than another; bytes of one
event that settle seconds apart, or toggle on their own, are no one state), the samples within
``settle_s`` of a change left out of the mapping. After learning, each frame
carrying a state byte is compared with the latest value of every partner: held values that the
mapping does not pair contradict it, and a contradiction lasting ``settle_s`` counts.

The contradiction does not say which side is forged, the partners do: a byte is judged forged
where it contradicts the partners of at least ``min_partners`` ids and of more than half of the
ids it is compared with (a forged reverse lamp disagrees with the gear in three messages; each
of those disagrees with the lamp only). The bytes of one id are one witness: one ECU that
changed two bytes at once is not two. A partner older than ``stale_s`` is not compared. What is learned
is the kept learning frames of each id (``can_payload.max_learning_frames``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Byte = tuple[int, int]  # (key, byte index)


@dataclass(frozen=True)
class StateThresholds:
    max_values: int = 8  # a state byte takes at most this many values while learning
    min_hold_s: float = 2.0  # a value held for less is a transition, not a state
    min_run_frames: int = 5  # and for fewer frames (one frame of a 1 Hz message holds for a second)
    settle_s: float = 0.2  # samples this close to a change are not learned from; contradictions last this long to count
    min_partners: int = 3  # ids contradicted that make a byte forged (and more than half of those compared)
    stale_s: float = 1.0  # a partner's value older than this is not compared
    max_bytes: int = 256  # state bytes per bus paired at most


@dataclass
class Partner:
    other: Byte
    mapping: np.ndarray  # (256,) int16: the partner's value for each of this byte's held values, -1 else
    since: float | None = None  # when the current contradiction began


@dataclass
class StateBytes:
    partners: dict = field(default_factory=dict)  # Byte -> list of Partner
    not_paired: int = 0  # state bytes beyond max_bytes, left out (counted in the detector's stats)
    latest: dict = field(default_factory=dict)  # Byte -> (ts, value) while judging


def state_series(kept: dict, t: StateThresholds) -> tuple[dict[Byte, tuple[np.ndarray, np.ndarray, np.ndarray]], int]:
    """Each state byte's learning samples (times, values) and its held values (a mask over 0..255),
    from each id's kept (ts, data) frames. A byte that changes more often than every ``min_hold_s``
    on average (a multiplex index, a counter) is no state. Also the state bytes left out beyond
    ``max_bytes``."""
    out, left_out = {}, 0
    for key, (ts, data) in kept.items():
        if len(ts) < 2:
            continue
        span = float(ts[-1] - ts[0])
        for b in range(data.shape[1]):
            values = data[:, b]
            changed = np.flatnonzero(np.diff(values) != 0)
            if not 0 < len(changed) <= span / t.min_hold_s or len(np.unique(values)) > t.max_values:
                continue
            held = _held(ts, values, changed, t)
            if held.sum() >= 2 and len(out) < t.max_bytes:
                out[(key, b)] = (ts, values.astype(np.int16), held)
            elif held.sum() >= 2:
                left_out += 1
    return out, left_out


def _held(ts: np.ndarray, values: np.ndarray, changed: np.ndarray, t: StateThresholds) -> np.ndarray:
    """The values with a run of ``min_run_frames`` frames and ``min_hold_s`` (from its first frame
    to the next change)."""
    starts = np.concatenate([[0], changed + 1])
    ends = np.concatenate([changed + 1, [len(ts) - 1]])
    long = (ts[ends] - ts[starts] >= t.min_hold_s) & (ends - starts >= t.min_run_frames)
    held = np.zeros(256, bool)
    held[values[starts[long]]] = True
    return held


def _changes(ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    return ts[1:][np.diff(values) != 0]


def _change_spans(ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n, 2): each change happened between the last frame with the old value and the first with the new."""
    at = np.flatnonzero(np.diff(values) != 0)
    return np.column_stack([ts[at], ts[at + 1]])


def changed_together(x: tuple, y: tuple, settle_s: float) -> bool:
    """Did every change of each happen within ``settle_s`` of a change of the other? (Bytes of one
    event that settle a second apart, or that toggle on their own, are no one state.)"""
    a, b = _change_spans(x[0], x[1]), _change_spans(y[0], y[1])
    if not len(a) or not len(b):
        return False
    near = (a[:, None, 0] - settle_s <= b[None, :, 1]) & (b[None, :, 0] - settle_s <= a[:, None, 1])
    return bool(near.any(1).all() and near.any(0).all())


def pair_mapping(x: tuple, y: tuple, t: StateThresholds) -> np.ndarray | None:
    """x's held values mapped to y's (a bijection of two or more pairs), or None."""
    (tx, vx, held_x), (ty, vy, held_y) = x, y
    if not changed_together(x, y, t.settle_s):
        return None
    at = np.searchsorted(ty, tx, side="right") - 1
    ok = (at >= 0) & ((tx - ty[np.maximum(at, 0)]) <= t.stale_s)
    changes = np.sort(np.concatenate([_changes(tx, vx), _changes(ty, vy)]))
    near = np.searchsorted(changes, tx - t.settle_s, side="left")
    ok &= ~((near < len(changes)) & (changes[np.minimum(near, len(changes) - 1)] <= tx + t.settle_s))
    px, py = vx[ok], vy[at[ok]]
    keep = held_x[px] & held_y[py]
    pairs = np.unique(px[keep].astype(np.int32) * 256 + py[keep])
    xs, ys = pairs // 256, pairs % 256
    if len(pairs) < 2 or len(np.unique(xs)) != len(pairs) or len(np.unique(ys)) != len(pairs):
        return None
    mapping = np.full(256, -1, np.int16)
    mapping[xs] = ys
    return mapping


def learn(kept: dict, t: StateThresholds) -> StateBytes:
    series, left_out = state_series(kept, t)
    out = StateBytes(not_paired=left_out)
    names = sorted(series)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if x[0] == y[0]:
                continue
            mapping = pair_mapping(series[x], series[y], t)
            if mapping is None:
                continue
            back = np.full(256, -1, np.int16)
            back[mapping[mapping >= 0]] = np.flatnonzero(mapping >= 0)
            out.partners.setdefault(x, []).append(Partner(y, mapping))
            out.partners.setdefault(y, []).append(Partner(x, back))
    for name in out.partners:
        ts, values, _ = series[name]
        out.latest[name] = (float(ts[-1]), int(values[-1]))
    return out


def forged(sb: StateBytes, frames: dict, t: StateThresholds, suspects: frozenset | set = frozenset()) -> dict[int, np.ndarray]:
    """Per key in ``frames`` (key -> (ts, data) of this batch, in time order): which of its frames
    carry a state byte that contradicts most of its partners (a partner of an id in ``suspects``,
    flagged by other rules in this batch, is no witness). Moves the latest values on."""
    out: dict[int, np.ndarray] = {}
    for name, partners in sb.partners.items():
        key, b = name
        if key not in frames:
            continue
        ts, data = frames[key]
        values = data[:, b].astype(np.int16)
        seen_by: dict = {}  # partner id -> (compared, contradicted) per frame: the bytes of one id are one witness
        for partner in partners:
            if partner.other[0] in suspects:
                continue
            seen, contra = _compare(sb, partner, frames, ts, values, t)
            was = seen_by.get(partner.other[0], (False, False))
            seen_by[partner.other[0]] = (was[0] | seen, was[1] | contra)
        compared = np.sum([v[0] for v in seen_by.values()], axis=0, dtype=np.int32) if seen_by else np.zeros(len(ts), np.int32)
        against = np.sum([v[1] for v in seen_by.values()], axis=0, dtype=np.int32) if seen_by else np.zeros(len(ts), np.int32)
        bad = (against >= t.min_partners) & (2 * against > compared)
        out[key] = out.get(key, np.zeros(len(ts), bool)) | bad
    for name in sb.partners:
        if name[0] in frames:
            ts, data = frames[name[0]]
            sb.latest[name] = (float(ts[-1]), int(data[-1, name[1]]))
    return out


def _compare(sb: StateBytes, partner: Partner, frames: dict, ts, values, t: StateThresholds):
    """Per frame: is the partner compared (both held values, partner fresh), and does a
    contradiction that has lasted ``settle_s`` stand?"""
    pts, pvalues = _partner_values(sb, partner.other, frames)
    at = np.searchsorted(pts, ts, side="right") - 1
    fresh = (at >= 0) & (ts - pts[np.maximum(at, 0)] <= t.stale_s)
    theirs = pvalues[np.maximum(at, 0)]
    expected = partner.mapping[values]
    seen = fresh & (expected >= 0) & np.isin(theirs, partner.mapping[partner.mapping >= 0])
    contra = seen & (expected != theirs)
    idx = np.arange(len(ts))
    last_fit = np.maximum.accumulate(np.where(~contra, idx, -1))
    starts = ts[np.minimum(last_fit + 1, len(ts) - 1)]  # when each frame's run of contradictions began
    if partner.since is not None:
        starts[last_fit < 0] = partner.since  # a run carried over from the last batch
    partner.since = float(starts[-1]) if contra[-1] else None
    return seen, contra & (ts - starts >= t.settle_s)


def _partner_values(sb: StateBytes, other: Byte, frames: dict) -> tuple[np.ndarray, np.ndarray]:
    last_t, last_v = sb.latest.get(other, (-np.inf, -1))
    ts, values = np.array([last_t]), np.array([last_v], np.int16)
    if other[0] in frames:
        fts, data = frames[other[0]]
        ts, values = np.concatenate([ts, fts]), np.concatenate([values, data[:, other[1]].astype(np.int16)])
    return ts, values
