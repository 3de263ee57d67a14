"""Where the map's lines start (alerts/reportplaces.py): the finding's own position, else the
vehicle's track point nearest in time; tracks keep the whole drive in bounded points."""

from __future__ import annotations

from monitor.alerts import reportplaces
from monitor.alerts.reportplaces import Places, Track


def episode(t, position=None, country="DE"):
    return {"time": t, "position": position, "country": country}


def test_a_line_starts_at_the_position_or_the_track_point_nearest_in_time():
    places = Places()
    places.track("v", [[100.0, 48.0, 11.0], [200.0, 49.0, 12.0], [300.0, 50.0, 13.0]])
    places.episode("v", episode(190.0))
    places.episode("v", episode(260.0))
    places.episode("v", episode(50.0, {"lat": 1.0, "lon": 2.0}))
    entry = places.origins[("v", "DE")]
    assert entry["episodes"] == 3
    assert places._placed(entry["at"], sorted(places.tracks["v"].points)) == [(49.0, 12.0), (50.0, 13.0), (1.0, 2.0)]
    assert places._placed([(5.0, None, None)], []) == []  # nowhere to place it: no line


def test_a_long_track_keeps_the_whole_drive_coarser(monkeypatch):
    monkeypatch.setattr(reportplaces, "MAX_POINTS", 100)
    track = Track()
    for i in range(1000):
        track.add(float(i), 0.0, i / 1000)
    assert len(track.points) < 100 and track.points[0][0] == 0 and track.points[-1][0] > 900


def test_pairs_past_the_limit_are_counted(monkeypatch):
    monkeypatch.setattr(reportplaces, "MAX_LINES", 1)
    places = Places()
    places.episode("a", episode(1.0, {"lat": 1.0, "lon": 1.0}))
    places.episode("b", episode(1.0, {"lat": 1.0, "lon": 1.0}))
    assert places.more_lines == 1 and list(places.origins) == [("a", "DE")]
