"""The range check's cached signal sets (canside.Ranged) against the check as it was written
before them (one column_stack per message, a present-mask lookup per signal): the same
findings, in the same order, and the same counts, on the Model 3 DBC (27 multiplexed signals)
with random payloads, short frames and ids it does not hold, over several batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.canbus.dbc import load_dbc
from monitor.canbus.decode import decode_batch
from monitor.canbus.plan import compile_plan
from monitor.config.model import Thresholds
from monitor.detect import threshold_sections
from monitor.detect.canside import CanRules
from monitor.detect.canview import CanView

from ..builders import frame_batch

DBC = Path(__file__).parents[2] / "dbc" / "opendbc" / "tesla_model3_party.dbc"
PLAN = compile_plan([(load_dbc(DBC), DBC.name)])
IDS = [m.frame_id for m in PLAN.messages if not m.is_extended]


class AsWritten(CanRules):
    """The range check before its signal sets were cached: the reference."""

    def _ranges(self, view):
        found = []
        for cols in view.decoded.messages:
            signals = [s for node in cols.message.root.walk() for s in node.signals
                       if s.minimum is not None and s.name in cols.values]
            if not signals or not len(cols.rows):
                continue
            values = np.column_stack([cols.values[sig.name] for sig in signals])
            low, high = np.array([s.minimum for s in signals]), np.array([s.maximum for s in signals])
            with np.errstate(invalid="ignore"):
                bad = (values < low) | (values > high)
            for k, sig in enumerate(signals):
                present = cols.present.get(sig.name)
                if present is not None:
                    bad[:, k] &= present
            for k in np.flatnonzero(bad.any(0)).tolist():
                found += self._range_finding(view, cols, signals[k], cols.values[signals[k].name], bad[:, k])
        return found


def _rules(cls) -> CanRules:
    rules = cls()
    rules.configure(Thresholds.defaults(threshold_sections()))
    return rules


FRAME = st.tuples(st.one_of(st.sampled_from(IDS), st.integers(0, 0x7FF)),
                  st.binary(min_size=0, max_size=8), st.booleans())
BATCHES = st.lists(st.lists(FRAME, min_size=1, max_size=40), min_size=1, max_size=4)


def _view(frames, t0: float) -> CanView:
    rows = []
    for k, (frame_id, data, extreme) in enumerate(frames):
        rows.append((t0 + k * 0.001, frame_id, (b"\xff" * len(data)) if extreme else data))
    batch = frame_batch(rows)
    return CanView(batch, decode_batch(PLAN, batch), PLAN)


def _as_tuples(findings) -> list:
    return [(f.ts, f.detector, f.seen, f.can, f.evidence) for f in findings]


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_cached_range_check_finds_what_the_written_one_does(batches):
    ours, reference = _rules(CanRules), _rules(AsWritten)
    for n, frames in enumerate(batches):
        view = _view(frames, 100.0 + n)
        assert _as_tuples(ours._ranges(view)) == _as_tuples(reference._ranges(view))
    assert ours.counts == reference.counts
    assert ours.range_seen == reference.range_seen


def test_a_violation_is_found_once_per_signal():
    rules = _rules(CanRules)
    frames = [(fid, b"\xff" * 8, False) for fid in IDS[:40]]
    first = rules._ranges(_view(frames, 10.0))
    assert first, "all-ones payloads leave some DBC range"
    violations = rules.counts["range_violations"]
    assert violations >= len(first)
    assert rules._ranges(_view(frames, 11.0)) == []  # counted, not reported again
    assert rules.counts["range_violations"] == 2 * violations


@settings(max_examples=100, deadline=None)
@given(st.lists(FRAME, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_masks_and_extreme_values_as_the_written_check(frames, rnd):
    """Each decoded column replaced by extreme values (NaN, infinities, values at and beyond the
    bounds) and given a random present mask, or none: the masks decide what counts."""
    view = _view(frames, 50.0)
    pool = [float("nan"), float("inf"), float("-inf"), 0.0, -1e300, 1e300, -1.0, 1.0, 255.0, 1e6]
    for cols in view.decoded.messages:
        for name in list(cols.values):
            n = len(cols.values[name])
            cols.values[name] = np.array([rnd.choice(pool) for _ in range(n)])
            cols.present[name] = None if rnd.random() < 0.3 else np.array([rnd.random() < 0.5 for _ in range(n)], bool)
    ours, reference = _rules(CanRules), _rules(AsWritten)
    assert _as_tuples(ours._ranges(view)) == _as_tuples(reference._ranges(view))
    assert ours.counts == reference.counts
