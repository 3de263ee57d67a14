"""The detection benchmark's strict judge (lab/drives.py), its drive profiles and mapping
schedules (monitor/testing/vehicle.py, scene.py), and the benign captures' real elapsed time
(lab/corpus.py): what the scored figures rest on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lab.corpus import benign_captures
from lab.drives import first_alert_limit, judge, summarise
from lab.generate import PROFILE_CYCLE, profile_of
from monitor.testing.episodes import Episode
from monitor.testing.scene import VEHICLE, Capture, uploads_per_distance, uploads_per_time
from monitor.testing.vehicle import PROFILES, route

T = 1_700_000_000.0
MAP = Episode("mapping:distance", "mapping", "203.0.113.7", 443, T + 10, end=T + 600)
VIDEO = Episode("video", "video", "203.0.113.7", 443, T + 100, end=T + 200)
BENIGN = Episode("benign:ntp", None, "198.51.100.9", 123, T)
SHELL = Episode("remote:shell", "remote", "2001:db8::1", 22, T + 50)
LOGIN = Episode("remote:teltonika", "remote", "198.51.100.20", 5027, T + 70, also=("identity",))


def row(category: str, destination: str, at: float, action: str = "alert", source: str | None = None) -> dict:
    return {"category": category, "destination": destination, "time": at, "action": action, "source": source,
            "detector": "d", "seen": "s"}


def test_an_alert_is_true_only_for_its_category_on_its_address_within_the_span():
    episodes = [MAP, VIDEO, BENIGN, SHELL, LOGIN]
    rows = [row("mapping", "203.0.113.7", T + 60),  # true: the mapping episode
            row("video", "203.0.113.7", T + 150),  # true: inside the video's span
            row("video", "203.0.113.7", T + 300),  # false: the video is over
            row("geolocation", "203.0.113.7", T + 120),  # false: no episode of that category there
            row("geolocation", "198.51.100.9", T + 5),  # false: a benign destination
            row("geolocation", "198.51.100.9", T + 6, action="allow"),  # allowed: not an alert
            row("remote", "192.168.50.2", T + 50, source="2001:0db8::0001"),  # true: inbound, the outside host as source
            row("identity", "198.51.100.20", T + 71),  # true: the login carries the IMEI
            row("unknown", "192.0.2.99", T + 9)]  # false: no episode's address
    result = judge(episodes, rows)
    assert {k: e["first_s"] for k, e in result["episodes"].items()} == {
        "mapping:distance": 50.0, "video": 50.0, "remote:shell": 0.0, "remote:teltonika": None}
    assert [(a["kind"], a["category"]) for a in result["false_alerts"]] == [
        ("mapping:distance/video", "video"), ("mapping:distance/video", "geolocation"),
        ("benign:ntp", "geolocation"), ("no episode", "unknown")]


def test_first_alert_limits_and_the_late_list():
    beacon = Episode("beacon", "geolocation", "192.0.2.1", 443, T, period=20.0)
    assert first_alert_limit(beacon) == 100 + 20 + 5  # five periods, after the first upload, plus slack
    assert first_alert_limit(Episode("beacon", "geolocation", "192.0.2.1", 443, T, period=6.0)) == 60 + 6 + 5
    assert first_alert_limit(MAP) == 120 and first_alert_limit(VIDEO) == 30
    town = Episode("mapping:distance", "mapping", "192.0.2.3", 443, T, period=140.0)  # 1 km at 26 km/h
    assert first_alert_limit(town) == 140 + 30  # no detector judges one upload: the second's time counts
    assert first_alert_limit(Episode("mapping:time", "mapping", "192.0.2.3", 443, T, period=9.0)) == 120
    result = {"seed": 1, "profile": "city", "errors": [], **judge([beacon, MAP], [
        row("geolocation", "192.0.2.1", T + 130), row("mapping", "203.0.113.7", T + 100)])}
    summary = summarise([result])
    assert summary["late"] == ["seed 1 (city) beacon: first alert after 130 s, limit 125 s"]
    assert summary["recall_by_kind_and_profile"] == {"beacon": {"city": 1.0}, "mapping:distance": {"city": 1.0}}
    assert summary["false_alerts"] == []


def test_the_seeds_hold_every_profile_and_half_of_twenty_constant():
    assert {profile_of(s) for s in range(1, 5)} == set(PROFILES)
    assert sum(profile_of(s) == "constant" for s in range(1, 21)) == 10
    assert set(PROFILE_CYCLE) == set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_drive_profiles(profile):
    track = route(random.Random(11), 600, T, profile=profile)
    speed, parked = track.speed_kmh, float((track.speed_kmh < 0.5).mean())
    if profile == "constant":
        assert parked == 0 and speed.max() - speed.min() < 3 and 49 < speed.mean() < 121
    elif profile == "motorway":
        assert parked == 0 and speed.min() > 85 and speed.max() < 131
    elif profile == "city":
        assert parked > 0.05 and speed.max() <= 50
    else:
        assert parked > 0.05 and speed.max() > 50


def test_mapping_per_distance_follows_the_odometer_and_stops_while_parked():
    track = route(random.Random(2), 600, T, profile="stop-and-go")
    steps = uploads_per_distance(track, "tiles.example", 3, random.Random(3), every_m=200, records=6, begin_s=0.0)
    times = np.cumsum([delay for _, _, delay in steps])[2::2]  # each upload, after the handshake
    km = float(track.odometer_km[-1] - track.odometer_km[0])
    assert abs(len(times) - km * 5) <= 1  # one every 200 m
    moving = np.interp(times, track.ts - track.ts[0], track.speed_kmh)
    assert moving.min() > 0.5  # never while parked
    assert all(len(payload) > 6 * 1300 for side, payload, _ in steps[2::2])


def test_mapping_per_time_sends_nothing_while_parked():
    track = route(random.Random(4), 600, T, profile="city")
    steps = uploads_per_time(track, "tiles.example", 5, random.Random(5), every_s=10, bytes_per_km=50_000, begin_s=0.0)
    times = np.cumsum([delay for _, _, delay in steps])[2::2]
    assert len(times) > 10
    assert np.interp(times, track.ts - track.ts[0], track.speed_kmh).min() > 0.5


def test_benign_captures_count_real_elapsed_time_and_every_finding(tmp_path):
    cap = Capture()
    cap.ntp(T, "198.51.100.123")
    cap.ntp(T + 3000, "198.51.100.123")  # an idle gap of 50 minutes still counts
    cap.udp(T + 3600, VEHICLE, 40000, "198.51.100.123", 123, bytes([0x23]) + bytes(47))
    cap.write(tmp_path / "quiet.pcap")
    report = benign_captures([tmp_path / "quiet.pcap"])
    assert report["capture_hours"] == 1.0
    assert report["findings"] == len(report["listed"]) and all("explained" not in f for f in report["listed"])
