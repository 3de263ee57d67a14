"""One state carried by several ids (canstates): a forged reverse lamp that contradicts the gear
in three messages is the forged one; a genuine shift, a slow partner and a lone witness are not."""

from __future__ import annotations

import numpy as np

from monitor.detect import canstates
from monitor.detect.canstates import StateThresholds

T = StateThresholds()
GEAR_A, GEAR_C, GEAR_D, LAMP = 0x0C0, 0x295, 0x5AF, 0x0D0
CODES = {GEAR_A: {"P": 0x00, "R": 0x20}, GEAR_C: {"P": 0x00, "R": 0x08}, GEAR_D: {"P": 0x00, "R": 0xC0},
         LAMP: {"P": 0x04, "R": 0x0C}}
PERIOD = {GEAR_A: 0.02, GEAR_C: 0.05, GEAR_D: 0.1, LAMP: 0.01}


def _frames(start: float, end: float, gear_at, lamp_at=None) -> dict:
    """Each id's (ts, data) from ``start`` to ``end``: byte 0 (gear ids) or byte 2 (lamp) carries the
    state ``gear_at(t)`` (the lamp ``lamp_at(t)`` when given), byte 1 counts, byte 3 cycles a
    multiplex index every frame, byte 4 a slow temperature."""
    out = {}
    for key, codes in CODES.items():
        ts = np.arange(start, end, PERIOD[key]) + 0.001 * (key % 7)
        data = np.zeros((len(ts), 8), np.uint8)
        state = [(lamp_at or gear_at)(t) if key == LAMP else gear_at(t) for t in ts.tolist()]
        data[:, 2 if key == LAMP else 0] = [codes[s] for s in state]
        data[:, 1] = np.arange(len(ts)) % 16
        data[:, 3] = np.arange(len(ts)) % 4
        data[:, 4] = 80 + (ts // 7).astype(int)
        out[key] = (ts, data)
    return out


def _learned() -> canstates.StateBytes:
    return canstates.learn(_frames(0.0, 16.0, lambda t: "R" if 3.3 <= t < 9.0 else "P"), T)


def _judge(sb, frames: dict, suspects=frozenset()) -> dict:
    return canstates.forged(sb, frames, T, suspects)


def test_the_gear_and_the_lamp_are_partners_and_counters_and_multiplex_indexes_are_no_states():
    sb = _learned()
    lamp = sb.partners[(LAMP, 2)]
    assert {p.other for p in lamp} == {(GEAR_A, 0), (GEAR_C, 0), (GEAR_D, 0)}
    assert {p.mapping[0x0C] for p in lamp} == {0x20, 0x08, 0xC0}
    assert not any(b in (1, 3) for _, b in sb.partners)  # a counter and a multiplex index change every frame


def test_a_lamp_forged_off_in_reverse_is_flagged_and_the_gear_messages_are_not():
    sb = _learned()
    _judge(sb, _frames(16.0, 20.0, lambda t: "P"))
    flags = _judge(sb, _frames(20.0, 24.0, lambda t: "R", lamp_at=lambda t: "R" if t < 21.0 else "P"))
    ts = _frames(20.0, 24.0, lambda t: "R")[LAMP][0]
    lamp = flags[LAMP]
    assert not lamp[ts < 21.0 + T.settle_s].any()  # a contradiction counts once it lasted settle_s
    assert lamp[ts >= 21.0 + T.settle_s + 0.02].all()
    assert not any(flags[key].any() for key in (GEAR_A, GEAR_C, GEAR_D))


def test_a_genuine_shift_with_a_partner_a_little_late_is_no_contradiction():
    sb = _learned()
    _judge(sb, _frames(16.0, 20.0, lambda t: "P"))
    late = _frames(20.0, 24.0, lambda t: "R" if t >= 21.0 else "P")
    slow = _frames(20.0, 24.0, lambda t: "R" if t >= 21.15 else "P")  # one ECU follows 150 ms later
    late[GEAR_D] = slow[GEAR_D]
    flags = _judge(sb, late)
    assert not any(f.any() for f in flags.values())


def test_witnesses_flagged_by_other_rules_do_not_count_and_the_latest_values_carry_over():
    sb = _learned()
    _judge(sb, _frames(16.0, 20.0, lambda t: "R"))
    lamp_only = {LAMP: _frames(20.0, 20.5, lambda t: "P")[LAMP]}  # the gear ids sent nothing in this batch
    flags = _judge(sb, lamp_only)
    ts = lamp_only[LAMP][0]
    assert flags[LAMP][ts >= 20.0 + T.settle_s + 0.02].all()  # against the gear values of the last batch
    sb = _learned()
    _judge(sb, _frames(16.0, 20.0, lambda t: "R"))
    flags = _judge(sb, lamp_only, suspects={GEAR_C, GEAR_D})
    assert not flags[LAMP].any()  # one witness left: not enough


def test_state_bytes_beyond_the_bound_are_counted_not_dropped_silently():
    frames = _frames(0.0, 16.0, lambda t: "R" if 3.3 <= t < 9.0 else "P")
    assert canstates.learn(frames, StateThresholds(max_bytes=2)).not_paired >= 2
    assert canstates.learn(frames, T).not_paired == 0
