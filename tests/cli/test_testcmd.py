"""``gatewatch test``: the seeds as CI runs them (a real process, reports validated against the
published schemas), a broken expectation, the baseline and --fail-on gate, and the exit
statuses for usage (2) and input (3) errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from monitor.scenarios import load_scenario, scenario_folders

from ..builders import run
from ..conftest import PROJECT
from .test_junit import junit_problems
from .test_sarif import sarif_problems

SEEDS = PROJECT / "seeds"


def gatewatch(*argv: str, cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "test", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=900, check=False)


def copy_seed(name: str, dest: Path, expect: str | None = None) -> Path:
    shutil.copytree(SEEDS / name, dest, ignore=shutil.ignore_patterns("make.py", "README.md"))
    if expect is not None:
        (dest / "expect.yaml").write_text(expect)
    return dest


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    """``gatewatch test seeds/* --junit --sarif --write-baseline`` from the checkout, as CI runs it."""
    out = tmp_path_factory.mktemp("seeds-run")
    paths = [str(p.relative_to(PROJECT)) for p in sorted(SEEDS.glob("*"))]  # what the shell makes of seeds/*
    done = gatewatch(*paths, "--junit", str(out / "junit.xml"), "--sarif", str(out / "gatewatch.sarif"),
                     "--write-baseline", str(out / "baseline.json"))
    return done, out


def test_the_seeds_pass_and_both_reports_validate(seeds_run):
    done, out = seeds_run
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped 4 path(s) holding no expect.yaml: seeds/README.md, seeds/SOURCES.md, seeds/gnss-drive" in done.stderr
    junit_text = (out / "junit.xml").read_text()
    assert junit_problems(junit_text) == []
    sarif = json.loads((out / "gatewatch.sarif").read_text())
    assert sarif_problems(sarif) == []
    scenarios = [load_scenario(folder) for folder in scenario_folders(SEEDS)]
    suites = {s.get("name"): s for s in ET.fromstring(junit_text).iter("testsuite")}
    assert sorted(suites) == sorted(s.name for s in scenarios)
    for scenario in scenarios:  # the replay, one case per alerts and absent entry, exhaustive
        expected = 1 + len(scenario.alerts) + len(scenario.absent) + scenario.exhaustive
        assert int(suites[scenario.name].get("tests")) == expected, scenario.name
    results = sarif["runs"][0]["results"]
    episodes = sum(int(s.find("properties/property[@name='episodes']").get("value")) for s in suites.values())
    assert len(results) == episodes > 30
    for result in results:
        scenario = result["properties"]["scenario"]
        assert all(loc["physicalLocation"]["artifactLocation"]["uri"].startswith(f"seeds/{scenario}/")
                   for loc in result["locations"])


def test_a_broken_expectation_fails_the_run_with_its_testcase(tmp_path):
    folder = copy_seed("can-fabrication", tmp_path / "fabrication",
                       "config: config.yaml\nalerts:\n  - {detector: can.timing, episodes: 2}\n")
    done = gatewatch(str(folder), "--junit", str(tmp_path / "junit.xml"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  fabrication" in done.stdout and "expect.yaml:3:5" in done.stdout
    text = (tmp_path / "junit.xml").read_text()
    assert junit_problems(text) == []
    failed = [c for c in ET.fromstring(text).iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["alerts expect.yaml:3:5: 2 episode(s) of detector=can.timing"]
    failure = failed[0].find("failure")
    assert "1 episode(s), expected 2" in failure.get("message")
    assert "seen: can can.timing to can0" in failure.text  # what came out instead


def test_the_baseline_accepts_known_findings_and_fails_on_new_ones(tmp_path):
    scenes = [str(copy_seed(name, tmp_path / name)) for name in ("can-fabrication", "taint-leak")]
    code, _, err = run("test", *scenes, "--write-baseline", str(tmp_path / "all.json"))
    assert code == 0, err
    code, out, err = run("test", *scenes, "--baseline", str(tmp_path / "all.json"), "--sarif", str(tmp_path / "a.sarif"))
    assert code == 0, out + err
    assert {r["baselineState"] for r in _results(tmp_path / "a.sarif")} == {"unchanged"}
    doc = json.loads((tmp_path / "all.json").read_text())
    doc["findings"] = [f for f in doc["findings"] if f["scenario"] != "taint-leak"]
    (tmp_path / "some.json").write_text(json.dumps(doc))
    code, out, _ = run("test", *scenes, "--baseline", str(tmp_path / "some.json"), "--sarif", str(tmp_path / "b.sarif"),
                       "--junit", str(tmp_path / "b.xml"))
    assert code == 1 and "new finding fails the gate" in out
    states = {(r["properties"]["scenario"], r["baselineState"]) for r in _results(tmp_path / "b.sarif")}
    assert states == {("can-fabrication", "unchanged"), ("taint-leak", "new")}
    gates = {c.get("classname"): c for c in ET.fromstring((tmp_path / "b.xml").read_text()).iter("testcase")
             if c.get("name").startswith("gate")}
    assert gates["gatewatch.taint-leak"].find("failure") is not None
    assert gates["gatewatch.can-fabrication"].find("failure") is None


def _results(path: Path) -> list[dict]:
    return json.loads(path.read_text())["runs"][0]["results"]


@pytest.mark.parametrize("gate,status", [("category:can", 1), ("detector:can.timing", 1), ("action:alert", 1),
                                         ("destination:can0", 1), ("category:video", 0), ("action:block", 0)])
def test_fail_on_fails_the_run_on_the_findings_it_names(tmp_path, gate, status):
    scene = copy_seed("can-fabrication", tmp_path / "scene")
    code, out, err = run("test", str(scene), "--fail-on", gate)
    assert code == status, out + err


def test_usage_and_configuration_errors_exit_2(tmp_path):
    scene = copy_seed("can-fabrication", tmp_path / "scene")
    assert run("test", str(scene), "--fail-on", "colour:red")[0] == 2
    code, _, err = run("test", str(tmp_path / "nowhere"))
    assert code == 2 and "nowhere: no such scenario folder" in err
    (tmp_path / "empty").mkdir()
    assert run("test", str(tmp_path / "empty"))[0] == 2
    (tmp_path / "baseline.json").write_text('{"gatewatch_baseline": 1,\n "findings": [\n  {,\n]}\n')
    code, _, err = run("test", str(scene), "--baseline", str(tmp_path / "baseline.json"))
    assert code == 2 and f"{tmp_path / 'baseline.json'}:3: not a gatewatch baseline" in err
    assert len(err.strip().splitlines()) == 1
    (scene / "config.yaml").write_text("version: 1\nextends: default\nno_such_key: 1\n")
    code, _, err = run("test", str(scene))
    assert code == 2 and "config.yaml:3" in err and "Traceback" not in err


def test_input_errors_exit_3_and_the_other_scenarios_still_run(tmp_path):
    good = copy_seed("can-fabrication", tmp_path / "good")
    bad_yaml = copy_seed("can-fabrication", tmp_path / "bad-yaml", "config: config.yaml\nalerts:\n  - {detector: [\n")
    code, out, err = run("test", str(good), str(bad_yaml), "--junit", str(tmp_path / "j.xml"))
    assert code == 3 and "PASS  good" in out
    assert f"{bad_yaml / 'expect.yaml'}:" in err and len(err.strip().splitlines()) == 1
    text = (tmp_path / "j.xml").read_text()
    assert junit_problems(text) == []
    errors = [c for c in ET.fromstring(text).iter("testcase") if c.find("error") is not None]
    assert [c.get("classname") for c in errors] == ["gatewatch.bad-yaml"]
    bad_recording = copy_seed("dashcam-video", tmp_path / "bad-recording")
    (bad_recording / "capture.pcap").write_bytes(b"not a capture\n")  # (a torn pcap is a warning: replay stops there)
    code, out, err = run("test", str(bad_recording))
    assert code == 3 and "ERROR bad-recording" in out and "capture.pcap" in err, out + err
