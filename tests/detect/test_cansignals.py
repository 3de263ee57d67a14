"""Signals of different ids that move together, and how fast each changes (can.signals)."""

from __future__ import annotations

import math

import cantools

from ..builders import candump_line, write_log
from .conftest import run_monitor

DBC = '''VERSION ""
NS_ :
BS_:
BU_: ECU
BO_ 256 Motion: 8 ECU
 SG_ Speed : 0|16@1+ (0.01,0) [0|300] "km/h" ECU
BO_ 257 Wheels: 8 ECU
 SG_ WheelFL : 0|16@1+ (0.01,0) [0|300] "km/h" ECU
 SG_ WheelFR : 16|16@1+ (0.01,0) [0|300] "km/h" ECU
BO_ 258 Fix: 8 ECU
 SG_ Lat : 0|32@1- (1e-07,0) [-90|90] "deg" ECU
BO_ 259 FixLon: 8 ECU
 SG_ Lon : 0|32@1- (1e-07,0) [-180|180] "deg" ECU
'''


def _speed(t: float) -> float:
    return 50 + 30 * math.sin(t / 8)  # km/h: accelerating and braking


def _drive(tmp_path, forge=lambda t: None, seconds: float = 120.0):
    (tmp_path / "car.dbc").write_text(DBC)
    db = cantools.database.load_file(str(tmp_path / "car.dbc"))
    motion, wheels, fix, lon = (db.get_message_by_name(n) for n in ("Motion", "Wheels", "Fix", "FixLon"))
    lines = []
    for k in range(int(seconds * 50)):
        t = 1_700_000_000 + k / 50
        v = _speed(k / 50)
        forged = forge(k / 50)
        wheel = v * 1.01 if forged is None else forged
        lines.append(candump_line(t, "can0", wheels.frame_id, wheels.encode({"WheelFL": wheel, "WheelFR": wheel})))
        if k % 5 == 0:
            lines.append(candump_line(t + 0.003, "can0", motion.frame_id, motion.encode({"Speed": round(v, 2)})))
            lines.append(candump_line(t + 0.004, "can0", fix.frame_id, fix.encode({"Lat": 48.1 + k * 2e-6})))
            lines.append(candump_line(t + 0.005, "can0", lon.frame_id, lon.encode({"Lon": 11.5 + k * 3e-6})))
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 1\ndbc: [{tmp_path / 'car.dbc'}]\ndetectors: {{can: {{learn_s: 60}}}}\n")
    return run_monitor(can_logs=[write_log(tmp_path / "can.log", lines)], config=config)


def test_a_genuine_drive_learns_the_pairs_and_raises_nothing(tmp_path):
    findings, monitor = _drive(tmp_path)
    assert findings == []
    stats = monitor.summary()["detectors"]["can_signals"]
    assert stats["pairs_learned"] == 2  # Speed with each wheel (one message: wheels not paired); not latitude with longitude
    assert stats["frames_compared"] > 0


def test_wheel_speeds_forged_at_half_the_speed_break_their_pairs(tmp_path):
    findings, _ = _drive(tmp_path, forge=lambda t: _speed(t) * 0.5 if 80 <= t < 100 else None)
    pairs = [f for f in findings if "no longer moves with" in f.seen]
    assert pairs and all(f.detector == "can.signals" for f in pairs)
    assert {f.evidence["partner"] for f in pairs} >= {"Motion.Speed"}
    assert all(f.can["first_ts"] >= 1_700_000_080 for f in pairs)


def test_a_speed_that_drops_to_zero_at_once_is_a_jump(tmp_path):
    findings, _ = _drive(tmp_path, forge=lambda t: 0.0 if 80 <= t < 100 else None)
    jumps = [f for f in findings if "faster than a vehicle brakes or accelerates" in f.seen]
    assert jumps and jumps[0].evidence["to"] == 0.0 and jumps[0].evidence["rate_per_s"] > 100
    assert jumps[0].evidence["bound"] == "physics" and jumps[0].can["first_ts"] >= 1_700_000_080


def test_the_return_to_the_true_speed_agrees_with_the_partner_and_is_no_jump(tmp_path):
    """Both wheels jump to 0 at 80 s while Speed does not (two jumps); at 100 s they jump back onto
    Speed's line: a pair that agrees is no forgery."""
    _, monitor = _drive(tmp_path, forge=lambda t: 0.0 if 80 <= t < 100 else None)
    stats = monitor.summary()["detectors"]["can_signals"]
    assert stats["jumps"] == 2 and stats["jumps_partner_agrees"] == 2


def test_a_brief_mismatch_is_not_a_masquerade(tmp_path):
    """Four frames off the line (a wheel locking for 80 ms) are fewer than min_frames."""
    findings, _ = _drive(tmp_path, forge=lambda t: _speed(t) * 0.7 if 80 <= t < 80.08 else None)
    assert [f for f in findings if "no longer moves with" in f.seen] == []


def test_float_signals_with_nan_and_huge_values_raise_nothing(tmp_path):
    """IEEE float signals fed random payloads (NaN, infinities, 1e38) while learning and after."""
    import random

    dbc = DBC + 'BO_ 260 Raw: 8 ECU\n SG_ RawSpeed : 0|32@1- (1,0) [0|0] "km/h" ECU\n SG_ RawOther : 32|32@1- (1,0) [0|0] "km/h" ECU\n'
    dbc += "SIG_VALTYPE_ 260 RawSpeed : 1;\nSIG_VALTYPE_ 260 RawOther : 1;\n"
    (tmp_path / "car.dbc").write_text(dbc)
    rng = random.Random(3)
    lines = [candump_line(1_700_000_000 + k / 50, "can0", 260, rng.randbytes(8)) for k in range(6000)]
    lines += [candump_line(1_700_000_000 + k / 50 + 0.001, "can0", 256, bytes([k % 250, 0, 0, 0, 0, 0, 0, 0]))
              for k in range(6000)]
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 1\ndbc: [{tmp_path / 'car.dbc'}]\ndetectors: {{can: {{learn_s: 60}}}}\n")
    _, monitor = run_monitor(can_logs=[write_log(tmp_path / "can.log", sorted(lines))], config=config)
    assert monitor.summary()["detector_errors"] == {}
