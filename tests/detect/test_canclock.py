"""The sending clock per CAN id (canclock): a node of its own timer in the ECU's place strays in
interval and phase; an ECU that restarts its timer, or sends event frames between slots, does not."""

from __future__ import annotations

import numpy as np

from monitor.detect.canclock import ClockThresholds, fit_grid, sender_changed

T = ClockThresholds()


def _periodic(start: float, n: int, period: float = 0.1, jitter: float = 0.0002, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start + np.arange(n) * period + rng.uniform(0, jitter, n)


def test_a_periodic_id_gets_a_clock_and_event_driven_or_jittery_ids_do_not():
    grid = fit_grid(_periodic(0.0, 200), T)
    assert grid is not None and abs(grid.period - 0.1) < 1e-4 and grid.tolerance < 0.01
    rng = np.random.default_rng(2)
    assert fit_grid(np.cumsum(rng.exponential(0.1, 200)), T) is None  # event-driven
    assert fit_grid(_periodic(0.0, 200, jitter=0.04), T) is None  # jitter of 40 % of the period
    assert fit_grid(_periodic(0.0, 10), T) is None  # too few frames to tell


def test_the_genuine_sender_keeps_its_clock_across_batches_with_drift():
    learning = _periodic(0.0, 200)
    grid = fit_grid(learning, T)
    later = 20.0 + np.arange(6000) * 0.100005 + np.random.default_rng(3).uniform(0, 0.0002, 6000)  # 50 ppm slow
    flags = np.concatenate([sender_changed(grid, part, T) for part in np.array_split(later, 60)])
    assert not flags.any()


def test_another_sender_at_the_same_rate_is_found_within_a_few_frames():
    grid = fit_grid(_periodic(0.0, 200), T)
    rng = np.random.default_rng(4)
    forged = 20.043 + np.cumsum(rng.uniform(0.06, 0.14, 40))  # its own timer, scheduled loosely
    flags = sender_changed(grid, forged, T)
    assert flags[:6].any() and flags.mean() > 0.6  # a forged interval close to the period passes now and then


def test_a_timer_restarted_by_an_extra_frame_and_a_burst_of_event_frames_are_the_same_sender():
    grid = fit_grid(_periodic(0.0, 200, jitter=0.0), T)
    restarted = np.array([20.0, 20.013] + [20.013 + 0.1 * k for k in range(1, 20)])  # the timer runs from the extra frame
    assert not sender_changed(grid, restarted, T).any()
    grid = fit_grid(_periodic(0.0, 200, jitter=0.0), T)
    burst = np.array([20.0, 20.1, 20.14, 20.16, 20.2, 20.3, 20.4])  # two event frames between slots
    assert not sender_changed(grid, burst, T).any()


def test_flags_carry_over_batch_boundaries():
    forged = 20.043 + np.cumsum(np.tile([0.07, 0.13], 15))  # never on the grid, never a whole period apart
    whole = sender_changed(fit_grid(_periodic(0.0, 200), T), forged, T)
    grid = fit_grid(_periodic(0.0, 200), T)
    one_by_one = np.concatenate([sender_changed(grid, forged[i:i + 1], T) for i in range(len(forged))])
    assert (whole == one_by_one).all() and whole[2:].all() and not whole[:2].any()
