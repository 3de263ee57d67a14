"""JUnit XML of ``gatewatch test``: one testsuite per scenario, one testcase per entry of its
expect.yaml.

The shape is the one Jenkins (its junit-10.xsd, which the tests validate against), GitLab and
GitHub's test reporters read: ``testsuites`` holding ``testsuite`` elements with name, tests,
failures, errors and time; each ``testcase`` with name, classname (``gatewatch.<scenario>``)
and time; a broken expectation is a ``failure`` whose message names the expectation
(expect.yaml:line:column) and what came out instead, its text the episodes that bear on it.
Each suite starts with the ``replay`` case (its time is the scenario's; a detector that raised,
or a scenario that could not be loaded or replayed, is an ``error`` there) and, when a baseline
or ``--fail-on`` is given, ends with the ``gate`` case, failing on the new findings it refuses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


@dataclass
class Case:
    name: str
    failure: str | None = None  # the message of a failed expectation
    error: str | None = None  # the message of a scenario that could not run as asked
    text: list[str] = field(default_factory=list)  # the body: problems, then what was seen
    time: float = 0.0


@dataclass
class Suite:
    name: str  # the scenario's folder name
    file: str  # its expect.yaml
    cases: list[Case] = field(default_factory=list)
    time: float = 0.0
    properties: dict = field(default_factory=dict)


def junit(suites: list[Suite]) -> str:
    root = ET.Element("testsuites", name="gatewatch test")
    _counts(root, [case for suite in suites for case in suite.cases], sum(s.time for s in suites))
    for suite in suites:
        element = ET.SubElement(root, "testsuite", name=suite.name, file=suite.file)
        _counts(element, suite.cases, suite.time)
        if suite.properties:
            properties = ET.SubElement(element, "properties")
            for key, value in suite.properties.items():
                ET.SubElement(properties, "property", name=key, value=str(value))
        for case in suite.cases:
            _case(element, suite.name, case)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(element: ET.Element, cases: list[Case], time: float) -> None:
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(c.failure is not None for c in cases)))
    element.set("errors", str(sum(c.error is not None for c in cases)))
    element.set("time", _seconds(time))


def _case(parent: ET.Element, suite: str, case: Case) -> None:
    element = ET.SubElement(parent, "testcase", name=case.name, classname=f"gatewatch.{suite}", time=_seconds(case.time))
    if case.error is not None:
        ET.SubElement(element, "error", message=case.error, type="error").text = "\n".join(case.text) or None
    elif case.failure is not None:
        ET.SubElement(element, "failure", message=case.failure, type="expectation").text = "\n".join(case.text) or None
    elif case.text:
        ET.SubElement(element, "system-out").text = "\n".join(case.text)


def _seconds(time: float) -> str:
    """Three decimals, no exponent: the Surefire time pattern Jenkins' schema asks for."""
    return f"{max(time, 0.0):.3f}"
