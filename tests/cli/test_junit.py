"""JUnit XML of ``gatewatch test`` against Jenkins' junit-10.xsd (tests/data/ci-schemas/) and the
fields GitLab's test report reads, checked by name."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from monitor.cli.junit import Case, Suite, junit

from ..conftest import PROJECT

XSD = PROJECT / "tests" / "data" / "ci-schemas" / "junit-10.xsd"


def junit_problems(text: str) -> list[str]:
    """Jenkins' schema errors, then GitLab's fields: testsuite name/tests/failures/errors,
    testcase name/classname/time, a failure's or error's message."""
    etree = pytest.importorskip("lxml.etree", reason="lxml (the test extra) validates XML against an XSD")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    problems = [] if schema.validate(etree.fromstring(text.encode())) else [str(e) for e in schema.error_log]
    root = ET.fromstring(text)
    for suite in root.iter("testsuite"):
        problems += [f"testsuite {a}" for a in ("name", "tests", "failures", "errors") if suite.get(a) is None]
        cases = suite.findall("testcase")
        if int(suite.get("tests", -1)) != len(cases):
            problems.append(f"testsuite {suite.get('name')}: tests={suite.get('tests')}, {len(cases)} cases")
        if int(suite.get("failures", -1)) != sum(c.find("failure") is not None for c in cases):
            problems.append(f"testsuite {suite.get('name')}: failures miscounted")
        for case in cases:
            problems += [f"testcase {a}" for a in ("name", "classname", "time") if not case.get(a)]
            problems += [f"{case.get('name')}: {kind} without message" for kind in ("failure", "error")
                         if case.find(kind) is not None and not case.find(kind).get("message")]
    return problems


def test_failures_errors_and_passes_validate_and_are_counted():
    suites = [Suite("dashcam", "seeds/dashcam/expect.yaml", [
        Case("replay", time=1.23456, text=["video wire.rtp to 198.51.100.70:5004"]),
        Case("alerts expect.yaml:4:5: 1 episode(s) of category=video", failure="expect.yaml:4:5: 0 episode(s), expected 1",
             text=["seen: <nothing> & \"quotes\""]),
        Case("absent expect.yaml:9:5: no category=mapping")], time=1.23456, properties={"vehicle": "dashcam"}),
        Suite("broken", "x/expect.yaml", [Case("replay", error="x/capture.pcap: not a capture")])]
    text = junit(suites)
    assert junit_problems(text) == []
    root = ET.fromstring(text)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("message") == "expect.yaml:4:5: 0 episode(s), expected 1"
    assert failure.text == "seen: <nothing> & \"quotes\""  # escaped on the way out, whole on the way in
    assert root.find("testsuite").get("time") == "1.235"


def test_the_checker_catches_a_miscount_and_a_missing_name():
    text = junit([Suite("s", "f", [Case("a", failure="m")])]).replace('failures="1"', 'failures="0"')
    assert junit_problems(text)
    assert junit_problems('<testsuites><testsuite tests="0" failures="0" errors="0"/></testsuites>')
