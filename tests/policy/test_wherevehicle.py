"""Which country a vehicle position is in, from the shipped Natural Earth shapes: cities,
shapes cut at the antimeridian, holes, the drawn Hong Kong and Macau, the coast the 1:110m
scale cut off, the sea, and the countries too small for the scale."""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest

from monitor.config.policy import shipped_country_lists
from monitor.detect.finding import Finding, Position
from monitor.policy import regulatory
from monitor.policy.wherevehicle import Shapes, country_at, shapes, vehicle_place
from monitor.state import LAT, LON, VehicleState

PLACES = [
    ("Munich", 48.137, 11.576, "DE"), ("Paris", 48.857, 2.352, "FR"), ("Oslo", 59.91, 10.75, "NO"),
    ("Kansas City", 39.10, -94.58, "US"), ("Anchorage", 61.2, -149.9, "US"), ("Shanghai", 31.23, 121.47, "CN"),
    ("Beijing", 39.9, 116.4, "CN"), ("Shenzhen", 22.54, 114.06, "CN"),
    ("Shekou, Shenzhen", 22.485, 113.915, "CN"), ("Tuen Mun", 22.39, 113.97, "HK"), ("Kowloon", 22.32, 114.17, "HK"),
    ("Macau", 22.19, 113.54, "MO"), ("Taipei", 25.03, 121.56, "TW"), ("Moscow", 55.75, 37.62, "RU"),
    ("Kaliningrad", 54.71, 20.51, "RU"), ("Havana", 23.11, -82.37, "CU"), ("Tokyo", 35.68, 139.76, "JP"),
    ("Seoul", 37.57, 126.98, "KR"), ("Mumbai", 19.07, 72.88, "IN"), ("Reykjavik", 64.14, -21.94, "IS"),
    ("Johannesburg", -26.2, 28.05, "ZA"), ("Maseru, inside South Africa's hole", -29.3, 28.0, "LS"),
    ("Chukotka, west of 180", 66.0, -175.0, "RU"), ("Anadyr, east of 180", 64.73, 177.5, "RU"),
    ("Chukotka as 185 E", 66.0, 185.0, "RU"), ("Zhuhai, off the 110m coast", 22.27, 113.57, "CN"),
]


@pytest.mark.parametrize(("lat", "lon", "country"), [p[1:] for p in PLACES], ids=[p[0] for p in PLACES])
def test_a_position_is_in_its_country(lat, lon, country):
    assert country_at(lat, lon)[0] == country


def test_the_sea_and_non_positions_are_in_no_country():
    assert country_at(40.0, -40.0) == (None, "outside every country shape")  # mid-Atlantic
    assert country_at(-30.0, 170.0)[0] is None  # Tasman Sea, near nothing
    assert shapes().country(math.nan, 11.0) == (None, "not a position") and shapes().country(95.0, 0.0)[0] is None
    near = country_at(22.27, 113.57)[1]
    assert near.startswith("nearest, ") and "km from its 1:110m outline" in near


def test_a_ring_crossing_at_the_antimeridian_and_a_hole_on_a_small_table():
    # two halves of one country cut at 180 (as Natural Earth cuts Russia and Fiji), and a hole
    table = Shapes({"AA": [[170, 0, 180, 0, 180, 10, 170, 10], [-180, 0, -170, 0, -170, 10, -180, 10],
                           [172, 2, 174, 2, 174, 4, 172, 4]],
                    "BB": [[172, 2, 174, 2, 174, 4, 172, 4]]})
    assert table.country(5, 179.9)[0] == "AA" and table.country(5, -179.9)[0] == "AA" and table.country(5, 185)[0] == "AA"
    assert table.country(3, 173)[0] == "BB"  # inside AA's hole
    assert table.country(5, 160) == (None, "outside every country shape")  # 1,100 km away


def test_the_shipped_shapes_name_their_source_and_cover_the_lists_the_rules_use():
    doc = json.loads(resources.files("monitor.policy").joinpath("data/country-shapes.json").read_text())
    assert "Natural Earth" in doc["source"] and "public domain" in doc["source"] and "naturalearthdata.com" in doc["source"]
    used = set(shipped_country_lists()["countries-of-concern"]["countries"])
    for rule in regulatory.rules():
        for listed in (*rule.origin, *rule.within, *rule.outside):
            used |= listed.countries
    missing = used - set(doc["countries"])
    # too small for 1:110m: a vehicle there is placed in its neighbour (or, on an island, nowhere)
    assert missing == {"AD", "FO", "GG", "IM", "JE", "LI", "MT"}


def test_the_vehicle_is_where_the_newest_can_fix_says_else_where_the_payload_says():
    state = VehicleState()
    state.add(LAT, np.array([10.0, 20.0]), np.array([48.137, 31.23]), "GW_GNSS_Position.Latitude")
    state.add(LON, np.array([10.0, 20.0]), np.array([11.576, 121.47]), "GW_GNSS_Position.Longitude")
    finding = Finding(25.0, "wire.jt808", "geolocation", "report", 1.0, position=Position(40.71, -74.0))
    place = vehicle_place(finding, state)
    assert place is not None and (place.country, place.source) == ("CN", "CAN")
    early = Finding(15.0, "wire.jt808", "geolocation", "report", 1.0, position=Position(40.71, -74.0))
    assert vehicle_place(early, state).country == "DE"  # the fix at the finding's time, not the newest
    assert vehicle_place(early, VehicleState()).country == "US"  # no CAN: the decoded position
    bare = Finding(15.0, "behaviour.beacon", "geolocation", "beacon", 1.0, position=Position(0.0, 0.0))
    assert vehicle_place(bare, VehicleState()) is None  # 0,0 is no fix
