"""Known findings for ``gatewatch test``: fingerprints, the baseline file and ``--fail-on``.

A finding (one alert episode of a scenario) is known by what it is and where the data went,
never by when: scenario, detector, category, destination and port. Its fingerprint is the
SHA-256 of those five as a JSON list, so the same finding in a later run, or on another machine,
has the same one. SARIF carries it in ``partialFingerprints``; a baseline file lists them:

    {"gatewatch_baseline": 1,
     "findings": [{"fingerprint": "…", "scenario": "dashcam-video", "detector": "wire.rtp",
                   "category": "video", "destination": "198.51.100.70", "port": 5004}, …]}

sorted, one finding a line, so that a review of the file's diff shows what was accepted. Only
the fingerprints are compared; the other fields are there for the reader.

The gate: a finding is *new* when no baseline is given or its fingerprint is not in it. The run
fails on new findings when a baseline is given (all of them, or those ``--fail-on`` names) or
``--fail-on`` is (those it names); with neither, findings are what the scenarios expect and
only expect.yaml judges them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..config.model import ACTIONS, CATEGORIES
from ..errors import ConfigError
from ..limits import read_at_most
from .output import write_output

FORMAT = 1
FAIL_ON_KEYS = ("category", "action", "detector", "destination")
DETECTOR_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)?")
MAX_BASELINE_BYTES = 16 << 20  # read with a cap: a path naming /dev/zero or a disk image is an error, not a read


def identity(scenario: str, row: dict) -> dict:
    """What the fingerprint is made of (no times, no counts)."""
    return {"scenario": scenario, "detector": row["detector"], "category": row["category"],
            "destination": row["destination"], "port": row["port"]}


def fingerprint(scenario: str, row: dict) -> str:
    who = identity(scenario, row)
    text = json.dumps([who["scenario"], who["detector"], who["category"], who["destination"], who["port"]])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FailOn:
    """One ``--fail-on KEY:VALUE``: new findings whose KEY is VALUE fail the run. A destination
    matches the address (or CAN bus) or any name the vehicle looked it up by."""

    key: str
    value: str

    def matches(self, row: dict) -> bool:
        if self.key == "destination":
            return self.value == str(row["destination"]) or self.value in row.get("names", [])
        return self.value == str(row[self.key])


def fail_on(text: str) -> FailOn:
    """argparse's type for ``--fail-on``: a wrong one is a usage error (exit 2). A category or action
    must be one that exists (a typo would match nothing and quietly switch the gate off); a
    detector must look like one (``wire.rtp``, ``taint``); case does not matter for those three."""
    key, sep, value = text.partition(":")
    if not sep or key not in FAIL_ON_KEYS or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY:VALUE with KEY one of {', '.join(FAIL_ON_KEYS)}")
    if key != "destination":
        value = value.lower()
    known = {"category": CATEGORIES, "action": ACTIONS}.get(key)
    if known is not None and value not in known:
        raise argparse.ArgumentTypeError(f"{text!r}: no {key} {value!r}; one of {', '.join(known)}")
    if key == "detector" and not DETECTOR_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{text!r}: not a detector name (a family, or family.name: wire.rtp)")
    return FailOn(key, value)


def load(path: Path) -> set[str]:
    """The fingerprints a baseline file accepts; a file that is not one is a ConfigError naming file:line."""
    try:
        data = read_at_most(path, MAX_BASELINE_BYTES, regular_only=True)
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror}: cannot read the baseline") from None
    if data is None:
        raise ConfigError(f"{path}: a baseline holds at most {MAX_BASELINE_BYTES >> 20} MiB")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", 1)
        raise ConfigError(f"{path}:{line}: not a gatewatch baseline (invalid JSON)") from None
    except RecursionError:
        raise ConfigError(f"{path}:1: not a gatewatch baseline (nested too deep)") from None
    findings = doc.get("findings") if isinstance(doc, dict) and doc.get("gatewatch_baseline") == FORMAT else None
    if not isinstance(findings, list) or not all(isinstance(f, dict) and isinstance(f.get("fingerprint"), str)
                                                 for f in findings):
        raise ConfigError(f"{path}:1: not a gatewatch baseline (version {FORMAT}: findings with a fingerprint each)")
    return {f["fingerprint"] for f in findings}


def write(path: Path, findings: list[tuple[str, dict]]) -> int:
    """Write the baseline of these (scenario, row) findings; returns how many distinct ones."""
    entries = {fingerprint(s, row): identity(s, row) for s, row in findings}
    lines = [json.dumps({"fingerprint": fp, **who}, sort_keys=True)
             for fp, who in sorted(entries.items(), key=lambda item: (item[1]["scenario"], item[0]))]
    text = f'{{"gatewatch_baseline": {FORMAT},\n "findings": [\n  ' + ",\n  ".join(lines) + "\n]}\n"
    write_output(path, text, f"the baseline of {len(entries)} finding(s)")
    return len(entries)


def failing(row: dict, new: bool, gates: list[FailOn], baseline_given: bool) -> bool:
    """Does this finding fail the run (see the module docstring)?"""
    if not new:
        return False
    if gates:
        return any(gate.matches(row) for gate in gates)
    return baseline_given
