"""The keyed chain under attack (issue 24): the algorithm is the key's to say, never a record's;
the sealed head catches truncation and its own rewriting; every line that is not a valid
record is a break at file:line, read within bounds, never a traceback; key files are read
within a size cap. The logs are written by the real writer (``gatewatch replay`` of a drive
under an ``alerts.hmac_key_file`` configuration); the attacks edit them as an attacker
without the key would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monitor.alerts.bounded import MAX_LINE, Line, parse
from monitor.alerts.chain import SHA256, seal
from monitor.alerts.head import write_head

from ..builders import run
from .conftest import replay_into

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def keyed_original(tmp_path_factory) -> tuple[Path, Path]:
    """One replay chained under an HMAC key, in several files; each test attacks a copy."""
    from .conftest import reports_drive

    base = tmp_path_factory.mktemp("keyed")
    key = base / "alert.key"
    key.write_text(KEY + "\n")
    config = base / "keyed.yaml"
    config.write_text(f"version: 1\nextends: default\n"
                      f"alerts: {{vehicle_id: kv, hmac_key_file: {key}, rotate_mb: 0.02, track_points: 16}}\n")
    code, _, err = replay_into(base / "out", *reports_drive(base), config=config)
    assert code == 0, err
    return base / "out", key


@pytest.fixture
def keyed(tmp_path, keyed_original) -> tuple[Path, Path]:
    """(a copy of the keyed output folder, the key file)."""
    shutil.copytree(keyed_original[0], tmp_path / "out")
    yield tmp_path / "out", keyed_original[1]
    shutil.rmtree(tmp_path / "out")  # forged on purpose: not records the schema check should see


@pytest.fixture
def scratch(tmp_path):
    """A folder for hand-made chains (minimal records, not the shipped schema's), removed after."""
    yield tmp_path / "scratch"
    shutil.rmtree(tmp_path / "scratch", ignore_errors=True)


def chain_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("alerts-kv-*.jsonl"))


def records_of(folder: Path) -> list[tuple[Path, dict]]:
    return [(path, json.loads(line)) for path in chain_files(folder) for line in path.read_text().splitlines()]


def rewrite(folder: Path, records: list[tuple[Path, dict]]) -> None:
    """Write the records back into their files, one line each, as the writer would."""
    for path in chain_files(folder):
        path.write_text("".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n"
                                for p, r in records if p == path))


def reseal(records: list[tuple[Path, dict]], start: int, key: bytes | None) -> None:
    """Seal records[start:] again, linked, under ``key`` (None: plain SHA-256): the attacker's
    recomputation of the rest of the chain after an edit."""
    prev = records[start - 1][1]["unmapped"]["chain"]["hash"] if start else "0" * 64
    for _, record in records[start:]:
        seal(record, record["unmapped"]["chain"]["seq"], prev, key)
        prev = record["unmapped"]["chain"]["hash"]


def forge_head(folder: Path, records: list[tuple[Path, dict]], key: bytes | None) -> None:
    path, last = records[-1]
    write_head(folder / "alerts-kv.head", last["unmapped"]["chain"]["seq"], last["unmapped"]["chain"]["hash"],
               path.name, [p.name for p in chain_files(folder)], key)


def verify(*args: object) -> tuple[int, str]:
    code, out, err = run("alerts", "verify", *map(str, args))
    assert "Traceback" not in out + err
    return code, out + err


def first_break(out: str) -> str:
    return next(line for line in out.splitlines() if "first break:" in line).split("first break: ", 1)[1]


def test_the_keyed_log_as_written_holds_under_its_key_and_only_there(keyed):
    folder, key = keyed
    assert len(chain_files(folder)) > 1
    head = json.loads((folder / "alerts-kv.head").read_text())
    assert head["alg"] == "hmac-sha256" and head["files"] == [p.name for p in chain_files(folder)]
    code, out = verify(folder, "--key", key)
    assert code == 0 and ": ok: " in out, out
    code, out = verify(folder)
    assert code == 1 and first_break(out) == (f"{folder}/alerts-kv.head:1: keyed: the head says the log is sealed with an "
                                              "HMAC key (hmac-sha256): it cannot be checked without --key")


def test_an_edit_resealed_as_plain_sha256_is_a_downgrade_under_the_key(keyed):
    folder, key = keyed
    records = records_of(folder)
    records[4][1]["unmapped"]["gatewatch"]["verdict"]["action"] = "allow"
    reseal(records, 4, None)
    rewrite(folder, records)
    forge_head(folder, records, None)
    code, out = verify(folder, "--key", key)
    assert code == 1
    assert first_break(out) == f"{records[4][0]}:5: downgraded: record 5 is sealed with sha256: under --key every record carries an HMAC"
    assert f"BROKEN ({len(records) - 4 + 1} problem(s))" in out  # each resealed record, and the head


@pytest.mark.parametrize("attacker_key", [None, b"the attacker's own key, not ours"])
def test_every_record_rewritten_and_the_head_rewritten_fails_under_the_key(keyed, attacker_key):
    folder, key = keyed
    records = records_of(folder)
    for _, record in records:
        record["unmapped"]["gatewatch"]["verdict"]["action"] = "allow"
    reseal(records, 0, attacker_key)
    rewrite(folder, records)
    forge_head(folder, records, attacker_key)
    code, out = verify(folder, "--key", key)
    assert code == 1
    first = f"{records[0][0]}:1"
    if attacker_key is None:
        assert first_break(out) == f"{first}: downgraded: record 1 is sealed with sha256: under --key every record carries an HMAC"
    else:
        assert first_break(out) == f"{first}: wrong key: no record matches under this key"


@pytest.mark.parametrize("head", ["resealed", "old format", "removed"])
def test_the_last_record_dropped_and_the_head_rewritten_fails_under_the_key(keyed, head):
    folder, key = keyed
    records = records_of(folder)[:-1]
    rewrite(folder, records)
    path = folder / "alerts-kv.head"
    last = records[-1][1]["unmapped"]["chain"]
    if head == "resealed":  # the attacker cannot compute the HMAC: a plain digest in its place
        doc = json.loads(path.read_text())
        doc.update(seq=last["seq"], hash=last["hash"])
        doc["seal"] = __import__("hashlib").sha256(doc["seal"].encode()).hexdigest()
        path.write_text(json.dumps(doc))
        reason = "head: the head does not match its seal (rewritten, or written under another key)"
    elif head == "old format":
        path.write_text(json.dumps({"seq": last["seq"], "hash": last["hash"], "file": records[-1][0].name}))
        reason = ("head: the head file carries no seal (written before heads were sealed, or rewritten): "
                  "records cut off the end cannot be ruled out")
    else:
        path.unlink()
        reason = "head: no head file: records cut off the end cannot be ruled out"
    code, out = verify(folder, "--key", key)
    assert code == 1 and first_break(out) == f"{path}:1: {reason}", out


def test_the_last_record_dropped_under_a_true_head_is_truncation(keyed):
    folder, key = keyed
    records = records_of(folder)
    rewrite(folder, records[:-1])
    code, out = verify(folder, "--key", key)
    n = records[-1][1]["unmapped"]["chain"]["seq"]
    assert code == 1 and first_break(out) == (f"{records[-2][0]}:{sum(p == records[-2][0] for p, _ in records[:-1])}: "
                                              f"truncated: the log ends at sequence {n - 1}, the head file says {n}")


def test_a_file_the_head_names_that_is_gone_is_a_deletion(keyed):
    folder, key = keyed
    files = chain_files(folder)
    files[1].unlink()
    code, out = verify(folder, "--key", key)
    assert code == 1 and f"{folder}/alerts-kv.head:1: deleted: {files[1].name}, named by the head file, is missing" in out


def big_record_line(keyed: tuple[Path, Path], change) -> bytes:
    record = records_of(keyed[0])[1][1]
    change(record)
    return json.dumps(record, separators=(",", ":")).encode()


def set_chain(**fields):
    return lambda record: record["unmapped"]["chain"].update(fields)


NOT_RECORDS = {
    "invalid JSON": (lambda k: b'{"seq": 2,, "x": 1}', "invalid JSON (Expecting property name enclosed in double quotes at column 11)"),
    "huge seq": (lambda k: big_record_line(k, set_chain(seq=10**30)),
                 "chain.seq 1000000000000000000000000000000 is not a whole number from 1 to 2^53"),
    "seq past 2^53": (lambda k: big_record_line(k, set_chain(seq=2**53 + 1)),
                      "chain.seq 9007199254740993 is not a whole number from 1 to 2^53"),
    "NUL bytes": (lambda k: b"\0" * 4096, "NUL bytes in the line"),
    "NaN seq": (lambda k: big_record_line(k, set_chain(seq=-77)).replace(b'"seq":-77', b'"seq":NaN'),
                "the number NaN (a record carries finite numbers only)"),
    "Infinity time": (lambda k: b'{"time":1e999,"unmapped":{}}', "the number 1e999 (a record carries finite numbers only)"),
    "seq as text": (lambda k: big_record_line(k, set_chain(seq="2")), 'chain.seq "2" is not a whole number from 1 to 2^53'),
    "seq true": (lambda k: big_record_line(k, set_chain(seq=True)), "chain.seq true is not a whole number from 1 to 2^53"),
    "prev a number": (lambda k: big_record_line(k, set_chain(prev=5)), "chain.prev 5 is not 64 hex digits"),
    "hash a list": (lambda k: big_record_line(k, set_chain(hash=[])), "chain.hash list is not 64 hex digits"),
    "no algorithm": (lambda k: big_record_line(k, lambda r: r["unmapped"]["chain"].pop("alg")),
                     "chain.alg is missing (the record names no algorithm)"),
    "unknown algorithm": (lambda k: big_record_line(k, set_chain(alg="md5")), 'chain.alg "md5" is not one of sha256, hmac-sha256'),
    "chain a list": (lambda k: big_record_line(k, lambda r: r["unmapped"].update(chain=[1])),
                     "no chain (unmapped.chain is not an object)"),
    "metadata.sequence text": (lambda k: big_record_line(k, lambda r: r["metadata"].update(sequence="2")),
                               'metadata.sequence "2" is not the chain\'s sequence 2'),
    "time yesterday": (lambda k: big_record_line(k, lambda r: r.update(time="yesterday")),
                       'time "yesterday" is not milliseconds since 1970'),
    "time 1e20": (lambda k: big_record_line(k, lambda r: r.update(time=10**20)),
                  "time 100000000000000000000 is not milliseconds since 1970"),
    "not an object": (lambda k: b"[1, 2, 3]", "not a JSON object"),
    "empty line": (lambda k: b"   ", "an empty line"),
    "not UTF-8": (lambda k: b'{"a": "\xff\xfe"}', "not UTF-8 (byte 8)"),
    "100,000 deep": (lambda k: b"[" * 100_000 + b"]" * 100_000, "JSON nested deeper than 32 levels"),
    "100,000 deep, unclosed": (lambda k: b"[" * 100_000, "JSON nested deeper than 32 levels"),
    "60 MB line": (lambda k: b'{"a":"' + b"x" * (60 << 20) + b'"}', f"a line of {(60 << 20) + 8} bytes, longer than the {MAX_LINE} a record may take"),
}


@pytest.mark.parametrize("name", NOT_RECORDS)
def test_a_line_that_is_not_a_valid_record_is_a_break_at_its_line(keyed, name):
    folder, key = keyed
    make, reason = NOT_RECORDS[name]
    first = chain_files(folder)[0]
    lines = first.read_bytes().splitlines(keepends=True)
    lines.insert(2, make(keyed) + b"\n")
    first.write_bytes(b"".join(lines))
    code, out = verify(folder, "--key", key)
    assert code == 1 and "BROKEN (1 problem(s))" in out, out
    assert first_break(out) == f"{first}:3: invalid: not a valid record: {reason}"


def test_a_line_cut_off_by_a_crash_is_a_note_when_the_chain_links_across_it(keyed):
    folder, key = keyed
    first = chain_files(folder)[0]
    lines = first.read_bytes().splitlines(keepends=True)
    lines.insert(2, lines[2][:700] + b"\n")  # the writer restarted from record 2 and wrote record 3 whole
    first.write_bytes(b"".join(lines))
    code, out = verify(folder, "--key", key)
    assert code == 0 and f"note: {first}:3: a line cut off by a crash or a full disk; the chain continues after it" in out
    lines.insert(4, lines[4][:700] + b"\n")  # this one stands where record 3 belongs: record 4 does not link to it
    del lines[5]
    first.write_bytes(b"".join(lines))
    code, out = verify(folder, "--key", key)
    assert code == 1 and f"{first}:5: invalid: not a valid record: invalid JSON (" in out


def test_every_prefix_of_a_record_is_read_as_cut_off_not_as_damage(keyed):
    raw = chain_files(keyed[0])[0].read_bytes().splitlines()[1]
    for end in range(2, len(raw)):
        parsed = parse(Line(Path("x"), 1, raw[:end], end, True))
        assert parsed.record is None and parsed.cut, (end, raw[:end][-20:], parsed.reason)


def test_two_hundred_thousand_gaps_verify_in_linear_time_with_a_bounded_report(scratch):
    """A gap after every record: each gap is one range; at most ten are listed, the rest counted."""
    folder = scratch
    folder.mkdir()
    n = 200_000
    prev, lines = "0" * 64, []
    for i in range(n):
        record = {"time": 1_700_000_000_000 + i, "metadata": {}, "unmapped": {}}
        seal(record, 2 * i + 1, prev, None)
        prev = record["unmapped"]["chain"]["hash"]
        lines.append(json.dumps(record, separators=(",", ":")))
    (folder / "alerts-g-000000000001.jsonl").write_text("\n".join(lines) + "\n")
    code, out = verify(folder)
    assert code == 1 and f"BROKEN ({n - 1} problem(s)): {n} records, sequence 1..{2 * n - 1}" in out
    assert first_break(out) == f"{folder}/alerts-g-000000000001.jsonl:2: deleted: sequence 3 where 2 belongs (1 record(s) missing)"
    assert f"missing: {n - 1} sequence number(s) in {n - 1} gap(s): 2, 4, 6, 8, 10, 12, 14, 16, 18, 20 and {n - 11} more gap(s)" in out
    assert len(out.splitlines()) < 20


def test_a_record_that_fills_a_gap_later_makes_it_reordered_not_deleted(scratch):
    folder = scratch
    folder.mkdir()
    records, prev = [], "0" * 64
    for seq in range(1, 7):
        record = {"time": 1_700_000_000_000, "metadata": {}, "unmapped": {}}
        records.append(seal(record, seq, prev, None))
        prev = record["unmapped"]["chain"]["hash"]
    order = [records[i] for i in (0, 3, 1, 2, 4, 5)]  # 1, 4, 2, 3, 5, 6
    path = folder / "alerts-o-000000000001.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in order))
    code, out = verify(folder)
    assert code == 1 and first_break(out) == f"{path}:2: reordered: sequence 4 where 2 belongs"
    assert f"{path}:3: reordered: sequence 2 after 4" in out and "missing:" not in out


def test_an_unkeyed_log_with_an_old_head_still_verifies_with_a_note(tmp_path, drive):
    assert replay_into(tmp_path / "out", *drive, extra=("--vehicle-id", "old"))[0] == 0
    head = tmp_path / "out" / "alerts-old.head"
    doc = json.loads(head.read_text())
    assert doc["alg"] == SHA256
    head.write_text(json.dumps({"seq": doc["seq"], "hash": doc["hash"], "file": doc["file"]}))
    code, out = verify(tmp_path / "out")
    assert code == 0 and "note: the head file is in the old format (no seal): read as before" in out


@pytest.mark.parametrize("content", [b"[" * 100_000, b'{"seq": NaN, "hash": 1}', b"\0" * 64, b"x" * ((4 << 20) + 1)])
def test_a_hostile_head_file_is_a_break_not_a_traceback(keyed, content):
    folder, key = keyed
    (folder / "alerts-kv.head").write_bytes(content)
    code, out = verify(folder, "--key", key)
    assert code == 1 and first_break(out).startswith(f"{folder}/alerts-kv.head:1: head: the head file ")


def test_a_4_gb_key_file_is_one_line_naming_it(tmp_path, drive, keyed):
    big = tmp_path / "big.key"
    with big.open("wb") as handle:
        handle.truncate(4 << 30)  # sparse: no disk used
    config = tmp_path / "big.yaml"
    config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: kv, hmac_key_file: {big}}}\n")
    code, out, err = replay_into(tmp_path / "out", *drive, config=config)
    assert code != 0 and err.strip() == (f"gatewatch replay: error: {config}:3:26: HMAC key file '{big}' is 4294967296 bytes; "
                                         "a key file holds at most 4096")
    code, out, err = run("alerts", "verify", str(keyed[0]), "--key", str(big))
    assert code != 0 and err.strip() == f"gatewatch alerts: error: {big}: the HMAC key file is larger than 4096 bytes: not a key file"
