"""Numeric fields paired with no DBC (canfields): four wheel speeds in one id, a vehicle speed in
two others; a forged wheel message is blamed, a carry across a byte and a saturated byte are not."""

from __future__ import annotations

import numpy as np

from monitor.detect import canfields
from monitor.detect.canfields import FieldThresholds

T = FieldThresholds()
WHEELS, SPEED_A, SPEED_B = 0x6E0, 0x20E, 0x2A3


def _speed(t: np.ndarray) -> np.ndarray:
    """A drive whose speed (in 0.01 km/h) swings between 10 and 40 km/h, and crosses 0x0500."""
    return 2500 + 1500 * np.sin(t / 3)


def _frames(start: float, end: float, seed: int, wheels=None) -> dict:
    """The wheel id (four big-endian 16-bit speeds, 100 Hz), and two ids (50 Hz and 20 Hz) with the
    speed big-endian in bytes 2-3 and again in byte 6 (in 0.2 km/h), next to a counter and a flag byte."""
    rng = np.random.default_rng(seed)
    out = {}
    ts = np.arange(start, end, 0.01)
    speeds = _speed(ts)[:, None] * np.array([1.0, 1.01, 0.99, 1.0]) + rng.normal(0, 3, (len(ts), 4))
    words = np.clip(speeds, 0, 65535).astype(np.uint16) if wheels is None else np.tile(np.array(wheels, np.uint16), (len(ts), 1))
    data = np.zeros((len(ts), 8), np.uint8)
    data[:, 0::2], data[:, 1::2] = words >> 8, words & 0xFF
    out[WHEELS] = (ts, data)
    for key, period in ((SPEED_A, 0.02), (SPEED_B, 0.05)):
        ts = np.arange(start, end, period) + 0.003
        data = np.zeros((len(ts), 8), np.uint8)
        speed = _speed(ts) + rng.normal(0, 3, len(ts))
        data[:, 2], data[:, 3] = speed.astype(np.uint16) >> 8, speed.astype(np.uint16) & 0xFF
        data[:, 6] = np.clip(speed / 20, 0, 255).astype(np.uint8)
        data[:, 0] = np.arange(len(ts)) % 256
        data[:, 5] = rng.choice([0x3F, 0xBF], len(ts))
        out[key] = (ts, data)
    return out


def _judge(bf, start: float, end: float, seed: int, step: float = 0.25, **kwargs) -> dict:
    """The flags per id over consecutive batches of ``step`` seconds."""
    frames = _frames(start, end, seed, **kwargs)
    flags: dict = {key: [] for key in frames}
    for t in np.arange(start, end, step):
        part = {key: (ts[(ts >= t) & (ts < t + step)], data[(ts >= t) & (ts < t + step)]) for key, (ts, data) in frames.items()}
        part = {key: v for key, v in part.items() if len(v[0])}
        out = canfields.forged(bf, part, T)
        for key in part:
            flags[key].append(out.get(key, np.zeros(len(part[key][0]), bool)))
    return {key: np.concatenate(f) for key, f in flags.items()}


def test_wheel_speeds_pair_inside_their_id_and_with_the_vehicle_speed_and_counters_do_not():
    bf = canfields.learn(_frames(0.0, 20.0, seed=1), T)
    inside = {(p.x[1], p.y[1]) for p in bf.pairs if p.x[0] == p.y[0] == WHEELS}
    assert ("be16@0", "be16@2") in inside and ("be16@4", "be16@6") in inside
    assert any(p.x[0] == WHEELS and p.y[0] == SPEED_A for p in bf.pairs)
    assert any(p.x[0] == SPEED_A and p.y[0] == SPEED_B and p.x[2] == (6, 7) for p in bf.pairs)  # byte 6 read with 7 (0)
    assert not any("@0" in p.x[1] and p.x[0] != WHEELS for p in bf.pairs)  # a counter wraps: no field


def test_the_genuine_drive_goes_on_without_a_flag_across_byte_carries():
    bf = canfields.learn(_frames(0.0, 20.0, seed=1), T)
    flags = _judge(bf, 20.0, 60.0, seed=2)  # the wheel words cross 0x04FF/0x0500 many times
    assert not any(f.any() for f in flags.values())


def test_wheel_speeds_forged_to_constants_are_blamed_on_the_wheel_id_only():
    bf = canfields.learn(_frames(0.0, 20.0, seed=1), T)
    _judge(bf, 20.0, 22.0, seed=2)
    flags = _judge(bf, 22.0, 26.0, seed=3, wheels=(0x5959, 0x4545, 0x0000, 0xFFFF))
    assert flags[WHEELS][T.min_frames:].all()
    assert not flags[SPEED_A].any() and not flags[SPEED_B].any()


def test_one_speed_forged_is_blamed_by_two_witnesses():
    bf = canfields.learn(_frames(0.0, 20.0, seed=1), T)
    _judge(bf, 20.0, 22.0, seed=2)
    frames = _frames(22.0, 24.0, seed=3)
    ts, data = frames[SPEED_B]
    forged = data.copy()
    forged[:, 2], forged[:, 3], forged[:, 6] = 0, 200, 10  # the speed of SPEED_B forged to almost nothing
    flags = canfields.forged(bf, {**frames, SPEED_B: (ts, forged)}, T)
    assert flags[SPEED_B][T.min_frames:].all() and not flags[SPEED_A].any() and not flags[WHEELS].any()


def test_a_byte_at_full_scale_is_not_compared():
    """A speed byte at 0xFF says "at least this" (a sensor saturated), not a value off the line."""
    a, b, c = (0x100, "u8@0", (0,)), (0x200, "u8@0", (0,)), (0x300, "u8@0", (0,))
    ts = np.arange(10) * 0.01

    def judge(value: int) -> np.ndarray:
        pairs = [canfields.FieldPair(x, b, 1.0, 0.0, 1.0, 1.0, 1.0) for x in (a, c)]
        bf = canfields.BusFields(pairs, {a: (0.0, 100.0), b: (0.0, 100.0), c: (0.0, 100.0)})
        frames = {key: (ts, np.full((10, 8), 100 if key != 0x200 else value, np.uint8)) for key in (0x100, 0x200, 0x300)}
        return canfields.forged(bf, frames, T)[0x200]

    assert judge(10)[T.min_frames - 1:].all()
    assert not judge(0xFF).any()


def test_what_the_bounds_cut_is_counted():
    bf = canfields.learn(_frames(0.0, 20.0, seed=1), FieldThresholds(max_fields=8, max_pairs=1))
    assert bf.left_out["fields_not_paired"] > 0 and bf.left_out["field_pairs_not_kept"] > 0 and len(bf.pairs) == 1
    assert canfields.learn(_frames(0.0, 20.0, seed=1), T).left_out == {}
