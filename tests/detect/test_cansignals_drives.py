"""can.signals on whole drives of the random vehicle (monitor.testing.vehicle): ordinary driving
after a calm learning minute raises nothing, a forged wheel-speed masquerade is still found, and
an emergency stop is braking, not a jump."""

from __future__ import annotations

import random

import numpy as np
import pytest
import yaml

from monitor.canbus.dbc import load_dbc
from monitor.testing.scene import Track
from monitor.testing.vehicle import can_log, draw_layout, random_vin, route

from .conftest import run_monitor

T0 = 1_710_000_000.0
LEARN_S = 60
SECONDS = 600


def _replay(tmp_path, seed: int, track: Track, forged=None) -> list:
    """The CAN log of ``track`` on the layout drawn for ``seed``, replayed alone; its can.signals findings."""
    rng = random.Random(seed)
    layout = draw_layout(rng)
    (tmp_path / "vehicle.dbc").write_text(layout.dbc)
    can_log(layout, load_dbc(tmp_path / "vehicle.dbc"), track, (1e9, 1e9), random_vin(rng), rng,
            forged=forged).write(tmp_path / "can.log")
    config = {"version": 1, "dbc": ["vehicle.dbc"], "signals": layout.signals,
              "detectors": {"can": {"learn_s": LEARN_S}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    findings, _ = run_monitor(can_logs=[tmp_path / "can.log"], config=tmp_path / "config.yaml")
    return [f for f in findings if f.detector == "can.signals"]


@pytest.mark.parametrize("profile,seed", [("motorway", 101), ("motorway", 202), ("motorway", 303),
                                          ("motorway", 404), ("constant", 505), ("constant", 606)])
def test_ordinary_driving_after_a_calm_minute_is_silent_and_a_forged_wheel_speed_is_found(tmp_path, profile, seed):
    """The motorway learns in a steady cruise and changes speed later (90-130 km/h at up to
    2.5 m/s^2): nothing is flagged before the forgery; all four wheels then forged at 0, half or
    one and a half times the speed for 20-40 s are."""
    rng = random.Random(seed)
    track = route(rng, SECONDS, T0, profile=profile)
    assert np.ptp(track.speed_kmh[LEARN_S * 10 :]) > (10 if profile == "motorway" else 0)
    start = rng.uniform(LEARN_S + 240, SECONDS - 60)
    forged = (start, start + rng.uniform(20, 40), rng.choice((0.0, 0.5, 1.5)))
    findings = _replay(tmp_path, seed, track, forged)
    early = [f for f in findings if f.ts < T0 + start]
    assert early == [], [f.seen for f in early]
    during = [f for f in findings if T0 + start <= f.ts <= T0 + forged[1] + 1]
    assert during, f"{profile} seed {seed}: forged {forged} not found"


def _emergency_stop_track() -> Track:
    """100 km/h held (learning), then a stop at 10 m/s^2, 20 s standing, away again at 4 m/s^2."""
    hz, n = 10, SECONDS * 10
    noise = np.random.default_rng(7).normal(0, 0.2, n)
    speed = np.full(n, 100.0) + noise
    brake = 200 * hz
    ramp_down = np.maximum(100.0 - 36.0 * np.arange(n - brake) / hz, 0.0)
    speed[brake:] = ramp_down
    away = brake + 30 * hz
    speed[away:] = np.minimum(14.4 * np.arange(n - away) / hz, 120.0)
    metres = speed / 3.6 / hz
    lat = 48.1 + np.cumsum(metres) / 111_320
    return Track(T0 + np.arange(n) / hz, speed, lat, np.full(n, 11.5), 5_000 + np.cumsum(metres) / 1000)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_an_emergency_stop_after_a_calm_minute_is_braking_not_a_jump(tmp_path, seed):
    assert _replay(tmp_path, seed, _emergency_stop_track()) == []


def test_a_wheel_read_as_zero_during_the_same_drive_is_found(tmp_path):
    findings = _replay(tmp_path, 11, _emergency_stop_track(), forged=(120, 140, 0.0))
    assert findings and all(T0 + 120 <= f.ts <= T0 + 141 for f in findings)
    jump = next(f for f in findings if f.evidence.get("bound") == "physics")
    assert jump.evidence["to"] == 0.0 and "faster than a vehicle brakes or accelerates" in jump.seen
