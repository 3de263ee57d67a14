"""The chain checked by an implementation of RFC 8785 that is not the writer's: ``jcs`` below is
written from the RFC's rules (ECMAScript number serialisation, minimal string escaping, keys
sorted by UTF-16 code units), checked against the RFC's own examples, and then recomputes every
hash, link and head seal of the logs ``gatewatch demo`` writes. The shell recipe
(docs/verify-chain.sh) runs as a process over the same logs, once with its default
canonicaliser and once with this one (``python THIS_FILE`` reads JSON lines, writes JCS lines).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import shutil
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

THIS = Path(__file__).resolve()
PROJECT = THIS.parents[2]
RECIPE = PROJECT / "docs" / "verify-chain.sh"
KEY = "0123456789abcdef0123456789abcdef"


def jcs(value: object) -> str:
    """RFC 8785 serialisation (the caller encodes it as UTF-8)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return number(float(value))
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=utf16_units)
        return "{" + ",".join(string(key) + ":" + jcs(value[key]) for key in keys) + "}"
    raise TypeError(type(value).__name__)


def number(x: float) -> str:
    """ECMAScript Number::toString (ECMA-262 7.1.12.1): the shortest digits that read back as
    x (Python's repr finds the same), placed by the decimal exponent n."""
    if not math.isfinite(x):
        raise ValueError("JCS has no NaN or Infinity")
    if x == 0:
        return "0"  # -0 too
    if x < 0:
        return "-" + number(-x)
    _, digits, exponent = Decimal(repr(x)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    k = len(text)
    n = int(exponent) + len(digits)  # x = 0.text * 10^n
    if k <= n <= 21:
        return text + "0" * (n - k)
    if 0 < n <= 21:
        return text[:n] + "." + text[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + text
    e = n - 1
    mantissa = text if k == 1 else text[0] + "." + text[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def string(s: str) -> str:
    """Only the quote, the backslash and controls are escaped; everything else is itself."""
    out = []
    for ch in s:
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError("a lone surrogate has no UTF-8 form")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def utf16_units(key: str) -> list[int]:
    units = []
    for ch in key:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            units += [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
        else:
            units.append(cp)
    return units


# RFC 8785 appendix B: IEEE 754 bit patterns and their serialisation.
APPENDIX_B = [
    ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"), ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"), ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"), ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbers_serialise_as_rfc8785_appendix_b_says(bits, expected):
    assert number(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_the_rfc_examples_of_escaping_numbers_and_key_order():
    """RFC 8785 3.2.2 (the whole serialisation) and 3.2.3 (sorting by UTF-16 code units, where
    U+1F600 sorts before U+FB33 though its code point is larger)."""
    sample = json.loads('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
                        r'"string": "\u20ac$\u000F\u000aA' "'" r'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}')
    assert jcs(sample) == ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                           '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    keys = json.loads(r'{"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\ud83d\ude00": 5, "\u0080": 6, "\u00f6": 7}')
    order = [key for key, _ in json.loads(jcs(keys), object_pairs_hook=list)]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"]
    assert [number(x) for x in (1.0, 1e21, 1e-7, -0.0, 1e20, 0.1, 100)] == ["1", "1e+21", "1e-7", "0", "100000000000000000000", "0.1", "100"]


def body_of(record: dict) -> bytes:
    body = json.loads(json.dumps(record))
    del body["unmapped"]["chain"]["hash"]
    return jcs(body).encode()


def check_chain(files: list[Path], key: bytes | None) -> int:
    """Every record of one chain by this module's JCS: its hash, its link, its number; the head's
    seal and the record it names. Returns the number of records."""
    prev, seq, hashes = "0" * 64, 0, {}
    for path in files:
        for number_, line in enumerate(path.read_text().splitlines(), 1):
            record, where = json.loads(line), f"{path}:{number_}"
            chain = record["unmapped"]["chain"]
            assert chain["canon"] == "jcs" and chain["alg"] == ("hmac-sha256" if key else "sha256"), where
            assert chain["seq"] == seq + 1 and chain["prev"] == prev, where
            assert mac(body_of(record), key) == chain["hash"], f"{where}: the hash is not over the record's JCS"
            prev, seq = chain["hash"], chain["seq"]
            hashes[seq] = prev
    head = json.loads((files[0].parent / (files[0].name.rsplit("-", 1)[0] + ".head")).read_text())
    sealed = {name: head[name] for name in ("format", "seq", "hash", "file", "files", "alg")}
    assert mac(jcs(sealed).encode(), key) == head["seal"] and hashes[head["seq"]] == head["hash"]
    return seq


def mac(data: bytes, key: bytes | None) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else hashlib.sha256(data).hexdigest()


def chains(folder: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("alerts-*.jsonl")):
        found.setdefault(str(path.parent / path.name.rsplit("-", 1)[0]), []).append(path)
    return found


@pytest.fixture(scope="module")
def demo_logs(tmp_path_factory) -> Path:
    """The logs ``gatewatch demo`` writes (every seed scenario, one vehicle each)."""
    from ..builders import run

    out = tmp_path_factory.mktemp("demo")
    code, _, err = run("demo", "-o", str(out))
    assert code in (0, 1), err  # 1: an expectation failed; the logs are written all the same
    return out / "logs"


def test_the_demo_logs_verify_record_by_record_under_an_independent_jcs(demo_logs):
    found = chains(demo_logs)
    assert len(found) >= 10
    assert sum(check_chain(files, None) for files in found.values()) > 100


def test_a_keyed_chain_verifies_under_an_independent_jcs_and_hmac(tmp_path):
    from .conftest import replay_into, reports_drive

    key = tmp_path / "alert.key"
    key.write_text(KEY + "\n")
    config = tmp_path / "keyed.yaml"
    config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: kv, hmac_key_file: {key}, rotate_mb: 0.02, track_points: 16}}\n")
    code, _, err = replay_into(tmp_path / "out", *reports_drive(tmp_path), config=config)
    assert code == 0, err
    files = sorted((tmp_path / "out").glob("alerts-kv-*.jsonl"))
    assert len(files) > 1 and check_chain(files, KEY.encode()) > 2
    done = recipe("--key", key, tmp_path / "out")
    assert done.returncode == 0 and f"{tmp_path}/out/alerts-kv: ok: " in done.stdout, done.stdout + done.stderr
    assert recipe(tmp_path / "out").returncode == 1  # keyed: without the key it cannot hold


def tools_or_skip() -> None:
    missing = [tool for tool in ("jq", "openssl", "sha256sum", "split", "truncate") if shutil.which(tool) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"the recipe needs {', '.join(missing)} (deploy/setup-dev.sh installs them)")
    if missing:
        pytest.skip(f"the recipe needs {', '.join(missing)} (deploy/setup-dev.sh installs them when run as root)")


def recipe(*args: object, jcs_command: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    tools_or_skip()
    env = {**os.environ, "PYTHON": sys.executable}
    if jcs_command:
        env["JCS"] = jcs_command
    return subprocess.run(["bash", str(RECIPE), *map(str, args)], capture_output=True, text=True, env=env, timeout=300,
                          check=False, cwd=cwd)


@pytest.mark.parametrize("canonicaliser", ["rfc8785", "independent"])
def test_the_shell_recipe_verifies_the_demo_logs(demo_logs, canonicaliser):
    command = f"{sys.executable} {THIS}" if canonicaliser == "independent" else None
    folders = sorted({files[0].parent for files in chains(demo_logs).values()})
    done = recipe(*folders, jcs_command=command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": ok: ") == len(folders) and "BROKEN" not in done.stdout


def test_the_shell_recipe_names_an_edited_record_at_file_and_line(demo_logs, tmp_path):
    folder = tmp_path / "edited"
    source = max((files for files in chains(demo_logs).values()), key=lambda files: len(files[0].read_text().splitlines()))
    shutil.copytree(source[0].parent, folder)
    path = folder / source[0].name
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    record["unmapped"]["gatewatch"]["confidence"] = "low" if record["unmapped"]["gatewatch"]["confidence"] != "low" else "high"
    lines[2] = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n")
    done = recipe(folder)
    assert done.returncode == 1 and f"{path}:3: edited: record 3 does not match its hash" in done.stdout, done.stdout
    shutil.rmtree(folder)  # edited on purpose: not a record the schema check should see


def longest_chain(demo_logs: Path) -> list[Path]:
    return max(chains(demo_logs).values(), key=lambda files: len(files[0].read_text().splitlines()))


@pytest.mark.parametrize("stem", ["alerts-a b", "alerts--x *[a]?\\z", "alerts-line\nbreak"])
def test_the_shell_recipe_checks_a_file_whose_name_has_spaces_or_glob_characters(demo_logs, tmp_path, stem):
    """Names were split on white space (``alerts-a``, ``b``: "ok: 0 records" each, exit 0 on an edited log)."""
    source = longest_chain(demo_logs)[0]
    folder = tmp_path / "-odd folder"
    folder.mkdir()
    path = folder / f"{stem}-000000000001.jsonl"
    lines = source.read_text().splitlines()
    record = json.loads(lines[1])
    record["message"] = str(record.get("message")) + " (edited)"
    lines[1] = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n")
    shown = str(path.relative_to(tmp_path)).replace("\\", "\\\\").replace("\n", "\\n")
    done = recipe("--", folder.name, cwd=tmp_path)  # a folder named -...: after --
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{shown}:2: edited: record 2 does not match its hash" in done.stdout, done.stdout
    assert ": ok: " not in done.stdout and "0 records" not in done.stdout, done.stdout
    path.write_text(source.read_text())  # the same name untouched holds
    done = recipe("--", folder.name, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith(f"{shown[:-len('-000000000001.jsonl')]}: ok: {len(lines)} records"), done.stdout
    assert recipe(folder.name, cwd=tmp_path).returncode == 2  # before --, a LOG starting with - is an unknown option
    shutil.rmtree(folder)


def test_the_shell_recipe_fails_a_folder_with_no_alert_files_and_a_chain_with_no_records(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "alerts-v-00000000000x.jsonl").write_text("")  # not an alert file's name
    done = recipe(empty)
    assert done.returncode == 1 and done.stdout == f"{empty}: BROKEN: no alert files\n", done.stdout + done.stderr
    (empty / "alerts-v-000000000001.jsonl").write_text("")
    done = recipe(empty)
    assert done.returncode == 1 and f"{empty}/alerts-v: BROKEN" in done.stdout and ": ok: " not in done.stdout, done.stdout


def test_the_shell_recipe_names_a_line_with_a_nul_byte_in_one_line(demo_logs, tmp_path):
    source = longest_chain(demo_logs)[0]
    folder = tmp_path / "nul"
    folder.mkdir()
    path = folder / source.name
    lines = source.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"message":"', b'"message":"\x00', 1)
    assert b"\x00" in lines[2]
    path.write_bytes(b"\n".join(lines))
    done = recipe(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and done.stderr == "", done.stderr
    problems = [line for line in done.stdout.splitlines() if not line.startswith(f"{path.parent}/{source.name.rsplit('-', 1)[0]}:")]
    assert len(problems) == 1 and problems[0].startswith(f"{path}:3: invalid: the canonicaliser"), done.stdout
    shutil.rmtree(folder)


if __name__ == "__main__":  # the recipe's JCS: JSON values in, one a line; their JCS out, one a line
    for line in sys.stdin.buffer:
        sys.stdout.buffer.write(jcs(json.loads(line)).encode() + b"\n")
