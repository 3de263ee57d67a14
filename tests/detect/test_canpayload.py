"""The payload models per CAN id (can.payload): masquerade and fabrication on known ids."""

from __future__ import annotations

from monitor.config.model import Thresholds
from monitor.detect import threshold_sections
from monitor.detect.canpayload import PayloadModels, PayloadThresholds
from monitor.detect.canside import CanThresholds
from monitor.state import VehicleState

from ..builders import can_view, candump_line, write_log
from ..builders import frame_batch as _frames
from .conftest import run_monitor


def _detector(learn_s: float = 10.0, **payload) -> PayloadModels:
    thresholds = Thresholds.defaults(threshold_sections()).with_sections(
        can=CanThresholds(learn_s=learn_s), can_payload=PayloadThresholds(**payload))
    detector = PayloadModels()
    detector.configure(thresholds)
    return detector


def _run(detector: PayloadModels, batch) -> list:
    return detector.on_can(can_view(batch), VehicleState())


def _speed_frame(t: float, speed: int, gear: int = 2, lamp: int = 0) -> tuple[float, int, bytes]:
    """An id at 10 Hz with a rolling counter, a speed, a gear and a lamp that follows the gear,
    and a constant byte."""
    counter = round(t * 10) & 0x0F
    return t, 0x123, bytes([counter, speed & 0xFF, gear, 0x40 | lamp, 0x5A, 0, 0, 0])


def _speed(k: int) -> int:
    return 40 + (k // 3) % 30  # steps of 0 and +1, and the wrap


def _learning(seconds: float = 10.0) -> list:
    rows = []
    for k in range(int(seconds * 10)):
        gear = 2 if k % 40 < 20 else 4  # both gears in both halves of learning
        rows.append(_speed_frame(k / 10, _speed(k), gear, lamp=int(gear == 4)))
    return rows


def _genuine(start: float, end: float, speed: int = 45) -> list:
    return [_speed_frame(round(start + k / 10, 2), speed) for k in range(round((end - start) * 10))]


def test_a_masquerade_that_breaks_stable_bytes_is_flagged_and_the_genuine_sender_is_not():
    detector = _detector(min_score=8)
    assert _run(detector, _frames(_learning())) == []
    genuine = [_speed_frame(10 + k / 10, _speed(k), 2) for k in range(100)]
    assert _run(detector, _frames(genuine)) == []
    forged = [(t, i, bytes([d[0], 0, 9, 0x00, 0x00, 0, 0, 0])) for t, i, d in
              (_speed_frame(20 + k / 10, 0) for k in range(20))]
    found = _run(detector, _frames(forged))
    assert [f.detector for f in found] == ["can.payload"]
    assert set(found[0].evidence["bytes_broken"]) >= {3, 4}
    assert found[0].evidence["frames_over"] == 20


def test_a_combination_never_seen_together_counts_and_so_does_an_extra_frame_in_a_window():
    detector = _detector(min_score=100)  # only the confirmed path can flag here
    _run(detector, _frames(_learning() + _genuine(10, 12)))
    t, frame_id, data = _speed_frame(12.0, 45, gear=4, lamp=0)
    odd = (t + 0.05, frame_id, data)  # gear and lamp known, never together; the counter repeats
    scores: list = []
    detector.scored = lambda bus, ts, keys, s, flagged: scores.append((s.tolist(), flagged.tolist()))
    _run(detector, _frames(sorted(_genuine(12, 12.5) + [odd])))
    (frame_scores, flagged), = scores
    assert frame_scores[1] > 0 and sum(1 for s in frame_scores if s > 0) == 1
    assert flagged == [False, True, False, False, False, False]  # the window now has 6 frames: learned at most 5


def test_the_running_window_count_carries_over_batches():
    detector = _detector(min_score=100, confirm_score=1.0)
    _run(detector, _frames(_learning() + _genuine(10, 13)))
    flags: list = []
    detector.scored = lambda bus, ts, keys, s, flagged: flags.extend(flagged.tolist())
    window = _genuine(13, 13.5) + [(13.45, 0x123, bytes(8))]
    _run(detector, _frames(window[:3]))
    _run(detector, _frames(window[3:]))
    assert flags == [False] * 3 + [False, False, True]  # the earlier batch's frames are not judged again


def test_idle_without_learning_and_through_the_pipeline_with_it(tmp_path, project):
    assert _run(_detector(learn_s=0.0), _frames(_learning())) == []
    lines = [candump_line(t, "can0", i, d) for t, i, d in _learning(30.0)]
    lines += [candump_line(30 + k / 10, "can0", 0x123, bytes([0, 0, 9, 0, 0, 0, 0, 0])) for k in range(10)]
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 1\nextends: {project / 'policies' / 'default.yaml'}\n"
                      "detectors: {can: {learn_s: 30}, can_payload: {min_score: 8}}\n")
    findings, monitor = run_monitor(can_logs=[write_log(tmp_path / "can.log", lines)], config=config)
    assert [f.detector for f in findings] == ["can.payload"]
    assert monitor.summary()["detectors"]["can_payload"]["ids_modelled"] == 1


def test_an_extra_frame_on_a_change_of_state_is_not_two_senders():
    """An ECU that sends one extra frame when its state changes and keeps the new state: crowded,
    and novel, but no frame of the window fits the old model, so nothing is flagged."""
    detector = _detector(min_score=100)
    _run(detector, _frames(_learning()))
    flags: list = []
    detector.scored = lambda bus, ts, keys, s, flagged: flags.extend(flagged.tolist())
    changed = [(14.0 + k / 10 + (0.02 if k else 0.0), 0x123, bytes([0, 45, 2, 0x40, 0x5B, 0, 0, 0])) for k in range(5)]
    _run(detector, _frames(changed + [(14.01, 0x123, bytes([0, 45, 2, 0x40, 0x5B, 0, 0, 0]))]))
    assert len(flags) == 6 and not any(flags)


def test_a_forger_that_does_not_roll_the_counter_and_a_value_far_out_of_range_are_flagged():
    detector = _detector(min_score=3)
    _run(detector, _frames(_learning() + _genuine(10, 20)))
    stuck = [(20 + k / 10, 0x123, bytes([7, 45, 2, 0x40, 0x5A, 0, 0, 0])) for k in range(10)]
    found = _run(detector, _frames(stuck))  # every value known; the counter byte stops stepping
    assert [f.detector for f in found] == ["can.payload"] and found[0].evidence["bytes_broken"] == [0]
    detector = _detector(min_score=0.5)
    _run(detector, _frames(_learning() + _genuine(10, 20)))
    found = _run(detector, _frames(_genuine(20, 20.3, speed=250)))  # speed learned in 40-69
    assert [f.detector for f in found] == ["can.payload"] and found[0].evidence["bytes_broken"] == [1]


def test_a_flood_of_random_ids_while_learning_is_bounded():
    import random

    rng = random.Random(5)
    detector = _detector(max_ids=64)
    flood = [(k / 1000, rng.getrandbits(11), rng.randbytes(8)) for k in range(5000)]
    _run(detector, _frames(flood))
    _run(detector, _frames([(11.0, 0x123, bytes(8))]))  # learning ends: the models are built
    assert detector.stats()["ids_modelled"] <= 64 and detector.stats()["learning_ids_not_modelled"] > 0


def test_a_state_masquerade_through_the_pipeline_names_the_rule_and_the_thresholds_load(tmp_path, project):
    """A reverse lamp forged off while three gear messages say reverse, replayed from a candump
    log with the rules' sections set in the configuration: one can.payload finding on the lamp's
    id, saying the states rule flagged its frames."""
    from .test_canstates import LAMP, _frames as state_frames

    def lines(frames: dict) -> list:
        return [candump_line(float(t), "can0", key, bytes(d)) for key, (ts, data) in frames.items() for t, d in zip(ts, data)]

    log = lines(state_frames(0.0, 16.0, lambda t: "R" if 3.3 <= t < 9.0 else "P"))
    log += lines(state_frames(16.0, 20.0, lambda t: "R", lamp_at=lambda t: "R" if t < 18.0 else "P"))
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 1\nextends: {project / 'policies' / 'default.yaml'}\n"
                      "detectors: {can: {learn_s: 16}, can_clock: {spreads: 8}, can_states: {min_partners: 3},"
                      " can_fields: {min_broken: 2}}\n")
    findings, monitor = run_monitor(can_logs=[write_log(tmp_path / "can.log", log)], config=config)
    assert [(f.detector, f.can["ids"]) for f in findings] == [("can.payload", [f"0x{LAMP:X}"])]
    assert set(findings[0].evidence["frames_per_rule"]) == {"states"} and findings[0].ts >= 18.2
    assert monitor.summary()["detectors"]["can_payload"]["state_bytes_paired"] >= 4
