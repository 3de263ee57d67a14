"""SARIF of ``gatewatch test`` against the OASIS SARIF 2.1.0 schema (tests/data/ci-schemas/) and
the fields GitHub code scanning's upload requires, checked by name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema

from monitor.cli.sarif import FINGERPRINT, sarif, uri
from monitor.scenarios import Scenario

from ..conftest import PROJECT

SCHEMA = PROJECT / "tests" / "data" / "ci-schemas" / "sarif-schema-2.1.0.json"


def sarif_problems(log: dict) -> list[str]:
    """Everything wrong with a SARIF log: the OASIS schema's errors (formats checked too), then
    GitHub's required fields (docs "SARIF support for code scanning")."""
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()),
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    if log.get("version") != "2.1.0" or "$schema" not in log:
        problems.append("version 2.1.0 and $schema")
    for run in log.get("runs", []):
        driver = run["tool"]["driver"]
        rules = [rule["id"] for rule in driver.get("rules", [])]
        problems += [] if driver.get("name") else ["tool.driver.name"]
        problems += [f"rule {rule['id']} without shortDescription.text" for rule in driver.get("rules", [])
                     if not rule.get("shortDescription", {}).get("text")]
        for i, result in enumerate(run.get("results", [])):
            problems += _result_problems(i, result, rules)
    return problems


def _result_problems(i: int, result: dict, rules: list[str]) -> list[str]:
    problems = []
    if result.get("ruleId") not in rules or rules[result.get("ruleIndex", -1)] != result["ruleId"]:
        problems.append(f"results[{i}]: ruleId/ruleIndex not a rule of the driver")
    if not result.get("message", {}).get("text"):
        problems.append(f"results[{i}]: message.text")
    if not result.get("locations"):
        problems.append(f"results[{i}]: no locations")
    for location in result.get("locations", []):
        physical = location.get("physicalLocation", {})
        if not physical.get("artifactLocation", {}).get("uri") or physical.get("region", {}).get("startLine", 0) < 1:
            problems.append(f"results[{i}]: physicalLocation.artifactLocation.uri and region.startLine >= 1")
    if not result.get("partialFingerprints", {}).get(FINGERPRINT):
        problems.append(f"results[{i}]: partialFingerprints")
    return problems


ROW = {"detector": "wire.rtp", "category": "video", "destination": "198.51.100.70", "port": 5004, "action": "block",
       "rule": "no-video", "count": 3, "seen": "RTP H.264", "time": 1700000000.25, "vehicle": "van-1",
       "names": ["cam.example"], "country": "DE", "proto": "udp"}


def _scenario(tmp_path: Path) -> Scenario:
    folder = tmp_path / "scene"
    folder.mkdir()
    (folder / "can.log").write_bytes((PROJECT / "seeds" / "can-fabrication" / "can.log").read_bytes())
    (folder / "capture.pcap").write_bytes((PROJECT / "seeds" / "dashcam-video" / "capture.pcap").read_bytes())
    return Scenario(folder, folder / "config.yaml", "van-1", [], [])


def test_a_flow_finding_is_located_in_the_capture_with_its_time_and_fingerprint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = _scenario(tmp_path)
    can_row = {**ROW, "detector": "can.timing", "category": "can", "destination": "can0", "port": None,
               "proto": None, "action": "alert", "names": [], "country": None}
    log = sarif([(scenario, ROW, True), (scenario, can_row, False)], baseline_given=True)
    assert sarif_problems(log) == []
    flow, can = log["runs"][0]["results"]
    assert flow["level"] == "error" and can["level"] == "warning"
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in flow["locations"]] == ["scene/capture.pcap"]
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in can["locations"]] == ["scene/can.log"]
    assert flow["properties"]["time"] == "2023-11-14T22:13:20.250Z" and flow["properties"]["severity"] == "High"  # video 3, +1 blocked
    assert "198.51.100.70:5004 (cam.example) in DE" in flow["message"]["text"]
    assert (flow["baselineState"], can["baselineState"]) == ("new", "unchanged")
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == ["can.timing", "wire.rtp"]


def test_the_fingerprint_ignores_time_and_hits(tmp_path):
    scenario = _scenario(tmp_path)
    later = {**ROW, "time": ROW["time"] + 3600, "count": 40}
    elsewhere = {**ROW, "port": 5006}
    results = sarif([(scenario, ROW, True), (scenario, later, True), (scenario, elsewhere, True)], False)["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT] for r in results]
    assert prints[0] == prints[1] != prints[2]
    assert all("baselineState" not in r for r in results)  # no baseline: nothing to compare with


def test_the_checker_catches_what_github_would_refuse(tmp_path):
    log = sarif([(_scenario(tmp_path), ROW, True)], False)
    del log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    log["runs"][0]["results"][0]["message"] = {"text": ""}
    assert len(sarif_problems(log)) == 2
    log["version"] = "2.0.0"
    assert any("version" in p for p in sarif_problems(log))


def test_a_recording_outside_the_working_folder_is_a_file_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT)
    assert uri(tmp_path / "x.pcap") == (tmp_path / "x.pcap").resolve().as_uri()
    assert uri(PROJECT / "seeds" / "x.pcap") == "seeds/x.pcap"
    assert os.getcwd() == str(PROJECT)
