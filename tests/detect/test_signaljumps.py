"""How far one decoded signal may move between frames (the jump rule of can.signals)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detect.cansignals import SignalThresholds
from monitor.detect.signaljumps import allowed_step, jumped, learn_steps, per_mps

T = SignalThresholds()


def _learned(values: np.ndarray, unit: str, hz: float = 50.0):
    ts = np.arange(len(values)) / hz
    return learn_steps({("M", "s"): (ts, values)}, {("M", "s"): unit}, T)[("M", "s")]


@pytest.mark.parametrize("unit,expected", [("km/h", 3.6), ("KM/H", 3.6), ("m/s", 1.0), ("mph", 2.236936),
                                           ("kn", 1.943844), ("rpm", None), ("km", None), ("", None)])
def test_speed_units_from_the_dbc(unit, expected):
    assert per_mps(unit) == expected


def test_a_speed_held_exactly_while_learning_is_still_judged_by_physics():
    model = _learned(np.full(3000, 100.0), "km/h")
    assert model.span == 0 and model.largest_step == 0
    step = allowed_step(model, np.array([0.02, 0.25, 1.0]), T)
    assert step == pytest.approx([12 * 3.6 * 0.25, 12 * 3.6 * 0.25, 12 * 3.6])  # the sensor's hold floors the interval


def test_a_constant_non_speed_signal_learns_nothing():
    ts = np.arange(3000) / 50
    assert learn_steps({("M", "v"): (ts, np.full(3000, 12.0))}, {("M", "v"): "V"}, T) == {}


def test_braking_hard_is_within_physics_and_a_reading_of_zero_is_not():
    rng = np.random.default_rng(1)
    model = _learned(100 + rng.normal(0, 0.05, 3000), "km/h")
    dt = np.full(3, 0.02)
    before, after = np.array([100.0, 100.0, 40.0]), np.array([96.0, 0.0, 26.0])  # 10 m/s^2 on a 10 Hz sensor; 0; x0.65
    assert jumped(model, before, after, dt, T).tolist() == [False, True, True]


def test_a_metre_per_second_speed_is_bounded_in_its_own_unit():
    model = _learned(np.linspace(20, 21, 3000), "m/s")
    assert jumped(model, np.array([25.0, 25.0]), np.array([23.0, 12.5]), np.full(2, 0.02), T).tolist() == [False, True]


def test_another_signal_that_was_calm_while_learning_may_move_faster_later_but_not_reset():
    rng = np.random.default_rng(2)
    model = _learned(1500 + np.cumsum(rng.normal(0, 0.02, 3000)), "km")  # an odometer barely moving
    before, after = np.array([1500.0, 1500.0, 1500.0]), np.array([1510.0, 0.0, 900.0])
    assert jumped(model, before, after, np.full(3, 0.1), T).tolist() == [False, True, True]
