"""`gatewatch alerts verify`: an intact chain holds; every kind of tampering is caught and the
first broken record named with how it broke; exit status 0 only when every chain holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..builders import run
from .conftest import replay_into

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def logged(tmp_path, drive) -> Path:
    """A replay into a folder, with the alert chain in more than one file."""
    config = tmp_path / "rotating.yaml"
    config.write_text("version: 1\nextends: default\nalerts: {vehicle_id: vx, rotate_mb: 0.02, track_points: 16}\n")
    assert replay_into(tmp_path / "out", *drive, config=config)[0] == 0
    return tmp_path / "out"


def lines_of(folder: Path) -> tuple[list[Path], list[list[str]]]:
    files = sorted(folder.glob("alerts-*.jsonl"))
    return files, [f.read_text().splitlines(keepends=True) for f in files]


def verify(*args: str) -> tuple[int, str]:
    code, out, err = run("alerts", "verify", *args)
    return code, out + err


def test_an_intact_chain_across_files_holds(logged):
    files, _ = lines_of(logged)
    assert len(files) > 1
    code, out = verify(str(logged))
    assert code == 0 and ": ok: " in out and "sequence 1.." in out


def edit(lines: list[str], index: int) -> None:
    record = json.loads(lines[index])
    record["unmapped"]["gatewatch"]["detector"] = "nothing.to.see"
    lines[index] = json.dumps(record, separators=(",", ":")) + "\n"


@pytest.mark.parametrize("kind,tamper", [
    ("edited", lambda lines: edit(lines, 2)),
    ("deleted", lambda lines: lines.pop(2)),
    ("reordered", lambda lines: lines.insert(2, lines.pop(3))),
    ("inserted", lambda lines: lines.insert(3, lines[1])),
])
def test_each_kind_of_tampering_is_caught_and_named(logged, kind, tamper):
    files, contents = lines_of(logged)
    assert len(contents[0]) >= 6  # the tampering stays inside the first file
    tamper(contents[0])
    files[0].write_text("".join(contents[0]))
    code, out = verify(str(logged))
    assert code == 1, out
    first = next(line for line in out.splitlines() if "first break:" in line)
    assert f"{files[0]}:" in first and f": {kind}: " in first, out


def test_records_cut_off_the_end_are_caught_as_truncated(logged):
    files, contents = lines_of(logged)
    files[-1].write_text("".join(contents[-1][:-2]))  # the last two records gone
    code, out = verify(str(logged))
    assert code == 1 and ": truncated: the log ends at sequence" in out
    files[-1].write_text("".join(contents[-1])[:-40])  # a power cut mid-line
    code, out = verify(str(logged))
    assert code == 1 and ": truncated: the last line is cut off" in out


def test_hmac_chains_need_their_key(tmp_path, drive):
    key = tmp_path / "alert.key"
    key.write_text(KEY)
    config = tmp_path / "hmac.yaml"
    config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: keyed, hmac_key_file: {key}}}\n")
    assert replay_into(tmp_path / "out", *drive, config=config)[0] == 0
    assert verify(str(tmp_path / "out"), "--key", str(key))[0] == 0
    wrong = tmp_path / "wrong.key"
    wrong.write_text(KEY[::-1])
    code, out = verify(str(tmp_path / "out"), "--key", str(wrong))
    assert code == 1 and ": wrong key: no record matches under this key" in out
    code, out = verify(str(tmp_path / "out"))
    assert code == 1 and ": keyed: the head says the log is sealed with an HMAC key" in out
    assert "cannot be checked without --key" in out
    head = tmp_path / "out" / "alerts-keyed.head"
    sealed = head.read_bytes()
    head.unlink()  # without the head, the records say it
    code, out = verify(str(tmp_path / "out"))
    assert code == 1 and ": wrong key: HMAC records and no --key given" in out
    head.write_bytes(sealed)
    # An edit that recomputes the plain SHA-256 still fails under the key.
    files, contents = lines_of(tmp_path / "out")
    record = json.loads(contents[0][1])
    record["unmapped"]["gatewatch"]["seen"] = "forged"
    from monitor.alerts.chain import digest

    record["unmapped"]["chain"]["hash"] = digest(record, None)
    contents[0][1] = json.dumps(record) + "\n"
    files[0].write_text("".join(contents[0]))
    code, out = verify(str(tmp_path / "out"), "--key", str(key))
    assert code == 1 and ": edited: record 2 does not match its hash" in out


def test_several_vehicles_are_verified_each_and_one_broken_fails_the_run(tmp_path, drive):
    for vehicle in ("a", "b"):
        assert replay_into(tmp_path / "fleet" / vehicle, *drive, extra=("--vehicle-id", vehicle))[0] == 0
    code, out = verify(str(tmp_path / "fleet"))
    assert code == 0 and out.count(": ok: ") == 2
    files, contents = lines_of(tmp_path / "fleet" / "b")
    contents[0].pop(1)
    files[0].write_text("".join(contents[0]))
    code, out = verify(str(tmp_path / "fleet"))
    assert code == 1 and out.count(": ok: ") == 1 and "alerts-b" in out.split("BROKEN")[0].splitlines()[-1]


def test_retention_deletes_the_oldest_files_and_verify_says_where_the_chain_now_starts(tmp_path, drive):
    config = tmp_path / "keep2.yaml"
    config.write_text("version: 1\nextends: default\nalerts: {vehicle_id: kept, rotate_mb: 0.004, track_points: 16, keep_files: 2}\n")
    code, _, err = replay_into(tmp_path / "out", *drive, config=config)
    assert code == 0, err
    files = sorted((tmp_path / "out").glob("alerts-kept-*.jsonl"))
    assert len(files) == 2
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["alert_log"]["files_deleted"] > 0
    code, report = verify(str(tmp_path / "out"))
    assert code == 0 and "note: starts at sequence" in report and "earlier files removed by retention" in report
