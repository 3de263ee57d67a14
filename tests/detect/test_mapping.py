"""Mapping-like uploads at any speed, replayed through the Monitor: a CAN log of the drive and a
capture of TLS uploads, judged by mapping.py over windows of the flow's own period."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.testing.scene import Capture

from .conftest import run_monitor
from .uplinks import T0, by, constant, drive_park_drive, per_distance, per_time, profile, speed_log, tls_uploads, udp_uploads

MAP = "198.51.100.70"
STOP_AND_GO = [(60, 70), (0, 50), (35, 60), (90, 50), (0, 40), (50, 60)]  # km/h, seconds
CITY = [(25, 40), (40, 30), (0, 30), (15, 40), (45, 30), (0, 25), (30, 60)]


def replay(tmp_path, speeds, cap: Capture):
    cap.write(tmp_path / "up.pcap")
    return run_monitor(can_logs=[speed_log(tmp_path / "can.log", speeds)], captures=[tmp_path / "up.pcap"])


@pytest.mark.parametrize("kmh", [50, 90, 130])
def test_seven_records_every_250_m_at_a_constant_speed_are_mapping_within_two_minutes(tmp_path, kmh):
    """The issue's drive: 7 x 1.4 KB over TLS every 250 m (39 KB/km) at one speed all drive, where
    bytes per second and metres per second are both flat: the volume per km decides."""
    speeds = constant(kmh, 400)
    uploads = per_distance(speeds, 250, 7)
    cap = Capture()
    tls_uploads(cap, MAP, uploads)
    findings, monitor = replay(tmp_path, speeds, cap)
    mapping = by(findings, "behaviour.mapping", MAP)
    assert mapping and mapping[0].ts - uploads[0][0] <= 120
    first = mapping[0].evidence
    assert first["judged_by"] == "uploads while moving" and first["follows"] in ("steady speed", "unknown")  # two uploads or more
    assert 35_000 < first["bytes_per_km"] < 45_000 and abs(first["period_s"] - 250 / (kmh / 3.6)) < 1
    assert not by(findings, "behaviour.beacon", MAP)
    assert monitor.summary()["detectors"]["behaviour"]["setup_packets_not_uploads"] >= 1  # the ClientHello


@pytest.mark.parametrize(("shape", "every_m", "records"), [
    ("stop-and-go", 50, 5), ("stop-and-go", 1000, 10), ("city", 100, 2), ("motorway", 1000, 15), ("constant 50", 50, 2)])
def test_uploads_every_50_m_to_1_km_are_mapping_at_every_speed_profile(tmp_path, shape, every_m, records):
    speeds = {"stop-and-go": profile(STOP_AND_GO), "city": profile(CITY), "motorway": profile([(110, 120), (130, 120), (95, 120)]),
              "constant 50": constant(50, 330)}[shape]
    uploads = per_distance(speeds, every_m, records)
    cap = Capture()
    tls_uploads(cap, MAP, uploads)
    findings, _ = replay(tmp_path, speeds, cap)
    mapping = by(findings, "behaviour.mapping", MAP)
    assert mapping, f"{shape}, every {every_m} m"
    third = uploads[2][0]  # three uploads are the least the volume is judged on
    assert mapping[0].ts - uploads[0][0] <= max(120, third - uploads[0][0] + 1)
    assert not by(findings, "behaviour.beacon", MAP)


def test_uploads_on_a_timer_only_while_moving_are_mapping_by_their_stops(tmp_path):
    speeds = profile(STOP_AND_GO)
    cap = Capture()
    tls_uploads(cap, MAP, per_time(speeds, 10, 40_000))
    findings, _ = replay(tmp_path, speeds, cap)
    mapping = by(findings, "behaviour.mapping", MAP)
    assert mapping and mapping[0].ts - T0 <= 120
    assert "stops" in {f.evidence["judged_by"] for f in mapping}
    stopped = next(f.evidence for f in mapping if f.evidence["judged_by"] == "stops")
    assert stopped["parked_s"] >= 20 and stopped["parked_to_moving_upload_rate"] <= 0.2


def test_a_constant_rate_that_goes_on_while_parked_is_not_mapping(tmp_path):
    """2 KB every 5 s all drive, from a parking space through city stops: 20-50 KB per km while
    moving, but a timer's. (Had the drive begun at a steady speed, its first stretch could not
    tell this from mapping: both clocks fit there.)"""
    speeds = profile([(0, 30), *CITY])
    uploads = [(T0 + 3 + 5 * k, 2000) for k in range(int(len(speeds) / 10 / 5) - 1)]
    cap = Capture()
    tls_uploads(cap, MAP, uploads)
    findings, monitor = replay(tmp_path, speeds, cap)
    assert not by(findings, "behaviour.mapping")
    beacons = by(findings, "behaviour.beacon", MAP)
    assert beacons and abs(beacons[0].evidence["period_s"] - 5) < 0.1


def test_video_while_driving_is_video_and_never_mapping(tmp_path):
    """90 s of 1 Mbit/s ciphertext at 60 km/h: one long stream, not uploads that follow distance."""
    speeds = constant(60, 240)
    rng = np.random.default_rng(3)
    cap = Capture()
    tls_uploads(cap, MAP, [(T0 + 30 + 0.1 * k, 12_500) for k in range(900)], seed=3)
    udp = [(T0 + 40 + 0.01 * k, int(rng.integers(1000, 1300))) for k in range(9000)]
    udp_uploads(cap, "198.51.100.71", udp)
    findings, _ = replay(tmp_path, speeds, cap)
    assert {f.flow["resp_h"] for f in by(findings, "behaviour.video")} == {MAP, "198.51.100.71"}
    assert not by(findings, "behaviour.mapping") and not by(findings, "behaviour.beacon")


def test_a_download_with_small_requests_on_a_timer_is_neither_beacon_nor_mapping(tmp_path):
    speeds = profile(STOP_AND_GO)
    cap = Capture()
    steps = []
    for k in range(30):
        steps += [("up", b"GET /tiles/%d HTTP/1.1\r\nHost: tiles.example\r\n\r\n" % k, 10.0), ("down", bytes(60_000), 0.1)]
    cap.tcp_session(T0 + 5, MAP, 80, 47000, steps)
    findings, monitor = replay(tmp_path, speeds, cap)
    assert not by(findings, "behaviour.mapping") and not by(findings, "behaviour.beacon")
    assert monitor.summary()["detectors"]["behaviour"]["beacon_like_downloads_not_flagged"] >= 1


def test_a_steady_upload_is_mapping_at_once_and_then_by_its_stop(tmp_path):
    """Drive 60 s, stop 60 s (keepalives only), drive 60 s, at 72 km/h: 3 KB every 3 s while
    moving is mapping in the first minute by its volume per km, then again by the stop."""
    can_log, capture = drive_park_drive(
        tmp_path, lambda second, moving: 3000 if moving and second % 3 == 0 else 40 if not moving and second % 5 == 0 else 0)
    findings, _ = run_monitor(can_logs=[can_log], captures=[capture])
    mapping = by(findings, "behaviour.mapping")
    assert mapping[0].evidence["judged_by"] == "uploads while moving" and mapping[0].ts - T0 < 60
    assert mapping[-1].evidence["judged_by"] == "stops" and mapping[-1].evidence["parked_s"] >= 40
    assert all(45_000 < f.evidence["bytes_per_km"] < 55_000 for f in mapping)  # 3 KB per 60 m
    assert not by(findings, "behaviour.beacon")
