"""The world, not only the seeds' Munich: drives from points in all four hemispheres, on the
equator and the prime meridian (crossing each), near both poles and across the antimeridian,
replayed through ``gatewatch replay`` and ``gatewatch report`` as a user runs them.

Each drive's capture sends the vehicle's position in every plaintext tracker protocol and in
every taint encoding (a destination each, one report every 5 s). Every position in every alert
record, Create/Update/Close, the first position and each track point, must equal what was sent at
that moment within that encoding's resolution, sign included: a hemisphere lost anywhere (JT/T
808 status bits, GT06 course word, NMEA letters, a magnitude-only binary form) fails it.
"""

from __future__ import annotations

import random
import re
import struct

import numpy as np
import pytest

from monitor.testing import frames
from monitor.testing.scene import T0, CanLog, Capture, Track, drive, gateway_frames
from monitor.testing.vehicle import route
from monitor.detect.geo import great_circle_km, lon_delta, track_km, wrap_lon

from ..builders import alerts_in, run

# (resolution in degrees, how to build a payload): the protocol's own scaling, or the taint form's
PROTOCOLS = {"jt808": 1e-6, "gbt32960": 1e-6, "teltonika": 1e-7, "gt06": 1 / 1.8e6, "queclink": 1e-6,
             "taip": 1e-5, "osmand": 1e-6, "nmea": 2e-6}
TAINT = {"int32": 1e-6, "float32-le": 1e-5, "float32-be": 1e-5, "float64-le": 1e-9, "float64-be": 1e-9,
         "text": 5e-5, "vendor-nmea": 2e-6, "magnitude": 1e-6}
LABELS = [*PROTOCOLS, *TAINT]
RESOLUTION = {**PROTOCOLS, **TAINT}
TAINT_TOLERANCE = 0.0005  # detectors.taint.position_tolerance_deg's default
RECORD_ROUNDING = 5e-8  # records keep 7 decimals
STARTS = {
    "north-east": (35.6812, 139.7671), "north-west": (40.7128, -74.0060),
    "south-east": (-33.8688, 151.2093), "south-west": (-11.8400, -76.4400),
    "equator": (-0.0060, 36.8219),  # drives north-east over the equator
    "prime-meridian": (51.4779, -0.0070),  # drives north-east over Greenwich
    "near-north-pole": (89.5, 20.0), "near-south-pole": (-89.5, -120.0),
    "antimeridian": (-17.7134, 179.9950),  # drives east from 180 E into 180 W
}
SECONDS, EVERY = 120, 5.0
HISTORY_S = 2.0  # the replay's detectors.taint.history_s: positions this old still count


def payload(label: str, lat: float, lon: float, t: float, k: int, rng: random.Random) -> bytes:
    if label in PROTOCOLS:
        return frames_report(label, lat, lon, t, k)
    if label == "text":
        return frames.text_position(rng, lat, lon)
    if label == "vendor-nmea":
        return frames.vendor_nmea(rng, lat, lon)
    if label == "magnitude":  # x1e6 magnitudes, the hemisphere in a flag byte of the sender's own
        flags = (1 if lat < 0 else 0) | (2 if lon < 0 else 0)
        return rng.randbytes(6) + struct.pack(">IIB", round(abs(lat) * 1e6), round(abs(lon) * 1e6), flags) + rng.randbytes(5)
    return frames.binary_position(rng, label, lat, lon)


def frames_report(protocol: str, lat: float, lon: float, t: float, k: int) -> bytes:
    imei, vin = "356307042441013", "LSVAU2180N2183294"
    builders = {"jt808": lambda: frames.jt808(lat, lon, t, k), "gbt32960": lambda: frames.gbt32960(lat, lon, t, vin, 50.0),
                "teltonika": lambda: frames.teltonika(lat, lon, t), "gt06": lambda: frames.gt06(lat, lon, t, k),
                "queclink": lambda: frames.queclink(lat, lon, t, imei), "taip": lambda: frames.taip(lat, lon, t, "0042"),
                "osmand": lambda: frames.osmand(lat, lon, t, imei, "tracker.example"), "nmea": lambda: frames.nmea_rmc(lat, lon, t)}
    return builders[protocol]()


def address(label: str) -> str:
    return f"203.0.113.{10 + LABELS.index(label)}"


def clear_of_zero(lat: float, lon: float) -> bool:
    """Taint matches a coordinate within its tolerance, so within that of 0 a run of zero bytes
    next to the other coordinate is as good a match as the value: report times skip that band."""
    return abs(lat) > 2 * TAINT_TOLERANCE and abs(lon) > 2 * TAINT_TOLERANCE


def write_scene(folder, track: Track) -> dict[str, list[tuple[float, float, float]]]:
    """The CAN log of ``track`` and a capture of every label's reports; returns what was sent
    (time, lat, lon) per label. Each report is one TCP session whose payload leaves 50 ms after
    it opens, 50 ms after the CAN sample it carries (a tracker sends what it last read)."""
    log = CanLog()
    gateway_frames(log, track)
    log.write(folder / "can.log")
    cap, rng, sent = Capture(), random.Random(23), {label: [] for label in LABELS}
    span = float(track.ts[-1] - track.ts[0])
    for k, offset in enumerate(np.arange(2.0, span - 2.0, EVERY).tolist()):
        at, i = T0 + offset + 0.05, int(round(offset * 10))
        lat, lon = float(track.lat[i]), float(track.lon[i])
        if not clear_of_zero(lat, lon):
            continue
        for n, label in enumerate(LABELS):
            cap.tcp_session(T0 + offset, address(label), 7000 + n, 40000 + 50 * k + n,
                            [("up", payload(label, lat, lon, at, k + 1, rng), 0.01)])
            sent[label].append((at, lat, lon))
    cap.write(folder / "capture.pcap")
    return sent


def replay(tmp_path, track: Track):
    folder = tmp_path / "scene"
    folder.mkdir()
    sent = write_scene(folder, track)
    config = folder / "config.yaml"
    config.write_text(f"version: 1\nextends: default\ndetectors:\n  taint:\n    history_s: {HISTORY_S}\n")
    code, _out, err = run("replay", str(folder / "can.log"), str(folder / "capture.pcap"), "-o", str(tmp_path / "out"),
                          "--vehicle-id", "world", "--config", str(config))
    assert code == 0, err
    return sent, alerts_in(tmp_path / "out", activity=None)


def truth_at(sent: list[tuple[float, float, float]], ts: float) -> tuple[float, float]:
    times = np.array([s[0] for s in sent])
    i = int(np.argmin(np.abs(times - ts)))
    assert abs(times[i] - ts) < 0.01, f"no report sent at {ts}"
    return sent[i][1], sent[i][2]


def check(where: str, got: tuple[float, float], want: tuple[float, float], resolution: float) -> None:
    lat, lon = got
    allowed = resolution + RECORD_ROUNDING + 1e-12
    assert abs(lat - want[0]) <= allowed and abs(lon_delta(want[1], lon)) <= allowed, \
        f"{where}: recorded {lat}, {lon}; sent {want[0]}, {want[1]} (resolution {resolution})"
    assert np.sign(lat) == np.sign(want[0]) and np.sign(wrap_lon(lon)) == np.sign(wrap_lon(want[1])), f"{where}: hemisphere lost"


def near_enough(where: str, got: tuple[float, float], want: tuple[float, float]) -> None:
    """Taint records the payload's bytes that lie within its tolerance of any CAN position of the
    last ``history_s`` (an escaped JT/T 808 byte, or random bytes next to the real longitude, may
    be that): judged by distance, at the tolerance plus the ground the vehicle covers in that
    history; the hemisphere as strictly as the wire decoders'."""
    metres = float(great_circle_km(got[0], got[1], want[0], want[1])) * 1000
    assert metres <= TAINT_TOLERANCE * 111_320 + HISTORY_S * 70 / 3.6, f"{where}: recorded {got}, sent {want}: {metres:.0f} m"
    assert np.sign(got[0]) == np.sign(want[0]) and np.sign(wrap_lon(got[1])) == np.sign(wrap_lon(want[1])), \
        f"{where}: hemisphere lost: recorded {got}, sent {want}"


@pytest.mark.parametrize("start", STARTS.values(), ids=STARTS.keys())
def test_every_recorded_position_is_the_sent_one_with_its_sign(tmp_path, start):
    track = drive(SECONDS, start=start, seed=5)
    sent, records = replay(tmp_path, track)
    by_address = {address(label): label for label in LABELS}
    seen: dict[str, set[str]] = {label: set() for label in LABELS}
    encodings: set[str] = set()
    for record in records:
        detector, label = record["detector"], by_address.get(record["record"]["evidences"][0]["dst_endpoint"]["ip"])
        if not (detector.startswith(("wire.", "taint.position"))) or label is None:
            continue
        positions = [(p[0], (p[1], p[2])) for p in (record.get("track") or {}).get("points", [])]
        if record.get("position"):
            positions.append((record["episode"]["first_ts"], (record["position"]["lat"], record["position"]["lon"])))
        for ts, got in positions:
            where, want = f"{label} {detector} {record['record']['activity_name']} at {ts}", truth_at(sent[label], ts)
            if detector.startswith("wire."):
                check(where, got, want, RESOLUTION[label])
            else:
                near_enough(where, got, want)
        seen[label].add(detector.split(".")[0])
        if detector == "taint.position":
            encodings.add(record["evidence"]["encoding"])
    assert all("wire" in seen[label] for label in PROTOCOLS), seen
    assert all("taint" in seen[label] for label in TAINT), {label: seen[label] for label in TAINT}
    if start[0] < 0 or start[1] < 0:  # the bytes carry magnitudes only: what the sign came from is the CAN bus
        assert any("magnitude" in e for e in encodings), encodings


def test_the_track_across_the_antimeridian_is_twenty_km_not_forty_thousand(tmp_path):
    """Due east along the equator from 179.9 E to 179.9 W, a JT/T 808 report every 5 s on one
    connection: 22 km. The episode's bounding box is the short arc (west 179.9, east -179.9) and
    the report measures the great circle."""
    ts = T0 + np.arange(0, 98.2, 0.1)
    lon = wrap_lon(179.9 + 0.2 * np.arange(len(ts)) / (len(ts) - 1))
    track = Track(ts, np.full(len(ts), 100.0), np.full(len(ts), -0.01), lon, 12_000 + np.arange(len(ts)) * 0.022)
    folder, log, cap = tmp_path / "scene", CanLog(), Capture()
    folder.mkdir()
    gateway_frames(log, track)
    log.write(folder / "can.log")
    leaves = 0.15 + np.arange(21) * 4.9005  # each payload's time: 4.9 s apart, a segment's 0.5 ms after the last
    samples = np.minimum(np.floor(leaves * 10).astype(int), len(ts) - 1)  # the CAN sample read last before it
    sent = [(float(track.lat[i]), float(track.lon[i])) for i in samples]
    steps = [("up", frames.jt808(lat, lon, T0, k + 1), 0.01 if k == 0 else 4.9) for k, (lat, lon) in enumerate(sent)]
    cap.tcp_session(T0 + 0.1, address("jt808"), 7000, 40000, steps)
    cap.write(folder / "capture.pcap")
    code, _out, err = run("replay", str(folder / "can.log"), str(folder / "capture.pcap"), "-o", str(tmp_path / "out"))
    assert code == 0, err
    close = next(r for r in alerts_in(tmp_path / "out", activity="Close") if r["detector"] == "wire.jt808")
    assert close["episode"]["positions_total"] == len(sent)
    (south, west), (north, east) = close["track"]["bbox"]
    assert (west, east) == (pytest.approx(sent[0][1], abs=1e-6), pytest.approx(sent[-1][1], abs=1e-6))
    assert west > 179 and east < -179  # across 180: west > east, as GeoJSON writes it
    expected = track_km(*zip(*sent, strict=True))
    assert expected == pytest.approx(great_circle_km(-0.01, sent[0][1], -0.01, sent[-1][1]), rel=1e-6)
    assert 21.0 < expected < 23.0  # 0.2 degrees of longitude at the equator, not 359.8
    page = tmp_path / "report.html"
    code, _out, err = run("report", str(tmp_path / "out"), "-o", str(page))
    assert code == 0, err
    text = page.read_text()
    length = float(re.search(r"track ([\d.]+) km", text).group(1))
    assert length == pytest.approx(expected, abs=0.1)
    west, east = map(float, re.search(r"([\d.]+)° E \.\. ([\d.]+)° W<", text).groups())
    assert west > 179 and east > 179, "the map spans the short arc, labelled by hemisphere"


def test_great_circle_distance_and_spans_at_the_edges_of_the_map():
    assert great_circle_km(0.0, 179.9, 0.0, -179.9) == pytest.approx(22.24, abs=0.01)
    assert great_circle_km(89.5, 0.0, 89.5, 180.0) == pytest.approx(111.2, abs=0.1)  # over the pole, not around it
    assert great_circle_km(0.0, -0.05, 0.0, 0.05) == pytest.approx(11.12, abs=0.01)
    assert wrap_lon(180.0) == -180.0 and wrap_lon(-190.0) == 170.0 and wrap_lon(11.576124) == 11.576124


@pytest.mark.parametrize("start", [(89.95, 10.0), (-89.95, -170.0), (0.0, 179.999), (-33.0, -179.999)])
def test_generated_routes_stay_on_the_globe_across_poles_and_the_antimeridian(start):
    """The benchmark's routes from a given start: every fix in range, and no step longer than
    the vehicle can drive in a tenth of a second (no jump of 360 degrees at 180, none at a pole)."""
    track = route(random.Random(3), 600, T0, start=start)
    assert (np.abs(track.lat) <= 90).all() and ((track.lon >= -180) & (track.lon < 180)).all()
    steps = great_circle_km(track.lat[:-1], track.lon[:-1], track.lat[1:], track.lon[1:])
    assert steps.max() < 110 / 3.6 / 10 / 1000 * 1.5  # 110 km/h for 0.1 s, with room for the planar steps
    assert (track.lat[0], track.lon[0]) == pytest.approx(start, abs=0.01)
