"""The JUnit suites of a ``gatewatch test`` run (testcmd.py's results, junit.py's shapes): the
``replay`` case, one case per judged entry of expect.yaml (scenarios.Check), and the ``gate``
case when a baseline or ``--fail-on`` is given."""

from __future__ import annotations

import argparse

from ..scenarios import describe
from .junit import Case, Suite


def suites(results: list, args: argparse.Namespace) -> list[Suite]:
    gated = bool(args.baseline or args.fail_on)
    return [_suite(result, gated) for result in results]


def _suite(result, gated: bool) -> Suite:
    suite = Suite(result.folder.name, str(result.folder / "expect.yaml"), time=result.seconds)
    if result.outcome is None:
        suite.cases.append(Case("replay", error=result.error, time=result.seconds))
        return suite
    outcome = result.outcome
    suite.properties = {"vehicle": outcome.scenario.vehicle, "episodes": len(outcome.rows),
                        "recordings": " ".join(p.name for p in outcome.scenario.recordings())}
    suite.cases.append(Case("replay", error="; ".join(outcome.errors) or None, time=result.seconds,
                            text=[describe(row) for row in outcome.rows]))
    suite.cases += [_case(check) for check in outcome.checks]
    if gated:
        suite.cases.append(_gate(result.findings))
    return suite


def _case(check) -> Case:
    where = check.where.rpartition("/")[2]  # expect.yaml:line:column, the scenario is the suite
    name = f"{check.kind} {where}: {check.name}"
    if not check.problems:
        return Case(name, text=[f"seen: {line}" for line in check.seen])
    return Case(name, failure="; ".join(check.problems),
                text=check.problems + [f"seen: {line}" for line in check.seen or ["(no episode bears on it)"]])


def _gate(findings: list) -> Case:
    failing = [describe(row) for _, row, _, fails in findings if fails]
    new = sum(1 for f in findings if f[2])
    name, counted = "gate: no new finding fails the run", f"{new} new finding(s) of {len(findings)}"
    if not failing:
        return Case(name, text=[counted])
    return Case(name, failure=f"{len(failing)} new finding(s) fail the run: {failing[0]}"
                + (f" and {len(failing) - 1} more" if len(failing) > 1 else ""), text=[counted, *failing])
