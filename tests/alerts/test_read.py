"""The review commands take any alert file (issue 24, readers that bound their work): a record
with a field of the wrong type, a line nested 100,000 deep, NaN or Infinity, a 60 MB line, NUL
bytes, a hostile head file. Each of ``alerts``, ``alerts summary`` and ``report`` exits 0 with
no traceback, names the bad line as file:line ("not a record: why") and still shows the good
records around it. And ``report`` of 20,000 vehicles' folders in a collector's layout stays in
bounded memory (the child's peak RSS, measured).

The good records are the real writer's (``gatewatch replay`` of the policy trial); the bad
lines are those records edited, or lines no writer makes."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from monitor.alerts.chain import seal

from ..builders import run


def good_pair(records: list[dict]) -> tuple[dict, dict]:
    """Two records of different episodes with a destination (a geolocation Create and another)."""
    creates = [r for r in records if r["activity_name"] == "Create" and r.get("evidences")]
    return creates[0], creates[1]


def edited(record: dict, path: tuple, value) -> bytes:
    """The record with the field at ``path`` set to ``value`` (resealed, as a forger would)."""
    copy_ = copy.deepcopy(record)
    node = copy_
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    if path[0] not in ("metadata", "unmapped") or path[:2] == G and len(path) > 2:  # still sealable
        seal(copy_, copy_["metadata"]["sequence"], "0" * 64, None)
    return json.dumps(copy_).encode()


G = ("unmapped", "gatewatch")
WRONG_TYPES = {  # field -> values of the wrong type or out of range
    ("metadata", "sequence"): ["7", [7], 1.5, -1, 2**64, True, {"n": 1}],
    ("time",): ["yesterday", 1e20, -5, [1], True, "<script>1</script>", 253_402_300_800_000],
    ("count",): ["3", {"a": 1}, -1, 2.5],
    ("unmapped",): [[], "x"],
    (*G[:1], "gatewatch"): [[], "gatewatch", 5],
    (*G, "vehicle"): ["van", [1]],
    (*G, "vehicle", "id"): [[1], {"x": 1}, 7],
    (*G, "vehicle", "vin"): [["WVW"], 5],
    (*G, "destination", "names"): ["a.example", [1], [{"name": 5}], {"name": "a"}],
    (*G, "track"): [[], "x"],
    (*G, "track", "points"): ["x", [[1, 2]], [[0, 91, 0]], [["a", 1, 2]], [[0, 1, 200]], [5]],
    (*G, "track", "positions_total"): ["5", -1],
    ("evidences",): ["x", [1], [{"dst_endpoint": []}], {"0": 1}],
    ("evidences", 0, "dst_endpoint", "port"): ["<b>80</b>", -1, 70000, [80]],
    ("evidences", 0, "dst_endpoint", "ip"): [[1], 5],
    (*G, "category"): [["geolocation"], 3],
    (*G, "position"): ["here", {"lat": "x", "lon": 1}, {"lat": 95, "lon": 0}, {"lon": 3}],
    (*G, "confidence"): ["high", [1]],
    (*G, "verdict", "action"): [["block"]],
}


def wrong_type_cases(first: dict) -> list[tuple[str, bytes]]:
    return [(f"{'.'.join(map(str, path))}={json.dumps(value)[:20]}", edited(first, path, value))
            for path, values in WRONG_TYPES.items() for value in values]


def hostile_lines(first: dict) -> list[tuple[str, bytes]]:
    text = json.dumps(first)
    return [
        ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
        ("nested object 100,000 deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        ("NaN sequence", re.sub(r'"sequence": \d+', '"sequence": NaN', text).encode()),
        ("Infinity sequence", re.sub(r'"sequence": \d+', '"sequence": Infinity', text).encode()),
        ("-Infinity time", re.sub(r'"time": \d+', '"time": -Infinity', text, count=1).encode()),
        ("1e400 time", re.sub(r'"time": \d+', '"time": 1e400', text, count=1).encode()),
        ("a 5000-digit integer", re.sub(r'"count": \d+', '"count": ' + "9" * 5000, text, count=1).encode()),
        ("60 MB line", b'{"pad": "' + b"x" * (60 << 20) + b'"}'),
        ("NUL bytes", b"\0" * 4096),
        ("not UTF-8", b'{"a": "\xff\xfe"}'),
        ("a JSON list", b"[1, 2, 3]"),
        ("invalid JSON", b'{"time": 5, '),
        ("a string", b'"<script>window.__pwned=1</script>"'),
    ]


def check_commands(log: Path, bad_line: int, good: list[dict], where: Path | None = None) -> None:
    """alerts, alerts summary and report over ``where`` (default: the log): exit 0, no traceback,
    the bad line named, the good records shown."""
    target = str(where or log)
    seqs = sorted(r["metadata"]["sequence"] for r in good)
    code, out, err = run("alerts", target, "--format", "jsonl")
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert f"{log}:{bad_line}: " in err and "skipped" in err, err[-2000:]
    assert sorted(json.loads(line)["metadata"]["sequence"] for line in out.splitlines()) == seqs
    code, out, err = run("alerts", "summary", target, "--json")
    assert code == 0 and "Traceback" not in err and f"{log}:{bad_line}: " in err, err[-2000:]
    assert json.loads(out)["episodes"] == len(good)
    page = log.parent / "report.html"
    code, out, err = run("report", target, "-o", str(page))
    assert code == 0 and "Traceback" not in err and f"{log}:{bad_line}: " in err, err[-2000:]
    assert f"{len(good)} records (1 lines that are not records skipped)" in out
    assert page.read_text().count('<tr class="alert" ') == len(good)


def write_log(folder: Path, lines: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "alerts-trial-000000000001.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    return log


def test_every_wrong_type_is_named_and_the_records_around_it_shown(trial_records, forged):
    first, second = good_pair(trial_records)
    cases = wrong_type_cases(first)
    assert len(cases) > 60
    for name, bad in cases:
        log = write_log(forged / "one", [json.dumps(first).encode(), bad, json.dumps(second).encode()])
        try:
            check_commands(log, 2, [first, second])
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
        code, _, err = run("alerts", str(log))
        assert re.search(rf"{re.escape(str(log))}:2: not a record: \S", err), (name, err)


@pytest.mark.parametrize("index", range(13))
def test_a_hostile_line_is_named_and_the_records_around_it_shown(trial_records, forged, index):
    first, second = good_pair(trial_records)
    name, bad = hostile_lines(first)[index]
    log = write_log(forged, [json.dumps(first).encode(), bad, json.dumps(second).encode()])
    check_commands(log, 2, [first, second])


def test_a_hostile_head_file_changes_nothing_the_review_commands_show(trial_records, forged):
    first, second = good_pair(trial_records)
    log = write_log(forged, [json.dumps(first).encode(), b"[" * 50_000, json.dumps(second).encode()])
    for head in (b"\0" * 10_000, b"[" * 100_000, b'{"seq": NaN, "hash": [1], "file": {"x": 1}}', b"x" * (6 << 20)):
        (forged / "alerts-trial.head").write_bytes(head)
        check_commands(log, 2, [first, second])


def test_a_million_bad_lines_name_the_first_hundred_and_count_the_rest(trial_records, forged):
    first, second = good_pair(trial_records)
    log = write_log(forged, [json.dumps(first).encode(), *([b'{"time": "yesterday"}'] * 200_000), json.dumps(second).encode()])
    code, out, err = run("alerts", "summary", str(log), "--json")
    assert code == 0 and json.loads(out)["episodes"] == 2
    named = [line for line in err.splitlines() if ": not a record: " in line]
    assert len(named) == 100 and named[0].startswith(f"gatewatch alerts: skipped {log}:2: ")
    assert "skipped 199900 more line(s) that are not records" in err


@pytest.fixture
def fleet_folder(tmp_path):
    """A folder for 20,000 vehicles' folders: in RAM where there is a tmpfs (deleting 20,000
    folders from a disk mounted with discard takes minutes), removed after."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="gatewatch-fleet-", dir=shm)) if shm.is_dir() else tmp_path / "fleet"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_report_of_20000_vehicle_folders_stays_in_bounded_memory(trial_records, fleet_folder):
    """A collector's day=*/vehicle=*/ layout with 20,000 vehicles, 3 records each (60,000 records,
    each with a track point): the report's child process peaks well under 300 MB."""
    forged = fleet_folder
    templates = [r for r in trial_records if r.get("evidences")][:3]
    day = forged / "day=2026-12-01"
    for n in range(20_000):
        vehicle = f"v{n:05d}"
        lines, prev = [], "0" * 64
        for seq, template in enumerate(templates, 1):
            record = copy.deepcopy(template)
            record["unmapped"]["gatewatch"]["vehicle"]["id"] = record["device"]["uid"] = vehicle
            record["unmapped"]["gatewatch"]["episode"]["uid"] = f"{vehicle}:{seq}"
            record["unmapped"]["gatewatch"]["track"] = {"points": [[seq, 48 + n * 1e-4, 11 + seq * 1e-3]],
                                                        "bbox": [[48, 11], [49, 12]], "positions_total": 1}
            prev = seal(record, seq, prev, None)["unmapped"]["chain"]["hash"]
            lines.append(json.dumps(record, separators=(",", ":")))
        folder = day / f"vehicle={vehicle}"
        folder.mkdir(parents=True)
        (folder / f"alerts-{vehicle}-000000000001.jsonl").write_text("\n".join(lines) + "\n")
    page = forged / "report.html"
    probe = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "print(done.stdout + done.stderr[-3000:], file=sys.stderr)")
    gatewatch = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
    done = subprocess.run([sys.executable, "-c", probe, *gatewatch, "report", str(forged), "-o", str(page)],
                          capture_output=True, text=True, timeout=900, check=False)
    code, peak_kib = map(int, done.stdout.split())
    assert code == 0 and "60000 records" in done.stderr, done.stderr
    print(f"report of 20,000 vehicle folders: peak RSS {peak_kib / 1024:.0f} MB")
    assert peak_kib < 300 * 1024
    text = page.read_text()
    assert text.count('<tr class="vehicle">') == 500 and "19500 more vehicles not shown" in text
    assert text.count('<tr class="alert" ') == 1000 and "59000 more earlier episodes" in text
    assert '<b id="episodes">60000</b>' in text


def test_escape_sequences_in_a_record_never_reach_the_terminal(trial_records, forged):
    first, second = good_pair(trial_records)
    escape = "\x1b]0;owned\x07\x1b[2J\x9b31m"
    record = json.loads(edited(first, (*G, "seen"), escape))
    record["unmapped"]["gatewatch"]["vehicle"]["id"] = record["unmapped"]["gatewatch"]["detector"] = escape
    log = write_log(forged, [json.dumps(record).encode(), json.dumps(second).encode()])
    for command in (("alerts",), ("alerts", "summary")):
        code, out, err = run(*command, str(log))
        assert code == 0 and out and not set("\x1b\x07\x9b") & set(out + err), (command, out)
        assert "?]0;owned??[2J?31m" in out
