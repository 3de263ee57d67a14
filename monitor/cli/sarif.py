"""SARIF 2.1.0 of ``gatewatch test``: one run, one result per finding (alert episode).

What code-scanning importers read (GitHub's upload checks these; tests validate against the
OASIS schema and check them by name): ``version`` and ``$schema``; ``tool.driver`` with name,
version and one rule per detector that reported (``id`` the detector's name, a short
description of its family); each result's ``ruleId`` and ``ruleIndex``, ``level`` from the
verdict (block: error, alert: warning, allow: note), ``message.text``, and one location per
recording the finding can have come from (a flow's: the scenario's captures; a CAN finding's:
its CAN logs), as a ``physicalLocation`` whose ``artifactLocation.uri`` is the recording's path
relative to the working folder (a pipeline runs in its checkout, so the path is the repository's)
and whose ``region.startLine`` is 1: a recording is not read by line, so the time of the
finding goes in ``properties.time`` (ISO 8601, UTC) with the scenario, vehicle, destination and
severity. ``partialFingerprints`` carries baseline.fingerprint, stable across runs; with a
baseline, ``baselineState`` says "unchanged" or "new".
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..alerts.record import SEVERITIES, severity_id
from .baseline import fingerprint

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "gatewatchFinding/v1"
LEVELS = {"block": "error", "alert": "warning", "allow": "note"}

#: The detector families (the part of a detector's name before the dot), in a line each.
FAMILIES = {
    "wire": "a known telematics, media or upload format read in a plaintext payload",
    "taint": "the vehicle's position or VIN, as read on its CAN bus, found in an outbound payload",
    "behaviour": "an unreadable flow that behaves like video, a beacon or map upload against the vehicle's state",
    "can": "a CAN bus anomaly: unknown id, DBC range, timing, payload model, signal pairs, UDS transfer",
    "remote": "a connection opened from outside into a remote-access service in the vehicle",
    "policy": "a flow to a destination in no named set of the policy",
}


def sarif(findings: list[tuple], baseline_given: bool) -> dict:
    """The SARIF log of (scenario, row, new) findings, in the order given."""
    rules = sorted({row["detector"] for _, row, _ in findings})
    index = {name: i for i, name in enumerate(rules)}
    places = {scenario.folder: _places(scenario) for scenario, _, _ in findings}
    results = [_result(scenario, row, new, index, places[scenario.folder], baseline_given)
               for scenario, row, new in findings]
    driver = {"name": "gatewatch", "version": __version__, "semanticVersion": __version__,
              "rules": [_rule(name) for name in rules]}
    return {"$schema": SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints",
                      "invocations": [{"executionSuccessful": True}], "results": results}]}


def _rule(name: str) -> dict:
    family = name.split(".")[0]
    about = FAMILIES.get(family, f"findings of the {family} detectors")
    return {"id": name, "name": name.replace(".", "/"), "shortDescription": {"text": f"{name}: {about}"},
            "defaultConfiguration": {"level": "warning"}}


def _result(scenario, row: dict, new: bool, index: dict, places: tuple, baseline_given: bool) -> dict:
    level = LEVELS.get(row["action"], "warning")
    result = {"ruleId": row["detector"], "ruleIndex": index[row["detector"]], "level": level,
              "message": {"text": _message(scenario.name, row)},
              "locations": [_location(path) for path in _recordings(places, row)],
              "partialFingerprints": {FINGERPRINT: fingerprint(scenario.name, row)},
              "properties": _properties(scenario.name, row)}
    if baseline_given:
        result["baselineState"] = "new" if new else "unchanged"
    return result


def _message(name: str, row: dict) -> str:
    where = str(row["destination"]) + (f":{row['port']}" if row["port"] is not None else "")
    names = f" ({', '.join(row['names'])})" if row.get("names") else ""
    country = f" in {row['country']}" if row.get("country") else ""
    return (f"{name}: {row['category']} to {where}{names}{country}: {row['seen']}; "
            f"{row['action']} by rule {row['rule']}, {row['count'] or 1} hit(s) from {_time(row['time'])}")


def _properties(name: str, row: dict) -> dict:
    out = {"scenario": name, "vehicle": row["vehicle"], "time": _time(row["time"]), "category": row["category"],
           "action": row["action"], "rule": row["rule"], "destination": row["destination"], "port": row["port"],
           "names": row.get("names", []), "country": row.get("country"), "hits": row["count"] or 1,
           "severity": SEVERITIES[severity_id(row["category"], row["action"])]}
    return {key: value for key, value in out.items() if value is not None}


def _places(scenario) -> tuple[list[Path], list[Path], list[Path]]:
    """The scenario's CAN logs, captures and all recordings, told apart by content once."""
    from ..recordings import sort_recordings

    can_logs, captures = sort_recordings(scenario.recordings())
    return list(can_logs), list(captures), scenario.recordings()


def _recordings(places: tuple, row: dict) -> list[Path]:
    """The recordings a finding can come from: a flow's captures, else the CAN logs (or all)."""
    can_logs, captures, every = places
    return (captures if row.get("proto") is not None else can_logs) or every


def _location(path: Path) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": uri(path)}, "region": {"startLine": 1}}}


def uri(path: Path) -> str:
    """Relative to the working folder when inside it (a checkout's path), else a file: URI."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        return absolute.as_uri()


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
