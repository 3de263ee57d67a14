"""``gatewatch test SCENARIO_DIR...``: scenarios replayed and judged, for CI pipelines.

A scenario is a seed's layout: recordings, the configuration and ``expect.yaml``
(scenarios.py). A SCENARIO_DIR is such a folder, or a folder of them (``seeds/``); a path that
holds none (``seeds/README.md`` from ``seeds/*``) is skipped and named on stderr. Each scenario
is replayed (logs in ``-o DIR/<scenario>``, else a temporary folder) and every entry of its
expect.yaml judged; stdout says PASS or FAIL per scenario and why.

Reports for a pipeline to show: ``--junit FILE`` (junit.py: a testsuite per scenario, a
testcase per expectation) and ``--sarif FILE`` (sarif.py: a result per finding). Findings are
gated by ``--baseline FILE`` (the known ones, written earlier by ``--write-baseline FILE``)
and ``--fail-on KEY:VALUE`` (baseline.py says which fail).

Exit status: 0 every expectation holds and no finding fails the gate; 1 an expectation failed,
a detector raised, or a new finding fails the gate; 2 usage or configuration (a path that does
not exist, a scenario's configuration or DBC that does not load, a broken baseline); 3 input (a
broken expect.yaml, a recording that cannot be read): one line naming file:line. A scenario
that cannot run does not stop the others; the reports name it as an error. An output that
cannot be written is exit 74, as everywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import Exit
from .baseline import FAIL_ON_KEYS, fail_on

if TYPE_CHECKING:
    from ..scenarios import Outcome

INPUT = 3  # a scenario's input (expect.yaml, a recording) cannot be read


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO_DIR",
                        help="scenario folders (recordings, config, expect.yaml), or folders of them")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML: a testsuite per scenario, a testcase per expectation")
    parser.add_argument("--sarif", metavar="FILE", help="write SARIF 2.1.0: a result per finding (alert episode)")
    parser.add_argument("--baseline", metavar="FILE", help="accept the findings this file lists; new ones fail the run")
    parser.add_argument("--write-baseline", metavar="FILE", help="write this run's findings as a baseline")
    parser.add_argument("--fail-on", action="append", type=fail_on, default=[], metavar="KEY:VALUE",
                        help=f"new findings whose KEY ({', '.join(FAIL_ON_KEYS)}) is VALUE fail the run (repeatable)")
    parser.add_argument("-o", "--output", metavar="DIR", help="keep each scenario's logs in DIR/<scenario>")


@dataclass
class Result:
    """One scenario's run: its outcome, or why it could not run (``status`` 2 or 3)."""

    folder: Path
    outcome: Outcome | None = None
    status: int = 0
    error: str = ""
    seconds: float = 0.0
    findings: list[tuple] = field(default_factory=list)  # (scenario, row, new, fails)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..errors import ConfigError

    try:
        return _test(args, out, err)
    except ConfigError as error:  # the command line or the baseline: usage, not a failed test
        print(f"gatewatch test: error: {error}", file=err)
        return Exit.USAGE


def _test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import baseline

    folders, skipped = _folders(args.scenarios)
    if skipped:
        print(f"gatewatch test: skipped {len(skipped)} path(s) holding no expect.yaml: {', '.join(skipped)}", file=err)
    if not folders:
        print("gatewatch test: error: no scenario folders (a folder with expect.yaml, or a folder of them)", file=err)
        return Exit.USAGE
    known = baseline.load(Path(args.baseline)) if args.baseline else None  # a ConfigError: the caller's exit 2
    with _logs(args.output) as root:
        results = [_run_one(folder, root / _unique(folder, folders)) for folder in folders]
    for result in results:
        _judge(result, known, args.fail_on)
    _print(results, out, err)
    _write_reports(args, results, known is not None)
    return _status(results)


def _folders(paths: list[str]) -> tuple[list[Path], list[str]]:
    from ..errors import ConfigError
    from ..scenarios import scenario_folders

    folders, skipped = [], []
    for text in paths:
        path = Path(text)
        if not path.exists():
            raise ConfigError(f"{path}: no such scenario folder")
        found = [path] if (path / "expect.yaml").is_file() else scenario_folders(path) if path.is_dir() else []
        folders += [f for f in found if f not in folders]
        skipped += [] if found else [text]
    return folders, skipped


def _unique(folder: Path, folders: list[Path]) -> str:
    """The scenario's log folder name: its own, numbered when two scenarios share a name."""
    same = [f for f in folders if f.name == folder.name]
    return folder.name if len(same) == 1 else f"{folder.name}-{same.index(folder) + 1}"


@contextlib.contextmanager
def _logs(output: str | None):
    if output:
        yield Path(output)
        return
    with tempfile.TemporaryDirectory(prefix="gatewatch-test-") as folder:
        yield Path(folder)


def _run_one(folder: Path, logs: Path) -> Result:
    """Load and replay one scenario; a failure to load its configuration is status 2, anything
    else it cannot read (expect.yaml, a recording) status 3."""
    from ..errors import MonitorError, OutputError
    from ..pipeline import load_config
    from ..scenarios import load_scenario, run_scenario

    start = time.monotonic()
    status = INPUT  # expect.yaml
    try:
        scenario = load_scenario(folder)
        status = Exit.USAGE  # its configuration
        config = load_config(scenario.config)
        status = INPUT  # its recordings
        outcome = run_scenario(scenario, logs, config=config)
    except OutputError:
        raise
    except MonitorError as error:
        return Result(folder, None, status, f"{error}", time.monotonic() - start)
    return Result(folder, outcome, 0, "", time.monotonic() - start)


def _judge(result: Result, known: set[str] | None, gates: list) -> None:
    from .baseline import failing, fingerprint

    if result.outcome is None:
        return
    scenario = result.outcome.scenario
    for row in result.outcome.rows:
        new = known is None or fingerprint(scenario.name, row) not in known
        result.findings.append((scenario, row, new, failing(row, new, gates, known is not None)))


def _print(results: list[Result], out: TextIO, err: TextIO) -> None:
    from ..scenarios import describe

    for result in results:
        if result.outcome is None:
            print(f"ERROR {result.folder.name}: {result.error}", file=out)
            print(f"gatewatch test: error: {result.error}", file=err)
            continue
        outcome = result.outcome
        held = sum(not c.problems for c in outcome.checks)
        word = "PASS" if outcome.ok else "FAIL"
        print(f"{word}  {outcome.scenario.name}: {len(outcome.rows)} episode(s); {held} of {len(outcome.checks)} "
              f"expectation(s) hold ({result.seconds:.1f} s)", file=out)
        for problem in outcome.problems:
            print(f"   ! {problem}", file=out)
        for _, row, _, fails in result.findings:
            if fails:
                print(f"   ! new finding fails the gate: {describe(row)}", file=out)
    print(_summary(results), file=out)


def _summary(results: list[Result]) -> str:
    ran = [r.outcome for r in results if r.outcome is not None]
    findings = [f for r in results for f in r.findings]
    passed = sum(outcome.ok for outcome in ran)
    return (f"{len(results)} scenario(s): {passed} pass, {len(ran) - passed} fail, {len(results) - len(ran)} could "
            f"not run; {len(findings)} finding(s), {sum(f[2] for f in findings)} new, "
            f"{sum(f[3] for f in findings)} failing the gate")


def _write_reports(args: argparse.Namespace, results: list[Result], baseline_given: bool) -> None:
    from . import baseline
    from .junit import junit
    from .output import write_output
    from .sarif import sarif
    from .testreport import suites

    findings = [f for r in results for f in r.findings]
    if args.junit:
        write_output(args.junit, junit(suites(results, args)), "the JUnit report")
    if args.sarif:
        log = sarif([(s, row, new) for s, row, new, _ in findings], baseline_given)
        write_output(args.sarif, json.dumps(log, indent=1) + "\n", "the SARIF log")
    if args.write_baseline:
        baseline.write(Path(args.write_baseline), [(s.name, row) for s, row, _, _ in findings])


def _status(results: list[Result]) -> int:
    statuses = {r.status for r in results}
    for status in (Exit.USAGE, INPUT):
        if status in statuses:
            return status
    failed = any(r.outcome is None or not r.outcome.ok or any(f[3] for f in r.findings) for r in results)
    return Exit.ERROR if failed else Exit.OK
