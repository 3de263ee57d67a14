"""The report's map and timeline, in a real headless Chromium over the DevTools protocol
(devtools.py): a three-vehicle fleet on two hemispheres (Munich; Sao Paulo, south and west;
Fiji, driving across the antimeridian), each replayed by the real pipeline from its own CAN log
and capture into the collector's layout, reported by ``gatewatch report``.

The page must make no request but itself, log no console error, exception or CSP violation,
draw each vehicle's track as its own element in its own colour, a line from each vehicle to its
destination's country (a country of concern marked), label hemispheres by letter, keep the Fiji
track short (not across the world), zoom and pan with its own script, and count every finding
in the timeline."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from monitor.alerts import reportmap
from monitor.testing.drive import jt808_location

from ..builders import encode, gateway_db, run, stream, vin_lines, write_log, write_pcap
from .conftest import replay_into
from .devtools import DevTools
from .test_report import chromium

T0 = 1_700_000_000.0
#: vehicle: (first position, step per report in degrees, destination address, its country, start)
FLEET = {
    "van-munich": ((48.137, 11.575), (1e-4, 2e-4), "5.9.0.1", "DE", T0),
    "van-saopaulo": ((-23.55, -46.633), (-1e-4, -2e-4), "8.8.8.8", "US", T0 + 3600),
    "van-fiji": ((-16.80, 179.96), (1e-5, 3e-4), "1.2.4.8", "CN", T0 + 2 * 86400),
}
REPORTS = 240
#: The scale bar's pixels per km, from its length and label.
SCALE = ("(t => (+document.getElementById('scale-bar').getAttribute('x2') - 16) / "
         "(t.endsWith(' km') ? parseFloat(t) : parseFloat(t) / 1000))(document.getElementById('scale-label').textContent)")


def positions(start, step, n=REPORTS) -> list[tuple[float, float]]:
    return [(start[0] + i * step[0], (start[1] + i * step[1] + 180.0) % 360.0 - 180.0) for i in range(n)]


def drive(directory: Path, vehicle: str) -> tuple[Path, Path]:
    """Location reports (JT/T 808, hemispheres in the status word) to one server, the VIN on CAN."""
    start, step, address, _, t0 = FLEET[vehicle]
    directory.mkdir(parents=True)
    db = gateway_db()
    lines = vin_lines(db, "WVWZZZ1JZXW000001", t0) + [encode(db, "GW_VehicleMotion", t0 + 0.1 * k, VehicleSpeed=50,
                                                               Odometer=100, GearReverse=0) for k in range(10)]
    log = write_log(directory / "can.log", lines)
    payloads = [jt808_location(lat, lon, i) for i, (lat, lon) in enumerate(positions(start, step))]
    capture = write_pcap(directory / "uplink.pcap", stream(t0 + 1, payloads, dport=7018, interval=0.5, dst=address))
    return log, capture


@pytest.fixture(scope="module")
def fleet_report(tmp_path_factory) -> tuple[Path, Path]:
    chromium()
    root = tmp_path_factory.mktemp("fleet")
    for vehicle in FLEET:
        recordings = drive(root / "drives" / vehicle, vehicle)
        code, _, err = replay_into(root / "fleet" / vehicle, *recordings, extra=("--vehicle-id", vehicle))
        assert code == 0, err
    page = root / "report.html"
    code, _, err = run("report", str(root / "fleet"), "-o", str(page))
    assert code == 0, err
    return root, page


@pytest.fixture
def browser(tmp_path):
    chrome = DevTools(tmp_path / "profile")
    yield chrome
    chrome.close()


def test_the_map_draws_each_vehicle_and_where_its_data_went_offline(fleet_report, browser):
    _, page = fleet_report
    browser.open(page.as_uri())
    assert browser.requests() == [page.as_uri()], "the page asked for something besides itself"
    assert browser.problems() == [], browser.problems()

    tracks = browser.evaluate("[...document.querySelectorAll('#map-tracks g.track')].map(g => [g.dataset.vehicle, "
                              "g.querySelector('path').getAttribute('stroke'), g.getBBox().width])")
    assert sorted(t[0] for t in tracks) == sorted(FLEET)
    assert len({t[1] for t in tracks}) == 3, "one colour per vehicle"
    fiji = next(t for t in tracks if t[0] == "van-fiji")
    assert 0 < fiji[2] < 1, f"the Fiji track spans {fiji[2]} degrees: drawn across the world, not across 180"
    legend = browser.evaluate("[...document.querySelectorAll('#map-legend [data-vehicle]')].map(e => e.dataset.vehicle)")
    assert sorted(legend) == sorted(FLEET)

    lines = browser.evaluate("[...document.querySelectorAll('#map-lines path.dest-line')].map(p => "
                             "[p.dataset.vehicle, p.dataset.country, p.dataset.concern || '', p.getBBox().width])")
    assert {(v, c) for v, c, _, _ in lines} == {(v, spec[3]) for v, spec in FLEET.items()}
    assert {c for _, c, concern, _ in lines if concern} == {"CN"}  # 28 CFR 202.601's list, as shipped
    assert all(width < 180 for *_, width in lines), "a destination line goes the short way round"
    shapes = browser.evaluate("document.querySelectorAll('#basemap path.land').length")
    assert shapes == len(reportmap.country_points()) > 150
    tinted = browser.evaluate("[...document.querySelectorAll('path.dest-country')].map(p => p.dataset.country)")
    assert sorted(tinted) == ["CN", "DE", "US"]

    points = browser.evaluate("[...document.querySelectorAll('#map-points path.pt')].map(p => p.dataset.category)")
    assert points and set(points) == {"geolocation"}
    assert "#d62728" in browser.evaluate("getComputedStyle(document.querySelector('#map-points path.pt')).stroke") or \
        browser.evaluate("getComputedStyle(document.querySelector('#map-points path.pt')).stroke") == "rgb(214, 39, 40)"


def test_hemispheres_are_letters_and_zoom_and_pan_move_the_view(fleet_report, browser):
    _, page = fleet_report
    browser.open(page.as_uri())
    bounds = browser.evaluate("document.getElementById('map-bounds').textContent")
    assert re.fullmatch(r"[\d.]+° [NS] \.\. [\d.]+° [NS], [\d.]+° [EW] \.\. [\d.]+° [EW]", bounds), bounds
    assert "-" not in bounds
    assert " S .. " in bounds, bounds  # the fleet reaches south of the equator
    labels = browser.evaluate("[...document.querySelectorAll('#map-labels text')].map(t => t.textContent)")
    assert sorted(labels) == ["CN (country of concern)", "DE", "US"]

    first = browser.evaluate("document.getElementById('map').dataset.view")
    scale = browser.evaluate(SCALE)
    browser.evaluate("document.getElementById('zoom-in').click()")
    zoomed = browser.evaluate("document.getElementById('map').dataset.view")
    assert float(zoomed.split()[0]) == pytest.approx(2 * float(first.split()[0]))
    assert browser.evaluate(SCALE) == pytest.approx(2 * scale, rel=1e-3)  # pixels per km on the bar: doubled
    box = browser.evaluate("(r => [r.x + r.width / 2, r.y + r.height / 2])(document.getElementById('map').getBoundingClientRect())")
    browser.send("Input.dispatchMouseEvent", type="mouseWheel", x=box[0], y=box[1], deltaX=0, deltaY=-300)
    browser.evaluate("new Promise(r => requestAnimationFrame(() => r(1)))")
    wheeled = browser.evaluate("document.getElementById('map').dataset.view")
    assert float(wheeled.split()[0]) > float(zoomed.split()[0])
    for kind, x in (("mousePressed", box[0]), ("mouseMoved", box[0] + 100), ("mouseReleased", box[0] + 100)):
        browser.send("Input.dispatchMouseEvent", type=kind, x=x, y=box[1], button="left", buttons=1 if kind != "mouseReleased" else 0,
                     clickCount=1)
    panned = browser.evaluate("document.getElementById('map').dataset.view")
    assert float(panned.split()[1]) > float(wheeled.split()[1])  # dragged right: the scene moved right
    browser.evaluate("document.getElementById('zoom-reset').click()")
    assert browser.evaluate("document.getElementById('map').dataset.view") == first
    assert browser.problems() == [] and browser.requests() == [page.as_uri()]


def test_the_timeline_counts_every_finding_per_category_and_vehicle(fleet_report, browser):
    root, page = fleet_report
    browser.open(page.as_uri())
    _, summary, _ = run("alerts", "summary", str(root / "fleet"), "--json")
    hits = json.loads(summary)["hits"]
    caption = browser.evaluate("document.getElementById('timeline-caption').dataset.unit")
    assert caption == "1 h"  # two days of data: hourly bins
    by_lane = browser.evaluate("[...document.querySelectorAll('#timeline rect.bar')].reduce((n, r) => n + +r.dataset.count, 0)")
    by_vehicle = browser.evaluate("[...document.querySelectorAll('#timeline-vehicles rect.bar')]"
                                  ".reduce((n, r) => n + +r.dataset.count, 0)")
    assert by_lane == by_vehicle == hits > len(FLEET)
    rows = browser.evaluate("[...document.querySelectorAll('#timeline-vehicles g.vehicle-row')].map(g => g.dataset.vehicle)")
    assert sorted(rows) == sorted(FLEET)
    destinations = browser.evaluate("[...document.querySelectorAll('#destinations tr td:first-child')].map(t => t.textContent)")
    assert sorted(destinations) == sorted(spec[2] for spec in FLEET.values())  # network endpoints only


def test_a_screenshot_is_a_rendered_map(fleet_report, browser, tmp_path):
    _, page = fleet_report
    browser.open(page.as_uri())
    shot = tmp_path / "map.png"
    browser.screenshot(shot, 1280, 1000)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", data[16:20])[0] > 1200  # less a scrollbar
    assert len(data) > 40_000


def test_the_harness_sees_a_request_and_a_console_error(browser, tmp_path):
    """So the checks above could fail: a page that fetches and logs an error is seen doing both."""
    page = tmp_path / "noisy.html"
    page.write_text("<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'>"
                    "<script>console.error('noisy')</script></body></html>")
    browser.open(page.as_uri())
    assert "http://127.0.0.1:9/x.png" in browser.requests()
    assert any(e.get("method") == "Runtime.consoleAPICalled" for e in browser.problems())
