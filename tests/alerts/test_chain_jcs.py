"""The chain's canonical form (issue 28): records are hashed in RFC 8785 JCS and say so
(``canon: "jcs"``); logs written before, in Python's sorted-keys form and without ``canon``,
still verify, and the writer continues them in JCS; a record going back to the old form after
JCS is a downgrade at its file:line, with or without a key, for ``gatewatch alerts verify`` and
the shell recipe alike. Logs are written by the real writer (``gatewatch replay``); the old
form is made as the writer before this change made it."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pytest

from monitor.alerts.chain import digest, seal
from monitor.alerts.head import Head, body, write_head

from ..builders import run
from .conftest import replay_into, reports_drive
from .test_jcs_independent import recipe

KEY = "0123456789abcdef0123456789abcdef"


def old_form(record: dict) -> bytes:
    """What the writer hashed before JCS: json.dumps with sorted keys, no spaces, UTF-8."""
    body_ = json.loads(json.dumps(record))
    del body_["unmapped"]["chain"]["hash"]
    return json.dumps(body_, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def mac(data: bytes, key: bytes | None) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else hashlib.sha256(data).hexdigest()


def files_of(folder: Path, vehicle: str) -> list[Path]:
    return sorted(folder.glob(f"alerts-{vehicle}-*.jsonl"))


def records_of(folder: Path, vehicle: str) -> list[tuple[Path, dict]]:
    return [(path, json.loads(line)) for path in files_of(folder, vehicle) for line in path.read_text().splitlines()]


def rewrite(folder: Path, vehicle: str, records: list[tuple[Path, dict]], key: bytes | None) -> None:
    """The records back into their files, linked again from the first, and the head sealed over
    the last: everything but the canonical forms as a writer (or an attacker with the key) would."""
    prev = "0" * 64
    for _, record in records:
        chain = record["unmapped"]["chain"]
        chain["prev"] = prev
        if chain.get("canon") == "jcs":
            seal(record, chain["seq"], prev, key)
        else:
            chain["hash"] = mac(old_form(record), key)
        prev = chain["hash"]
    for path in files_of(folder, vehicle):
        path.write_text("".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for p, r in records if p == path))
    path, last = records[-1]
    write_head(folder / f"alerts-{vehicle}.head", last["unmapped"]["chain"]["seq"], prev, path.name,
               [p.name for p in files_of(folder, vehicle)], key)


def to_old_form(records: list[tuple[Path, dict]], start: int, stop: int | None = None) -> None:
    for _, record in records[start:stop]:
        record["unmapped"]["chain"].pop("canon")


def verify(*args: object) -> tuple[int, str]:
    code, out, err = run("alerts", "verify", *map(str, args))
    assert "Traceback" not in out + err
    return code, out + err


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, Path]:
    """(an unkeyed replay, a keyed one) of the JT/T 808 drive, each in several files."""
    base = tmp_path_factory.mktemp("jcs")
    drive = reports_drive(base)
    key = base / "alert.key"
    key.write_text(KEY + "\n")
    for name, extra in (("plain", ""), ("keyed", f", hmac_key_file: {key}")):
        config = base / f"{name}.yaml"
        config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: v, rotate_mb: 0.02, track_points: 16{extra}}}\n")
        code, _, err = replay_into(base / name, *drive, config=config)
        assert code == 0, err
    return base, key


@pytest.fixture
def copy(tmp_path, written):
    """copy(name): a fresh copy of one of the written logs, removed after the test (forged on
    purpose: old-form records lack canon's check, downgrades are not records to validate)."""
    def make(name: str) -> Path:
        shutil.copytree(written[0] / name, tmp_path / name)
        return tmp_path / name
    yield make
    for name in ("plain", "keyed"):
        shutil.rmtree(tmp_path / name, ignore_errors=True)


def test_every_record_names_jcs_and_is_hashed_over_its_jcs_form(written):
    import rfc8785

    records = records_of(written[0] / "plain", "v")
    assert len(records) > 5 and all(r["unmapped"]["chain"]["canon"] == "jcs" for _, r in records)
    for _, record in records:
        without = json.loads(json.dumps(record))
        del without["unmapped"]["chain"]["hash"]
        assert hashlib.sha256(rfc8785.dumps(without)).hexdigest() == record["unmapped"]["chain"]["hash"]
    # the old form differs where a float is whole (1.0 against 1): the reason for the change
    assert any(old_form(r) != rfc8785.dumps({**r, "unmapped": {**r["unmapped"], "chain": {
        k: v for k, v in r["unmapped"]["chain"].items() if k != "hash"}}}) for _, r in records)


@pytest.mark.parametrize("name", ["plain", "keyed"])
def test_a_log_written_before_jcs_still_verifies_and_the_writer_continues_it_in_jcs(copy, written, name):
    folder = copy(name)
    key = written[1] if name == "keyed" else None
    records = records_of(folder, "v")
    to_old_form(records, 0)
    rewrite(folder, "v", records, KEY.encode() if key else None)
    key_args = ("--key", key) if key else ()
    code, out = verify(folder, *key_args)
    assert code == 0 and ": ok: " in out, out
    assert recipe(*key_args, folder).returncode == 0
    config = written[0] / f"{name}.yaml"
    (folder.parent / "again").mkdir(exist_ok=True)
    code, _, err = replay_into(folder, *reports_drive(folder.parent / "again", n=40), config=config, extra=("--append",))
    assert code == 0, err
    after = records_of(folder, "v")
    assert len(after) > len(records) and after[len(records)][1]["unmapped"]["chain"]["canon"] == "jcs"
    code, out = verify(folder, *key_args)
    assert code == 0 and f"{len(after)} records" in out, out
    done = recipe(*key_args, folder)
    assert done.returncode == 0 and f"ok: {len(after)} records" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["plain", "keyed"])
def test_a_record_back_in_the_old_form_after_jcs_is_a_downgrade_at_its_line(copy, written, name):
    """Every hash and the head are right (with the key, as its holder could): the move back
    alone is the break."""
    folder = copy(name)
    key = written[1] if name == "keyed" else None
    records = records_of(folder, "v")
    to_old_form(records, 3)
    rewrite(folder, "v", records, KEY.encode() if key else None)
    path = records[3][0]
    line = [p for p, _ in records[:4]].count(path)
    key_args = ("--key", key) if key else ()
    code, out = verify(folder, *key_args)
    assert code == 1, out
    first = f"{path}:{line}: downgraded: record 4 is in the old canonical form (no canon) after records in jcs (from "
    assert first in out and f"BROKEN ({len(records) - 3} problem(s))" in out, out
    done = recipe(*key_args, folder)
    assert done.returncode == 1 and f"{path}:{line}: downgraded: record 4 is in the old form after records in jcs" in done.stdout


def test_an_unknown_canonical_form_is_an_invalid_record_and_matches_no_hash(copy):
    folder = copy("plain")
    records = records_of(folder, "v")
    records[1][1]["unmapped"]["chain"]["canon"] = "xml-c14n"
    path = records[1][0]
    path.write_text("".join(json.dumps(r) + "\n" for p, r in records if p == path))
    code, out = verify(folder)
    assert code == 1 and (f"{path}:2: invalid: not a valid record: record 2 has no canonical form "
                          '(canon "xml-c14n" is not one of jcs)') in out, out
    assert digest(records[1][1], None) == ""  # the collector's check: a mismatch, not an exception


def test_numbers_jcs_cannot_carry_are_written_as_text_and_the_chain_holds(tmp_path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    record = {"time": 1_700_000_000_000, "metadata": {}, "unmapped": {"gatewatch": {
        "big": 2**60, "nan": float("nan"), "track": [(1.0, -(2**63))], "small": 2**53 - 1}}}
    seal(record, 1, "0" * 64, None)
    assert record["unmapped"]["gatewatch"] == {"big": "1152921504606846976", "nan": "NaN",
                                               "track": [[1.0, "-9223372036854775808"]], "small": 2**53 - 1}
    path = folder / "alerts-n-000000000001.jsonl"
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    code, out = verify(folder)
    assert code == 0 and ": ok: 1 records" in out, out
    shutil.rmtree(folder)  # a hand-made record, not the shipped schema's


def test_the_head_seal_covers_the_same_bytes_as_before_jcs():
    """Heads written before keep their seals: for a head's fields JCS is the old form."""
    head = Head(812, "ab" * 32, "alerts-vé-000000000801.jsonl", ["alerts-vé-000000000001.jsonl", "alerts-\U0001F600"],
                "hmac-sha256")
    fields = {"format": 2, "seq": 812, "hash": head.hash, "file": head.file, "files": head.files, "alg": head.alg}
    assert body(head) == json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
