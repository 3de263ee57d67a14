"""`gatewatch report`: one self-contained HTML file, opened in a real headless browser (Debian's
chromium): its DOM holds one table row per episode, the legend names the categories present,
nothing is fetched from the network, its Content-Security-Policy lets its own style sheet apply
(the console names no violation), and the screenshot is a rendered page."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess

import pytest

from monitor.alerts.reportmap import SCRIPT

from ..builders import run
from ..conftest import PROJECT
from .conftest import replay_into

TRIAL = PROJECT / "seeds" / "policy-trial"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("needs Debian's chromium (deploy/setup-dev.sh installs it when run as root)")
    return binary


def browse(tmp_path, page, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra,
                           page.as_uri()], capture_output=True, text=True, timeout=120, check=False)


def test_the_report_shows_every_episode_the_categories_and_the_track(tmp_path, drive):
    assert replay_into(tmp_path / "fleet" / "trial", TRIAL / "can.log", TRIAL / "capture.pcap",
                       config=TRIAL / "policy.yaml", extra=("--vehicle-id", "trial"))[0] == 0
    assert replay_into(tmp_path / "fleet" / "reports", *drive, extra=("--vehicle-id", "reports"))[0] == 0
    page = tmp_path / "report.html"
    code, _out, err = run("report", str(tmp_path / "fleet"), "-o", str(page), "--config", str(TRIAL / "policy.yaml"))
    assert code == 0, err
    text = page.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert re.findall(r"<script>(.*?)</script>", text, re.DOTALL) == [SCRIPT]  # the map's own, a constant
    _, summary, _ = run("alerts", "summary", str(tmp_path / "fleet"), "--json")
    expected = json.loads(summary)

    dom = browse(tmp_path, page, "--dump-dom", "--enable-logging=stderr", "--v=0")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Content-Security-Policy" in text and "Content Security Policy" not in dom.stderr  # its own sheet applies
    rows = re.findall(r'<tr class="alert" data-category="(\w+)"', dom.stdout)
    assert len(rows) == expected["episodes"]
    legend = re.findall(r'<span class="legend-item" data-category="(\w+)"', dom.stdout)
    assert sorted(legend) == sorted(expected["by_category"]) and set(rows) == set(legend)
    assert len(re.findall(r'<tr class="vehicle">', dom.stdout)) == 2
    assert dom.stdout.count('class="pt k-') >= 2 and len(re.findall(r'<g class="track" data-vehicle="', dom.stdout)) == 2
    assert re.search(r"<td>198\.51\.100\.10</td><td>[^<]*</td><td>DE</td>", dom.stdout)  # country from the trial's MaxMind DB

    shot = tmp_path / "report.png"
    done = browse(tmp_path, page, f"--screenshot={shot}", "--window-size=1280,1600")
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 1600)
    assert len(data) > 40_000  # a rendered page with text, tables and plots, not a blank one


def test_destinations_are_network_endpoints_and_an_address_is_no_name(tmp_path):
    """can0 is a bus, not a destination: CAN findings get their own table by bus and id; a
    destination whose only "name" is its own address shows no name."""
    from monitor.alerts.report import build_report

    from .conftest import policy_trial_records

    records = policy_trial_records(tmp_path / "out")
    named = next(r for r in records if r["unmapped"]["gatewatch"].get("destination", {}).get("names"))
    address = named["evidences"][0]["dst_endpoint"]["ip"]
    for record in records:
        if record.get("evidences") and record["evidences"][0].get("dst_endpoint", {}).get("ip") == address:
            record["unmapped"]["gatewatch"]["destination"]["names"] = [{"name": address}]
    page = build_report(records)
    destinations = re.search(r'<table id="destinations">(.*?)</table>', page, re.DOTALL)[1]
    assert "can0" not in destinations
    assert re.search(rf"<td>{re.escape(address)}</td><td>-</td>", destinations)
    assert re.search(r'<tr class="can-row" data-bus="can0"><td>can0</td><td>0x123</td>', page)
    alerts = re.findall(r'<tr class="alert" data-category="\w+">(.*?)</tr>', page)
    assert not any(f"{address}, " in row or f">{address}:{address}" in row for row in alerts)
