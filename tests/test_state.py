"""VehicleState answers by time: positions, distance driven, flags."""

from __future__ import annotations

import numpy as np

from monitor.state import CAMERA, DISTANCE, LAT, LON, SPEED, VehicleState


def test_positions_come_at_every_update_of_either_coordinate_as_of_then():
    state = VehicleState()
    state.add(LON, np.array([0.0, 5.0]), np.array([11.0, 11.5]), "m.Lon")
    state.add(LAT, np.array([1.0, 6.0, 20.0]), np.array([48.0, 48.1, 48.2]), "m.Lat")
    ts, lats, lons = state.positions(0.0, 10.0)  # at 0.0 no latitude is known yet
    assert ts.tolist() == [1.0, 5.0, 6.0] and lats.tolist() == [48.0, 48.0, 48.1] and lons.tolist() == [11.0, 11.5, 11.5]
    assert state.position_source() == "m.Lat / m.Lon"


def test_two_messages_with_the_latest_fix_hold_every_true_pair():
    """Fixes at 10 Hz, latitude sent 10 ms and longitude 60 ms after each: the pair of one fix
    exists from the longitude's message on, whatever the phase between the messages."""
    fixes = np.arange(10.0)
    lat_fix, lon_fix = 48.0 + fixes * 1e-4, -0.5 + fixes * 1e-4  # crossing Greenwich
    state = VehicleState()
    state.add(LAT, fixes / 10 + 0.01, lat_fix, "m.Lat")
    state.add(LON, fixes / 10 + 0.06, lon_fix, "m.Lon")
    _, lats, lons = state.positions(0.0, 2.0)
    pairs = set(zip(lats.round(6).tolist(), lons.round(6).tolist(), strict=True))
    assert set(zip(lat_fix.round(6).tolist(), lon_fix.round(6).tolist(), strict=True)) <= pairs
    same = VehicleState()  # one message: one position per frame, no mixed pairs
    same.add(LAT, fixes / 10, lat_fix, "m.Pos")
    same.add(LON, fixes / 10, lon_fix, "m.Pos")
    assert len(same.positions(-1.0, 2.0)[0]) == 10


def test_distance_from_the_odometer_else_from_integrated_speed():
    odo = VehicleState()
    odo.add(DISTANCE, np.array([0.0, 10.0]), np.array([100.0, 100.4]), "odo")
    assert abs(odo.distance_km(0.0, 10.0) - 0.4) < 1e-9
    speed = VehicleState()
    speed.add(SPEED, np.arange(0.0, 3601.0, 1.0), np.full(3601, 36.0), "speed")  # 36 km/h for an hour
    assert abs(speed.distance_km(0.0, 3600.0) - 36.0) < 1e-6
    assert VehicleState().distance_km(0.0, 1.0) is None


def test_flags_hold_until_they_change_and_history_is_bounded():
    state = VehicleState(horizon_s=10.0)
    state.add(CAMERA, np.array([5.0, 8.0]), np.array([True, False], object), "cam")
    assert not state.active(CAMERA, 4.0) and state.active(CAMERA, 6.0) and not state.active(CAMERA, 9.0)
    for t in range(100):
        state.add(SPEED, np.array([float(t)]), np.array([1.0]), "speed")
    assert len(state.series[SPEED].chunks) <= 12  # older than the horizon is dropped
