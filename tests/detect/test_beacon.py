"""Beacon-like uploads within a minute: connection set-up is no upload, the period and jitter are in
the record, and a destination that is mapping gets no beacon alert."""

from __future__ import annotations

import struct

import pytest

from monitor.testing.quicwire import client_initial
from monitor.testing.scene import VEHICLE, Capture, app_data, client_hello

from .conftest import run_monitor
from .test_mapping import CITY, MAP, replay
from .uplinks import T0, by, constant, drive_park_drive, per_distance, profile, tls_uploads

BEACON = "198.51.100.80"


def _summary(monitor) -> dict:
    return monitor.summary()["detectors"]["behaviour"]


@pytest.mark.parametrize(("period", "earliest", "latest"), [(5, 60, 66), (10, 60, 71), (20, 100, 121), (30, 150, 181)])
def test_a_tls_beacon_is_flagged_after_five_periods_or_a_minute_whichever_is_later(tmp_path, period, earliest, latest):
    """ClientHello, then 400 B every ``period``: the ClientHello is no burst, so the jitter is the
    beacon's own from the start (it used to take some twenty bursts)."""
    opened = T0 + 1.0
    cap = Capture()
    tls_uploads(cap, BEACON, [(opened + period * k, 400) for k in range(1, 40)], opened=opened)
    cap.write(tmp_path / "b.pcap")
    findings, monitor = run_monitor(captures=[tmp_path / "b.pcap"])
    beacon = by(findings, "behaviour.beacon", BEACON)
    assert beacon and earliest <= beacon[0].ts - opened <= latest
    assert abs(beacon[0].evidence["period_s"] - period) < 0.1 and beacon[0].evidence["jitter"] < 0.01
    assert beacon[0].category == "geolocation" and _summary(monitor)["setup_packets_not_uploads"] == 1


def test_a_connection_shorter_than_twenty_periods_is_judged_on_its_own(tmp_path):
    cap = Capture()
    tls_uploads(cap, BEACON, [(T0 + 30 * k, 300) for k in range(1, 9)], opened=T0)  # 8 uploads, 240 s
    cap.write(tmp_path / "b.pcap")
    findings, _ = run_monitor(captures=[tmp_path / "b.pcap"])
    beacon = by(findings, "behaviour.beacon", BEACON)
    assert len(beacon) == 1 and beacon[0].evidence["uploads"] == 6 and beacon[0].evidence["span_s"] == 150


def test_a_clienthello_over_two_segments_is_set_up_to_its_end(tmp_path):
    """A 3 KB ClientHello (post-quantum key shares) spans three segments; none is an upload."""
    hello = client_hello("beacon.example", 4)
    body = hello[5:] + bytes(3000)
    big = b"\x16\x03\x01" + struct.pack("!H", len(body)) + body
    steps = [("up", big, 0.01), ("down", app_data(200, 1), 0.05)]
    steps += [("up", app_data(300, k), 10.0) for k in range(12)]
    cap = Capture()
    cap.tcp_session(T0, BEACON, 443, 45500, steps)
    cap.write(tmp_path / "b.pcap")
    findings, monitor = run_monitor(captures=[tmp_path / "b.pcap"])
    beacon = by(findings, "behaviour.beacon", BEACON)
    assert beacon and beacon[0].evidence["mean_upload_bytes"] == 305 and beacon[0].evidence["jitter"] < 0.01
    assert _summary(monitor)["setup_packets_not_uploads"] == 3


def test_quic_initials_are_set_up_and_the_short_header_packets_after_them_a_beacon(tmp_path):
    crypto = client_hello("q.example", 2)[5:]
    frames = bytes([0x06, 0x00, 0x40 | len(crypto) >> 8, len(crypto) & 0xFF]) + crypto
    cap = Capture()
    for k in range(12):  # a client that only ever retries its handshake: never a beacon
        for datagram in client_initial(bytes([k]) * 8, frames):
            cap.udp(T0 + 10 * k, VEHICLE, 51000, "198.51.100.81", 443, datagram)
    for datagram in client_initial(b"\x42" * 8, frames):
        cap.udp(T0, VEHICLE, 51001, BEACON, 443, datagram)
    for k in range(1, 12):
        cap.udp(T0 + 10 * k, VEHICLE, 51001, BEACON, 443, bytes([0x40 | k]) + bytes(300))
    cap.write(tmp_path / "q.pcap")
    findings, monitor = run_monitor(captures=[tmp_path / "q.pcap"])
    assert {f.flow["resp_h"] for f in by(findings, "behaviour.beacon")} == {BEACON}
    assert abs(by(findings, "behaviour.beacon")[0].evidence["period_s"] - 10) < 0.01
    assert _summary(monitor)["setup_packets_not_uploads"] >= 13


def test_a_beacon_through_city_stops_is_a_beacon_not_mapping(tmp_path):
    """900 B every 5 s at 10-45 km/h is 20-60 KB per km, but it goes on while parked."""
    speeds = profile([(0, 30), *CITY])
    cap = Capture()
    tls_uploads(cap, BEACON, [(T0 + 2 + 5 * k, 900) for k in range(1, int(len(speeds) / 50) - 1)])
    findings, monitor = replay(tmp_path, speeds, cap)
    assert by(findings, "behaviour.beacon", BEACON) and not by(findings, "behaviour.mapping")


def test_small_mapping_uploads_at_a_steady_speed_are_mapping_and_never_a_beacon_too(tmp_path):
    """Two records every 100 m at 60 km/h: periodic in time as well (every 6 s, 2.8 KB), but a
    volume per km over several packets at a steady speed is mapping; the beacon is held back."""
    speeds = constant(60, 300)
    cap = Capture()
    tls_uploads(cap, MAP, per_distance(speeds, 100, 2))
    findings, monitor = replay(tmp_path, speeds, cap)
    assert by(findings, "behaviour.mapping", MAP) and not by(findings, "behaviour.beacon")
    assert _summary(monitor)["beacon_like_uploads_judged_mapping"] >= 1


def test_one_small_message_a_second_at_a_steady_speed_waits_for_the_stop_that_shows_it_is_mapping(tmp_path):
    """1 KB every second at 72 km/h fits a timer as well as distance (50 KB per km); the beacon
    waits, and the stop (nothing but keepalives while parked) shows the uploads follow distance."""
    can_log, capture = drive_park_drive(tmp_path, lambda second, moving: 1000 if moving else 40 if second % 5 == 0 else 0)
    findings, monitor = run_monitor(can_logs=[can_log], captures=[capture])
    mapping = by(findings, "behaviour.mapping")
    assert mapping and not by(findings, "behaviour.beacon")
    assert "stops" in {f.evidence["judged_by"] for f in mapping} and mapping[0].ts - T0 < 130
    assert _summary(monitor)["beacon_like_uploads_waiting_for_a_stop"] >= 1


def test_a_beacon_at_a_steady_crawl_is_flagged_once_the_wait_for_evidence_is_over(tmp_path):
    """900 B every 5 s at a steady 20 km/h is 32 KB per km: it could be mapping, nothing tells
    (no stop, no change of speed), so the beacon comes after max_ambiguous_s, never mapping."""
    speeds = constant(20, 400)
    cap = Capture()
    tls_uploads(cap, BEACON, [(T0 + 5 * k, 900) for k in range(1, 78)], opened=T0 + 2)
    findings, _ = replay(tmp_path, speeds, cap)
    beacon = by(findings, "behaviour.beacon", BEACON)
    assert beacon and 180 <= beacon[0].ts - (T0 + 2) <= 186 and beacon[0].evidence["follows"] == "steady speed"
    assert not by(findings, "behaviour.mapping")
