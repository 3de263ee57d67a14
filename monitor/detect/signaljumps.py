"""How far one decoded signal may move from one frame to the next: the jump rule of
``can.signals`` (``cansignals.py``), learned in ``can.learn_s`` and judged per frame.

A signal's own learned fastest change is no bound on its own: a motorway drive learns in a
steady cruise, and the first real acceleration afterwards is then "the fastest change ever". So
each step is judged against what may bound it:

- a speed (the DBC unit says km/h, m/s, mph or knots) against physics: no road vehicle changes
  speed by more than ``max_accel`` (12 m/s^2, past what tyres give on a dry road) for longer than
  an instant, and a sensor that refreshes slower than its frame is sent shows that change in one
  step, so the step allowed is ``max_accel`` times the frame interval floored at ``hold_s``,
  plus the largest step seen while learning (noise, quantisation). A wheel read as 0 at 30 km/h,
  or at half or one and a half times the speed, jumps further; braking and accelerating never do;
- any other signal against what it did while learning: ``max_rate`` times its fastest change per
  second, more than ``min_jump`` of its learned range, and more than ``min_relative_jump`` of its
  own value (a reset, a reading zeroed or scaled), since a signal that was calm while learning
  may still move faster later without being forged.

A jump of a signal whose learned partner (``cansignals.Pair``) still agrees with the new value is
no forgery (``cansignals.py`` checks that before it reports one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# DBC unit (lower case, spaces removed) -> that unit per m/s
SPEED_UNITS = {"km/h": 3.6, "kph": 3.6, "kmh": 3.6, "km/hr": 3.6, "m/s": 1.0, "mps": 1.0,
               "mph": 2.236936, "mi/h": 2.236936, "kn": 1.943844, "kt": 1.943844, "knot": 1.943844,
               "knots": 1.943844}


def per_mps(unit: str) -> float | None:
    """The unit per m/s when ``unit`` is a speed, else None."""
    return SPEED_UNITS.get(unit.lower().replace(" ", ""))


@dataclass(frozen=True)
class StepModel:
    """What one signal did while learning."""
    span: float  # its learned range
    largest_step: float  # the largest step between two of its frames
    fastest: float  # its fastest change per second (steps under min_step_s counted as that long)
    speed_per_mps: float | None  # its unit per m/s when it is a speed (judged by physics)


def learn_steps(series: dict, units: dict, t) -> dict:
    """A StepModel per signal with 20 learning samples or more: every speed (physics bounds it
    even if it never changed while learning), any other signal only if it changed."""
    out = {}
    for name, (ts, values) in series.items():
        speed = per_mps(units.get(name, ""))
        if len(ts) < 20 or (speed is None and values.max() == values.min()):
            continue
        with np.errstate(all="ignore"):
            steps = np.abs(np.diff(values))
            rates = steps / np.maximum(np.diff(ts), t.min_step_s)
            model = StepModel(float(values.max() - values.min()), float(steps.max()), float(rates.max()), speed)
        if np.isfinite([model.span, model.largest_step, model.fastest]).all():
            out[name] = model
    return out


def jumped(model: StepModel, before: np.ndarray, after: np.ndarray, dt: np.ndarray, t) -> np.ndarray:
    """Which steps ``before`` -> ``after`` over ``dt`` seconds are jumps no genuine sender made."""
    step = np.abs(after - before)
    if model.speed_per_mps is not None:
        return step > allowed_step(model, dt, t)
    rate = step / np.maximum(dt, t.min_step_s)
    own = t.min_relative_jump * np.maximum(np.abs(before), np.abs(after))
    return (rate > t.max_rate * model.fastest) & (step > t.min_jump * model.span) & (step > own)


def allowed_step(model: StepModel, dt: np.ndarray, t) -> np.ndarray:
    """The largest step physics allows a speed in ``dt`` seconds (speeds only)."""
    assert model.speed_per_mps is not None
    return t.max_accel * model.speed_per_mps * np.maximum(dt, t.hold_s) + model.largest_step
