"""The records: OCSF Detection Findings valid against the shipped schema, episodes that lose
no position, vehicle identity, position precision, and the chain across rotation and restarts."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema

from monitor.alerts.logfiles import read_file
from monitor.alerts.read import gatewatch

from ..conftest import PROJECT
from .conftest import VIN, replay_into, report_positions

SCHEMA = json.loads((PROJECT / "monitor" / "alerts" / "detection-finding.schema.json").read_text())


def all_records(folder: Path) -> list[dict]:
    return [e.record for path in sorted(folder.glob("alerts-*.jsonl")) for e in read_file(path) if e.record]


def test_every_position_of_many_reports_on_one_flow_is_in_the_records(tmp_path, drive):
    code, _out, err = replay_into(tmp_path / "out", *drive, extra=("--vehicle-id", "car-7"))
    assert code == 0, err
    records = [r for r in all_records(tmp_path / "out") if gatewatch(r)["detector"] == "wire.jt808"]
    assert [r["activity_name"] for r in records] == ["Create", "Update", "Close"]  # 300 points: 1 + 255 | 256 | 44
    points = [(round(p[1], 6), round(p[2], 6)) for r in records for p in gatewatch(r)["track"]["points"]]
    assert points == [(round(lat, 6), round(lon, 6)) for lat, lon in report_positions(300)]
    close = records[-1]
    assert close["count"] == 300 and gatewatch(close)["episode"]["positions_total"] == 300
    assert gatewatch(close)["episode"]["closed_by"] == "flow end"
    assert gatewatch(close)["episode"]["flow_bytes"]["out"] > 300 * 40
    box = gatewatch(close)["track"]["bbox"]
    assert box[0] == [48.1, 11.5] and abs(box[1][0] - (48.1 + 299e-4)) < 1e-9


def test_records_are_ocsf_detection_findings_with_vehicle_destination_and_chain(tmp_path, drive):
    replay_into(tmp_path / "out", *drive, extra=("--vehicle-id", "car-7"))
    files = sorted((tmp_path / "out").glob("alerts-*.jsonl"))
    assert [f.name for f in files] == ["alerts-car-7-000000000001.jsonl"]
    records = all_records(tmp_path / "out")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for record in records:
        assert not list(validator.iter_errors(record))
    first = records[0]
    assert first["class_uid"] == 2004 and first["category_uid"] == 2 and first["type_uid"] == 200401
    assert first["metadata"]["version"] == "1.2.0" and first["metadata"]["product"]["name"] == "gatewatch"
    assert first["device"]["uid"] == "car-7" and gatewatch(first)["vehicle"] == {"id": "car-7", "vin": VIN}
    report = next(r for r in records if gatewatch(r)["detector"] == "wire.jt808")
    assert report["evidences"][0]["dst_endpoint"]["port"] == 7018
    assert {"name": "dst_endpoint.ip", "type_id": 2, "type": "IP Address", "value": "203.0.113.9"} in report["observables"]
    assert gatewatch(report)["flow"]["community_id"].startswith("1:")
    assert [r["unmapped"]["chain"]["seq"] for r in records] == list(range(1, len(records) + 1))
    assert all(b["unmapped"]["chain"]["prev"] == a["unmapped"]["chain"]["hash"] for a, b in itertools.pairwise(records))


def test_a_schema_violation_is_caught():
    broken = {"class_uid": 2004, "activity_id": 1}
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(broken))


def test_position_precision_rounds_every_position_in_the_log(tmp_path, drive):
    config = tmp_path / "coarse.yaml"
    config.write_text("version: 1\nextends: default\nalerts: {vehicle_id: coarse, position_decimals: 2}\n")
    code, _, err = replay_into(tmp_path / "out", *drive, config=config)
    assert code == 0, err
    text = "".join(p.read_text() for p in (tmp_path / "out").glob("alerts-*.jsonl"))
    assert "48.1001" not in text and "11.5002" not in text  # full-precision values appear nowhere
    points = [p for r in all_records(tmp_path / "out") for p in (gatewatch(r).get("track") or {}).get("points", [])]
    assert points and all(round(p[1], 2) == p[1] and round(p[2], 2) == p[2] for p in points)


def test_the_chain_continues_across_rotated_files_and_an_appended_run(tmp_path, drive):
    config = tmp_path / "small.yaml"
    config.write_text("version: 1\nextends: default\nalerts: {vehicle_id: small, rotate_mb: 0.004, track_points: 16}\n")
    assert replay_into(tmp_path / "out", *drive, config=config)[0] == 0
    first_run = all_records(tmp_path / "out")
    assert len(sorted((tmp_path / "out").glob("alerts-small-*.jsonl"))) > 2
    refused = replay_into(tmp_path / "out", *drive, config=config)
    assert refused[0] == 1 and "--force replaces them, --append continues the chain" in refused[2]
    assert replay_into(tmp_path / "out", *drive, config=config, extra=("--append",))[0] == 0
    both = all_records(tmp_path / "out")
    assert [r["unmapped"]["chain"]["seq"] for r in both] == list(range(1, 2 * len(first_run) + 1))
    assert both[len(first_run)]["unmapped"]["chain"]["prev"] == first_run[-1]["unmapped"]["chain"]["hash"]
    code, _out, _ = replay_into(tmp_path / "out", *drive, config=config, extra=("--force",))
    assert code == 0 and len(all_records(tmp_path / "out")) == len(first_run)


def test_a_torn_last_line_is_reported_and_the_writer_goes_on_after_it(tmp_path, drive):
    out = tmp_path / "out"
    replay_into(out, *drive, extra=("--vehicle-id", "torn"))
    path = next(out.glob("alerts-torn-*.jsonl"))
    path.write_bytes(path.read_bytes() + b'{"activity_id": 1, "class_ui')  # power cut mid-write
    entries = list(read_file(path))
    assert entries[-1].torn and entries[-1].record is None and all(e.record for e in entries[:-1])
    assert replay_into(out, *drive, extra=("--vehicle-id", "torn", "--append"))[0] == 0
    entries = list(read_file(path))
    assert [e.torn for e in entries if e.record is None] == [False]  # no longer last: a damaged line
    seqs = [e.record["unmapped"]["chain"]["seq"] for e in entries if e.record]
    assert seqs == list(range(1, len(seqs) + 1))


def test_an_unwritable_output_is_one_line(tmp_path, drive):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = replay_into(blocker / "sub", *drive)
    assert code == 1 and err.count("\n") == 1 and "cannot write the output folder" in err


def test_a_flows_episodes_close_by_first_time_then_opening_order():
    """When a flow ends its episodes close oldest first (by their first finding's time, ties in
    the order they opened), not in the hash order of their keys that PYTHONHASHSEED changes."""
    from monitor.alerts.episodes import Episodes
    from monitor.detect.finding import Finding, Verdict

    written: list[dict] = []
    episodes = Episodes(written.append, lambda: {"id": "v"})
    flow = {"flow_id": 3, "proto": "tcp", "orig_h": "192.168.1.2", "orig_p": 40000, "resp_h": "203.0.113.5",
            "resp_p": 7018, "direction": "outbound"}
    for ts, detector, category in [(10.0, "wire.jt808", "geolocation"), (5.0, "behaviour.beacon", "geolocation"),
                                   (7.0, "wire.jt808", "identity"), (5.0, "taint.position", "geolocation")]:
        finding = Finding(ts, detector, category, "seen", 0.8, flow=dict(flow))
        finding.verdict = Verdict("alert", None)
        episodes.finding(finding)
    episodes.flow_ended({"flow_id": 3, "orig_ip_bytes": 100, "resp_ip_bytes": 50})
    closed = [gatewatch(r)["episode"]["uid"] for r in written if r["activity_name"] == "Close"]
    assert closed == ["v:behaviour.beacon:2", "v:taint.position:4", "v:wire.jt808:3", "v:wire.jt808:1"]
