"""The map (alerts/reportmap.py): hemisphere letters, country points inside their country, the
first view holding every point, a track across 180 drawn the short way with lines to the
nearest copy of a country, and every value from a record escaped."""

from __future__ import annotations

import re

import pytest

from monitor.alerts import reportmap
from monitor.alerts.reportmap import Line, Point, degrees, render_map
from monitor.policy.wherevehicle import country_at


@pytest.mark.parametrize(("value", "axis", "text"), [(-11.83623, "NS", "11.83623° S"), (48.1, "NS", "48.10000° N"),
                                                     (-76.47358, "EW", "76.47358° W"), (0.0, "EW", "0.00000° E")])
def test_the_sign_is_a_hemisphere_letter(value, axis, text):
    assert degrees(value, axis) == text


@pytest.mark.parametrize("code", ["DE", "US", "CN", "BR", "FR", "AU", "RU", "FJ", "NZ", "JP"])
def test_a_country_point_lies_in_that_country(code):
    lat, lon = reportmap.country_points()[code]
    assert country_at(lat, lon)[0] == code


def numbers(d: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]


def test_a_track_across_180_is_short_and_its_line_goes_the_short_way():
    track = [(i, -16.8, (179.9 + i * 0.05 + 180) % 360 - 180) for i in range(5)]  # 179.90 .. 180.10 (-179.90)
    page = render_map({"fiji": track}, [], [Line("fiji", -16.8, -179.9, "NZ", 1, False), Line("fiji", -16.8, 179.9, "US", 2, False)],
                      lambda v: 0)
    d = re.search(r'<g class="track" data-vehicle="fiji"><title>fiji</title><path d="([^"]+)"', page)[1]
    xs = numbers(d)[0::2]
    assert max(xs) - min(xs) == pytest.approx(0.2)  # 179.9 to 180.1, not -179.9 .. 179.9
    lines = dict(re.findall(r'class="dest-line"[^>]*data-country="(\w\w)"[^>]*d="(M[^"]+)"', page))
    for code in ("NZ", "US"):
        x0, _, x1, _ = numbers(lines[code])
        assert abs(x1 - x0) < 180, code  # towards the copy of the country on this side of 180
    view = re.search(r'data-s="([\d.]+)" data-tx="(-?[\d.]+)"', page)
    s, k, tx = float(view[1]), float(re.search(r'data-k="([\d.]+)"', page)[1]), float(view[2])
    assert all(0 <= tx + s * k * x <= reportmap.WIDTH for x in xs)  # the first view holds the track


def test_bounds_are_letters_on_either_side_of_the_equator_and_greenwich():
    page = render_map({"v": [(0, -10.0, -5.0), (1, 10.0, 5.0)]}, [Point(-10.0, -5.0, "can", "x")], [], lambda v: 0)
    bounds = re.search(r'id="map-bounds"[^>]*>([^<]+)<', page)[1]
    assert re.fullmatch(r"[\d.]+° S \.\. [\d.]+° N, [\d.]+° W \.\. [\d.]+° E", bounds), bounds


def test_record_values_are_escaped_in_the_map():
    hostile = '"><script>x</script>'
    page = render_map({hostile: [(0, 1.0, 2.0)]}, [Point(1.0, 2.0, "can", hostile)], [Line(hostile, 1.0, 2.0, "DE", 1, True)],
                      lambda v: 0)
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 4


def test_no_position_is_said():
    assert "No positions in these records." in render_map({}, [], [], lambda v: 0)
