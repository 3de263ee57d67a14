"""Regulatory tags: which rule applies to this data going to this country. One table of
(data kind, where the vehicle is, where the data goes, where it is registered) -> tags, run
through the real table (policy/data/regulatory-categories.yaml), the real country shapes and a
VehicleState holding the CAN position, as the pipeline hands them over; then the reasons, the
"may apply" cases, the vehicle's position as the finding's own, and the configuration key."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detect.finding import Finding, Position
from monitor.errors import PolicyError
from monitor.pipeline import load_config
from monitor.policy import regulatory
from monitor.state import LAT, LON, VehicleState

#: A point well inside each country the table uses (no border within 30 km).
AT = {"DE": (48.137, 11.576), "US": (39.10, -94.58), "CN": (31.23, 121.47), "FR": (48.857, 2.352),
      "HK": (22.32, 114.17), "JP": (35.68, 139.76), "NO": (59.91, 10.75), "SEA": (40.0, -40.0)}
T = 1_000.0
DSP_GEO, DSP_ID, ICTS = "us-dsp-precise-geolocation", "us-dsp-covered-personal-identifiers", "us-dsp-connected-vehicle-data"
CN_TRACK, CN_VIDEO, CN_MAP = "cn-auto-data-trajectory", "cn-auto-data-external-video", "cn-icv-surveying-mapping"
EU_LOC, EU_ID, EU_VIDEO = "eu-gdpr-location-data", "eu-gdpr-personal-identifier", "eu-gdpr-external-video"


def state_at(country: str | None, t: float = T) -> VehicleState:
    state = VehicleState()
    if country is not None:
        lat, lon = AT[country]
        state.add(LAT, np.array([t]), np.array([lat]), "GW_GNSS_Position.Latitude")
        state.add(LON, np.array([t]), np.array([lon]), "GW_GNSS_Position.Longitude")
    return state


def finding(kind: str, destination: str | None, position: tuple[float, float] | None = None) -> Finding:
    """A finding of one data kind on a flow whose destination is in ``destination``."""
    flow = {"proto": "tcp", "orig_h": "10.0.0.2", "resp_h": "203.0.113.9", "direction": "outbound",
            "country": destination, "country_source": "rir" if destination else "special-purpose address (RFC 6890): no country"}
    made = {"geolocation": ("wire.jt808", "location report 0x0200", {"encoding": "int32 x1e6"}),
            "beacon": ("behaviour.beacon", "periodic small uploads", {}),
            "identity": ("taint.vin", "the VIN in an outbound payload", {}),
            "video": ("wire.rtp", "RTP stream", {}), "mapping": ("behaviour.mapping", "upload volume grows with distance", {}),
            "can": ("can.unknown_id", "unknown CAN id", {})}[kind]
    category = "geolocation" if kind == "beacon" else kind
    decoded = Position(*position) if position else (Position(48.1371540, 11.5761240) if kind == "geolocation" else None)
    return Finding(T, made[0], category, made[1], 0.9, flow=flow if kind != "can" else None, position=decoded,
                   evidence=made[2])


def tag_ids(kind: str, vehicle: str | None, destination: str | None, registered: str | None = None) -> dict[str, str]:
    tags = regulatory.tags(finding(kind, destination), state_at(vehicle), registered)
    return {t["id"]: t["applies"] for t in tags}


TABLE = [
    # data, vehicle in, destination, registered -> {tag: applies}
    ("geolocation", "DE", "CN", None, {EU_LOC: "yes"}),  # no US tag: no US person's data
    ("geolocation", "DE", "CN", "US", {EU_LOC: "yes", DSP_GEO: "yes", ICTS: "yes"}),  # a US vehicle abroad
    ("geolocation", "US", "CN", None, {DSP_GEO: "yes", ICTS: "yes"}),
    ("geolocation", "US", "HK", None, {DSP_GEO: "yes", ICTS: "yes"}),  # 202.601: China includes Hong Kong
    ("geolocation", "US", "CU", None, {DSP_GEO: "yes"}),  # a country of concern, but 791 names only China and Russia
    ("geolocation", "US", "DE", None, {}),
    ("geolocation", "CN", "US", None, {CN_TRACK: "yes"}),
    ("geolocation", "CN", "HK", None, {CN_TRACK: "yes"}),  # Hong Kong is outside the mainland
    ("geolocation", "CN", "CN", None, {}),
    ("geolocation", "CN", "CN", "US", {DSP_GEO: "yes", ICTS: "yes"}),  # China's rules: it stays; the US rule: a US vehicle's
    ("geolocation", "HK", "US", None, {}),  # a vehicle in Hong Kong is not in mainland China
    ("geolocation", "FR", "JP", None, {}),  # adequacy decision
    ("geolocation", "FR", "IN", None, {EU_LOC: "yes"}),
    ("geolocation", "FR", "DE", None, {}),
    ("geolocation", "FR", "CH", None, {}),
    ("geolocation", "FR", "NO", None, {}),  # Norway is in the EEA (a bare NO in YAML would be false)
    ("geolocation", "NO", "IN", None, {EU_LOC: "yes"}),
    ("geolocation", "FR", "US", None, {EU_LOC: "may"}),  # the DPF covers certified organisations only
    ("geolocation", "JP", "IN", "DE", {EU_LOC: "yes"}),  # an EEA-registered vehicle's data follows it
    ("geolocation", "JP", "IN", "CN", {}),  # Chinese rules follow the position, not the registration
    ("beacon", "US", "CN", None, {ICTS: "yes"}),  # no decoded position: 202.242's precision cannot be shown
    ("identity", "US", "RU", None, {DSP_ID: "yes"}),
    ("identity", "DE", "RU", None, {EU_ID: "yes"}),
    ("identity", "CN", "US", None, {}),
    ("video", "CN", "DE", None, {CN_VIDEO: "yes", CN_MAP: "yes"}),
    ("video", "DE", "RU", None, {EU_VIDEO: "yes"}),
    ("video", "US", "CN", None, {ICTS: "yes"}),
    ("video", "US", "RU", None, {ICTS: "yes"}),
    ("mapping", "CN", "US", None, {CN_MAP: "yes"}),
    ("mapping", "DE", "IN", None, {EU_LOC: "yes"}),
    ("mapping", "US", "RU", None, {ICTS: "yes"}),
    ("mapping", "US", "JP", None, {}),
    ("can", "CN", None, None, {}),
    # the vehicle's position unknown (no CAN fix, no decoded position) or at sea: registration only
    ("mapping", None, "US", None, {}),
    ("mapping", None, "US", "CN", {CN_MAP: "yes"}),
    ("mapping", None, "IN", "FR", {EU_LOC: "yes"}),
    ("mapping", "SEA", "IN", "FR", {EU_LOC: "yes"}),
    ("mapping", "SEA", "IN", None, {}),
    # the destination's country unknown: what the data and origin call for, as "may"
    ("geolocation", "DE", None, None, {EU_LOC: "may"}),
    ("video", "CN", None, None, {CN_VIDEO: "may", CN_MAP: "may"}),
    ("identity", "US", None, None, {DSP_ID: "may"}),
]


@pytest.mark.parametrize(("kind", "vehicle", "destination", "registered", "expected"), TABLE,
                         ids=[f"{k}-{v}-to-{d}-reg-{r}" for k, v, d, r, _ in TABLE])
def test_the_rule_for_this_data_from_here_to_there(kind, vehicle, destination, registered, expected):
    assert tag_ids(kind, vehicle, destination, registered) == expected


def test_every_tag_says_why_the_data_the_vehicle_and_the_destination():
    tags = {t["id"]: t for t in regulatory.tags(finding("geolocation", "CN"), state_at("US"), None)}
    why = tags[DSP_GEO]["why"]
    assert "precise to about 0.111 m, within 1000 m" in why and "the vehicle is in US (39.100,-94.580 from CAN, inside)" in why
    assert "the destination is in CN, in countries-of-concern" in why and "202.242" in tags[DSP_GEO]["paragraph"]
    may = regulatory.tags(finding("geolocation", "US"), state_at("FR"), None)[0]
    assert may["applies"] == "may" and "Data Privacy Framework" in may["why"]
    unknown = regulatory.tags(finding("geolocation", None), state_at("DE"), None)[0]
    assert "the destination's country is unknown (special-purpose address" in unknown["why"]
    registered = regulatory.tags(finding("mapping", "US"), state_at(None), "CN")[0]
    assert "no position of the vehicle is known; the vehicle is registered in CN (alerts.vehicle_country)" in registered["why"]


def test_without_a_can_fix_the_finding_s_own_position_places_the_vehicle():
    shanghai = finding("geolocation", "US", position=AT["CN"])
    tags = regulatory.tags(shanghai, state_at(None), None)
    assert [t["id"] for t in tags] == [CN_TRACK] and "from payload" in tags[0]["why"]
    # a CAN fix wins over the payload's claim, but not one older than ten minutes
    assert regulatory.tags(shanghai, state_at("DE"), None)[0]["id"] == EU_LOC
    assert [t["id"] for t in regulatory.tags(shanghai, state_at("DE", t=T - 700), None)] == [CN_TRACK]


def test_every_rule_of_the_table_compiles_and_a_bad_entry_names_itself(monkeypatch):
    assert {r.id for r in regulatory.rules()} >= {DSP_GEO, DSP_ID, ICTS, CN_TRACK, CN_VIDEO, CN_MAP, EU_LOC, EU_ID, EU_VIDEO}
    entry = {"id": "x", "name": "n", "regulation": "r", "paragraph": "p", "categories": ["geolocation"],
             "origin": {"countries": ["nowhere"], "registered": "also"}, "destination": {"in": ["CN"]}}
    with pytest.raises(PolicyError, match=r"rule 'x': 'nowhere' is neither a country list"):
        regulatory._rule(entry, {})
    with pytest.raises(PolicyError, match=r"rule 'x': categories from"):
        regulatory._rule({**entry, "categories": ["weather"]}, {})
    monkeypatch.setattr(regulatory, "regulatory_categories", lambda: {"lists": {"eea": {"countries": ["DE", False]}}, "rules": []})
    with pytest.raises(PolicyError, match=r"list 'eea': countries are ISO 3166-1 alpha-2 codes \(quote NO\)"):
        regulatory.rules.__wrapped__()


def test_vehicle_country_is_read_from_the_alerts_section_and_checked(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nalerts: {vehicle_id: car-1, vehicle_country: us}\n")
    assert load_config(good).alerts.vehicle_country == "US"
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nalerts:\n  vehicle_country: USA\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:3:\d+: vehicle_country must be an ISO 3166-1 alpha-2 code, not 'USA'"):
        load_config(bad)
