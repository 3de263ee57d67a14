"""taintscan: what a lone pair, a pair near its position in time, and a corroborated pair find,
in every encoding and hemisphere; what random bytes and hostile buffers cost; every limit counted."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from monitor.detect.taintrate import BUDGET_PER_GB, SPECS
from monitor.detect.taintscan import MAX_LAT_MATCHES, Plan, segments

FORMATS = {"int32 x1e6": ("i", 1e6), "int32 x1e7": ("i", 1e7), "float32": ("f", None), "float64": ("d", None),
           "uint32 x1e6 magnitude": ("I", 1e6)}
PLACES = {"north-east": (48.137154, 11.576124), "north-west": (40.712776, -74.005974),
          "south-east": (-33.868820, 151.209296), "south-west": (-12.046374, -77.042793),
          "antimeridian": (-17.713371, 179.999512)}


def drive(start, seconds=120.0, hz=10, speed=25.0, heading=0.7):
    """A straight drive at ``speed`` m/s: times, latitudes, longitudes (CAN-quantised at 1e-7)."""
    t = np.arange(0, seconds, 1 / hz)
    lat = start[0] + t * speed * np.cos(heading) / 111_320
    lon = start[1] + t * speed * np.sin(heading) / (111_320 * np.cos(np.radians(start[0])))
    lon = (lon + 180) % 360 - 180
    return t, np.round(lat, 7), np.round(lon, 7)


def pack(name: str, lat: float, lon: float) -> tuple[bytes, bytes]:
    kind, order = name.rsplit(" ", 1)
    code, scale = FORMATS.get(kind, ("J", None))
    fmt = (">" if order == "big-endian" else "<") + ("I" if code == "J" else code)
    if code == "J":
        return struct.pack(fmt, round((lat + 210) * 1e7)), struct.pack(fmt, round((lon + 210) * 1e7))
    if code == "I":
        return struct.pack(fmt, int(abs(lat) * scale)), struct.pack(fmt, int(abs(lon) * scale))
    if scale:
        return struct.pack(fmt, round(lat * scale)), struct.pack(fmt, round(lon * scale))
    return struct.pack(fmt, lat), struct.pack(fmt, lon)


def payload(rng: random.Random, name: str, lat: float, lon: float, gap: int, lon_first: bool) -> bytes:
    a, b = pack(name, lat, lon)
    first, second = (b, a) if lon_first else (a, b)
    return rng.randbytes(9) + first + rng.randbytes(gap) + second + rng.randbytes(7)


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_every_encoding_finds_the_current_position_adjacent_or_a_few_bytes_apart(place):
    t, lat, lon = drive(place)
    now = 100.0
    plan = Plan(segments(t[t <= now + 1], lat[t <= now + 1], lon[t <= now + 1], now, now + 0.05, 0.0005))
    i = int(now * 10)
    rng = random.Random(3)
    for spec in SPECS:
        for gap, lon_first in ((0, False), (0, True), (5, False), (12, True)):
            buf = payload(rng, spec.name, lat[i], lon[i], gap, lon_first)
            hits = plan.hits(buf)
            want = spec.name.replace("uint32 x1e6 magnitude", "int32 x1e6") if lat[i] > 0 and lon[i] > 0 else spec.name
            assert [h.encoding for h in hits] == [want], (spec.name, gap, lon_first, hits)
            hit = hits[0]
            assert hit.at == 9 + (spec.width + gap if lon_first else 0)
            close = 2e-5 if spec.name.startswith("float32") else 2e-6  # float32 steps 1.5e-5 at 151 degrees
            assert abs(hit.position.lat - lat[i]) < close and abs(hit.position.lon - lon[i]) < close, (spec.name, hit)
            assert hit.rule == ("adjacent" if gap == 0 else "near")
            assert 0 < hit.rate_per_gb < BUDGET_PER_GB


def test_a_value_between_two_samples_or_ahead_of_the_newest_is_on_its_segment():
    """The sender read the vehicle between two CAN samples (on the segment), or after the newest
    one (by its speed x age); three steps ahead of the newest is not the vehicle."""
    t, lat, lon = drive(PLACES["north-east"], speed=33.0)
    known = t <= 80.0
    plan = Plan(segments(t[known], lat[known], lon[known], 79.95, 80.3, 0.0005))
    step_lat, step_lon = lat[800] - lat[799], lon[800] - lon[799]
    between = (lat[799] + step_lat * 0.4, lon[799] + step_lon * 0.4)
    ahead = (lat[800] + 3 * step_lat, lon[800] + 3 * step_lon)  # 80.3 s: three steps after the newest
    far = (lat[800] + 9 * step_lat, lon[800] + 9 * step_lon)
    for where, found in ((between, True), (ahead, True), (far, False)):
        buf = b"POS1" + struct.pack("<ii", round(where[0] * 1e7), round(where[1] * 1e7))
        assert bool(plan.hits(buf)) is found, where


def test_ahead_of_a_staircase_of_two_messages_the_newest_moves_on_the_diagonal():
    """Latitude and longitude in two messages: the positions alternate one axis at a time, so
    the last step moves one axis only; the newest still goes on at the vehicle's velocity."""
    t, lat, lon = drive(PLACES["south-west"], speed=33.0)
    n = int(np.searchsorted(t, 80.0, side="right"))  # fixes up to 80 s
    ts = np.ravel(np.column_stack([t[1:n] + 0.01, t[1:n] + 0.06]))  # latitude's message, then longitude's
    lats = np.ravel(np.column_stack([lat[1:n], lat[1:n]]))
    lons = np.ravel(np.column_stack([lon[: n - 1], lon[1:n]]))  # the longitude of the fix before, then its own
    plan = Plan(segments(ts, lats, lons, 80.0, 80.35, 0.0005))
    ahead = (lat[n + 1], lon[n + 1])  # the fix 0.2 s after the newest, sent before t1
    buf = b"POS1" + struct.pack("<ii", round(ahead[0] * 1e7), round(ahead[1] * 1e7))
    assert plan.hits(buf)


def test_an_old_fix_alone_is_not_enough_for_float32_near_the_equator_but_two_in_order_are():
    """A batched upload of the past: near the equator float32 latitudes crowd (each fix's tolerance
    holds hundreds of words), so an old fix eight bytes from its longitude is one of too many a
    random pair could match; the same with the next fix after it is corroborated. The current one
    counts alone."""
    t, lat, lon = drive((0.003, 36.82), speed=30.0, heading=np.pi / 2)
    plan = Plan(segments(t, lat, lon, 110.0, 110.1, 0.0005))
    rng = random.Random(5)
    old = payload(rng, "float32 little-endian", lat[700], lon[700], 8, False)
    assert plan.hits(old) == []
    both = old + payload(rng, "float32 little-endian", lat[710], lon[710], 8, False)
    hits = plan.hits(both)
    assert [h.rule for h in hits] == ["corroborated", "corroborated"]
    assert hits[0].rate_per_gb < BUDGET_PER_GB / 10
    assert abs(hits[1].position.lat - lat[710]) < 1e-9
    assert [h.rule for h in plan.hits(payload(rng, "float32 little-endian", lat[1100], lon[1100], 8, False))] == ["near"]


def test_a_parked_vehicle_is_one_position_and_any_of_its_past_fixes_counts_alone():
    t = np.arange(0, 300, 0.1)
    lat, lon = np.full(len(t), -33.86882), np.full(len(t), 151.20930)
    seg = segments(t, lat, lon, 299.0, 299.5, 0.0005)
    assert len(seg) == 1 and not seg.moving.any()
    plan = Plan(seg)
    assert plan.hits(b"\x00" * 3 + struct.pack(">ii", -338688200, 1512093000) + b"\x01" * 4)[0].rule == "adjacent"


def test_longitude_reach_scales_with_one_over_cos_latitude_and_is_bounded_at_the_poles():
    """A CAN gap of 60 s at speed: the step is capped at the tolerance, in degrees of latitude;
    its longitude at 1/cos(latitude), at most that of 89 degrees near a pole."""
    for lat0, most in ((0.0, 0.0005), (60.0, 0.001), (89.9, 0.0005 / np.cos(np.radians(89.0)))):
        t = np.array([0.0, 60.0])
        seg = segments(t, np.array([lat0, lat0]), np.array([10.0, 12.0]), 59.0, 60.0, 0.0005)
        step = np.abs(seg.dlon[seg.moving]).max()
        assert step == pytest.approx(most, rel=1e-6), lat0


def test_random_bytes_against_tracks_in_every_hemisphere_find_nothing():
    rng = np.random.default_rng(11)
    for place in PLACES.values():
        t, lat, lon = drive(place)
        plan = Plan(segments(t, lat, lon, 110.0, 111.0, 0.0005))
        assert plan.rate_per_gb() < BUDGET_PER_GB
        for _ in range(4):
            assert plan.hits(rng.bytes(1 << 20)) == []


def test_a_buffer_full_of_the_position_is_bounded_and_the_rest_counted():
    t, lat, lon = drive(PLACES["north-west"])
    plan = Plan(segments(t, lat, lon, 110.0, 110.1, 0.0005))
    one = struct.pack(">ii", round(lat[1100] * 1e7), round(lon[1100] * 1e7))
    hits = plan.hits(one * 20_000)
    assert len(hits) == MAX_LAT_MATCHES
    assert plan.counts["latitudes_over_limit"] == 20_000 - MAX_LAT_MATCHES


def test_encodings_that_cannot_keep_the_budget_are_off_and_counted():
    """At 0 N 0 E floats crowd (a tolerance of 0.1 micro-degree holds 10^5 float32 words there):
    no float32 pair keeps its share, a float64 pair only with a second one; the integer encodings
    search as anywhere."""
    t = np.arange(0, 60, 0.1)
    lat, lon = np.full(len(t), 0.00001), np.full(len(t), -0.00002)
    plan = Plan(segments(t, lat, lon, 59.0, 59.5, 0.0005))
    searched = {r.spec.name for r in plan.rules}
    assert not {name for name in searched if name.startswith("float32")}
    assert not any(r.alone["adjacent"].any() for r in plan.rules if r.spec.name.startswith("float64"))  # corroborated only
    assert {"int32 x1e6 big-endian", "int32 x1e7 little-endian"} <= searched
    assert plan.counts.get("encodings_off", 0) + plan.counts.get("encodings_too_wide", 0) == len(SPECS) - len(searched)
    assert plan.rate_per_gb() < BUDGET_PER_GB


def test_a_can_position_at_1e6_resolution_still_matches_the_finer_value_a_sender_writes():
    """The generated drives' DBC scales positions by 1e-6: the CAN value is up to half a
    micro-degree from the float64 the sender writes of the true position."""
    t, lat, lon = drive(PLACES["south-west"])
    true_lat, true_lon = lat[1000] + 4.4e-7, lon[1000] - 4.6e-7
    can_lat, can_lon = np.round(lat, 6), np.round(lon, 6)
    can_lat[1000], can_lon[1000] = round(true_lat, 6), round(true_lon, 6)
    plan = Plan(segments(t, can_lat, can_lon, 100.0, 100.05, 0.0005))
    assert plan.seg.quantum == 1e-6
    for code in ("<dd", ">dd", "<ff"):
        assert plan.hits(b"\x07" * 5 + struct.pack(code, true_lat, true_lon)), code
    assert plan.hits(b"\x07" * 5 + struct.pack("<ii", round(true_lat * 1e7), round(true_lon * 1e7)))
