"""What the CAN rules learn when ``can.learn_s`` is set: rates with a tolerance for fast ids, and
unknown ids flagged only when corroborated (a rare id the learning period missed is no attack)."""

from __future__ import annotations

from monitor.config.model import Thresholds
from monitor.detect import threshold_sections
from monitor.detect.canside import CanRules, CanThresholds
from monitor.state import VehicleState

from ..builders import can_view, frame_batch


def _rules(**can) -> CanRules:
    rules = CanRules()
    rules.configure(Thresholds.defaults(threshold_sections()).with_sections(can=CanThresholds(learn_s=5.0, **can)))
    return rules


def _periodic(frame_id: int, start: float, end: float, hz: float) -> list:
    return [(start + k / hz, frame_id, bytes(8)) for k in range(int((end - start) * hz))]


def _detectors(rules: CanRules, rows: list) -> list[str]:
    found = rules.on_can(can_view(frame_batch(sorted(rows))), VehicleState())
    return [f.detector for f in found + rules.finish(VehicleState())]


def test_a_rare_id_the_learning_missed_needs_corroboration():
    learning = _periodic(0x100, 0, 5, 20)
    rare = [(7.1, 0x671, bytes(8)), (19.3, 0x671, bytes(8))]
    assert _detectors(_rules(), learning + _periodic(0x100, 5, 20, 20) + rare) == []
    third = rare + [(23.0, 0x671, bytes(8))]
    assert _detectors(_rules(), learning + _periodic(0x100, 5, 25, 20) + third) == ["can.unknown_id"]


def test_a_flood_of_distinct_unknown_ids_in_one_window_is_flagged():
    rules = _rules()
    flood = [(8.0 + k * 0.01, 0x700 + k, b"\xff" * 8) for k in range(3)]
    assert _detectors(rules, _periodic(0x100, 0, 10, 20) + flood) == ["can.unknown_id"] * 3
    assert rules.stats().get("unknown_id_frames_uncorroborated", 0) == 0


def test_without_learning_an_id_in_no_dbc_is_flagged_at_once():
    rules = CanRules()
    rules.configure(Thresholds.defaults(threshold_sections()).with_sections(can=CanThresholds(known_ids={"can0": [0x100]})))
    assert _detectors(rules, [(1.0, 0x100, bytes(8)), (1.5, 0x671, bytes(8))]) == ["can.unknown_id"]


def test_a_fast_id_may_exceed_its_learned_count_by_a_tenth():
    learning = _periodic(0x0A0, 0, 5, 80)  # 40 per 0.5 s window
    jitter = [(6.0 + k * 0.5 / 44, 0x0A0, bytes(8)) for k in range(44)]  # 44: within 40 x 1.1 + 1
    assert _detectors(_rules(), learning + jitter) == []
    doubled = [(6.0 + k * 0.5 / 80, 0x0A0, bytes(8)) for k in range(80)]
    assert _detectors(_rules(), learning + doubled) == ["can.timing"]


def test_an_id_seen_only_a_few_times_while_learning_has_no_learned_rate():
    """An event-driven id (three frames while learning) that later sends at 10 Hz: no timing
    finding, since three frames tell no rate; with enough frames the same burst is one."""
    learning = _periodic(0x100, 0, 5, 20) + [(1.0, 0x025, bytes(8)), (2.5, 0x025, bytes(8)), (4.0, 0x025, bytes(8))]
    burst = _periodic(0x025, 8, 10, 10)
    assert _detectors(_rules(), learning + burst) == []
    assert _detectors(_rules(min_learning_frames=3), learning + burst) == ["can.timing"]
