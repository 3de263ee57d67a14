"""``gatewatch replay`` as a user runs it, and the lab's ROAD figures (``python -m lab.road``)."""

from __future__ import annotations

import io

from lab import road
from monitor.cli import main

from ..builders import alerts_in, encode, gateway_db, lab, packet, write_log, write_pcap
from ..conftest import corpus

FIELDS = {"detector", "category", "seen", "confidence", "episode", "vehicle", "verdict"}


def test_replay_writes_findings_and_reports_bad_lines_with_file_and_line(tmp_path):
    db, t0 = gateway_db(), 1_700_000_000.0
    lines = [encode(db, "GW_GNSS_Position", t0 + 0.1 * k, Latitude=48.137154, Longitude=11.576124) for k in range(50)]
    log = write_log(tmp_path / "can.log", lines)
    log.write_text(log.read_text() + "this is not a candump line\n")
    body = b'{"lat": 48.137154, "lon": 11.576124, "speed": 12}'
    request = b"POST /track HTTP/1.1\r\nHost: fleet.example\r\nContent-Type: application/json\r\n\r\n" + body
    pcap = write_pcap(tmp_path / "up.pcap", [packet(t0 + 3, request, dport=80)])
    out, err = io.StringIO(), io.StringIO()
    assert main(["replay", str(log), str(pcap), "-o", str(tmp_path / "out")], out, err) == 0
    records = alerts_in(tmp_path / "out")
    assert records and all(FIELDS <= set(r) for r in records)
    detectors = {r["detector"] for r in records}
    assert {"wire.json", "taint.position"} <= detectors
    wire = next(r for r in records if r["detector"] == "wire.json")
    assert wire["position"] == {"lat": 48.137154, "lon": 11.576124} and wire["evidence"]["host"] == "fleet.example"
    assert wire["flow"]["resp_p"] == 80 and wire["flow"]["direction"] == "outbound"
    assert f"skipped {log}:51:" in err.getvalue()
    assert "findings: " in out.getvalue() and "50 CAN frames, 1 malformed lines skipped" in out.getvalue()


def test_replay_refuses_a_missing_recording(tmp_path):
    err = io.StringIO()
    assert main(["replay", str(tmp_path / "nope.log"), "-o", str(tmp_path)], io.StringIO(), err) == 1
    assert "nope.log: no such recording" in err.getvalue()


def test_road_rules_catch_fuzzing_and_cannot_see_masquerade():
    """Unknown ids catch fuzzing; a timing rule has near-zero recall on masquerade, whose
    forged frames keep the replaced sender's rate (the known ceiling for timing-only rules)."""
    fuzzing = road.evaluate(corpus("can-ids", "road-processed", "fuzzing_attack_3.csv.gz"))
    assert fuzzing["unknown_id"]["recall"] >= 0.9 and fuzzing["unknown_id"]["precision"] >= 0.9
    fabrication = road.evaluate(corpus("can-ids", "road-processed", "correlated_signal_attack_3.csv.gz"))
    assert fabrication["timing"]["recall"] >= 0.9 and fabrication["timing"]["precision"] >= 0.9
    masquerade = road.evaluate(corpus("can-ids", "road-processed", "correlated_signal_attack_3_masquerade.csv.gz"))
    assert masquerade["either"]["recall"] <= 0.1
    # what the forged frames say gives them away: the payload models rank them above the benign cells
    assert masquerade["payload"]["auroc"] >= 0.95
    code, out, err = lab("road", str(corpus("can-ids", "road-processed", "fuzzing_attack_3.csv.gz")))
    assert code == 0, err
    assert "fuzzing_attack_3" in out and "P/R" in out
