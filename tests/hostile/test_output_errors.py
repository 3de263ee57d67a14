"""No silent loss: every command that writes, on a 2 MB tmpfs that fills up, on a read-only
folder (a tmpfs remounted read-only: chmod does not stop root) and on /dev/full, ends with one
line naming the file and the error and the records written and not written, exit 74
(Exit.OUTPUT), never a traceback; a reader that goes away (``| head``) is no error. And the
alert writer never continues a chain under another algorithm or key than it was begun with."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.alerts.logfiles import chain_files, read_file
from monitor.alerts.verify import verify_all
from monitor.cli import Exit
from tests.builders import run
from tests.conftest import PROJECT

from tests.fleet.conftest import mosquitto  # noqa: F401 - the fixture

from .test_disk_full import fill

GATEWATCH = [sys.executable, "-m", "monitor"]
GNSS_LOG = PROJECT / "seeds" / "gnss-drive" / "can.log"
CAPTURE = PROJECT / "seeds" / "mapping-upload" / "capture.pcap"
WRITTEN = re.compile(r"(?P<written>[\d,]+) (?P<what>[a-z ]+) written, (?P<lost>[\d,]+) not written")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def mount_tmpfs(where: Path, size: str = "2m") -> Path:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True,
                          check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return where


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = mount_tmpfs(tmp_path / "disk")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def read_only(tmp_path: Path):
    """A folder no one, root included, can write: a tmpfs remounted read-only."""
    folder = mount_tmpfs(tmp_path / "ro")
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def leave_room(disk: Path, room: int) -> None:
    """Fill the disk but ``room`` bytes."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - room))


def uds_log(path: Path) -> Path:
    """UDS RequestUploads from 256 ECUs, 40 rounds apart: 512 alert records (about 850 KB)."""
    lines, ts = [], 1_700_000_000.0
    for _ in range(40):
        for ecu in range(256):
            lines.append(f"({ts:.6f}) can0 {0x18DA00F1 | (ecu << 8):08X}#0635000012340100")
            ts += 0.001
        ts += 10
    path.write_text("\n".join(lines) + "\n")
    return path


def uds_config(path: Path, key: Path | None = None) -> Path:
    path.write_text("version: 1\nextends: default\nalerts: {vehicle_id: v1, episode_quiet_s: 2"
                    + (f", hmac_key_file: {key}" if key else "") + "}\n")
    return path


def gatewatch(*argv: str, stdout=subprocess.PIPE, cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEWATCH, *argv], stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=cwd, check=False)


def one_error_line(err: str, command: str) -> str:
    """The command's one line about the output (after any summary lines), no traceback."""
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [line for line in err.splitlines() if line.startswith(f"gatewatch {command}: ") and WRITTEN.search(line)]
    assert len(lines) == 1, err
    return lines[0]


def counts(line: str) -> tuple[int, int]:
    match = WRITTEN.search(line)
    assert match, line
    return number(match["written"]), number(match["lost"])


# ------------------------------------------------------------------ replay


def test_replay_to_a_full_disk_names_the_file_and_counts_what_was_not_written(tmp_path: Path, small_disk: Path) -> None:
    recording, config = uds_log(tmp_path / "uds.log"), uds_config(tmp_path / "c.yaml")
    code, _, err = run("replay", str(recording), "--config", str(config), "-o", str(tmp_path / "roomy"))
    assert code == 0, err
    total = sum(1 for path in chain_files(tmp_path / "roomy") for e in read_file(path) if e.record is not None)
    assert total == 512
    leave_room(small_disk, 300_000)  # room for about 180 of them
    out = small_disk / "out"
    code, stdout, err = run("replay", str(recording), "--config", str(config), "-o", str(out))
    assert code == Exit.OUTPUT == 74, err
    line = one_error_line(err, "replay")
    assert f"{out}/alerts-v1-000000000001.jsonl: No space left on device: " in line, line
    written, lost = counts(line)
    on_disk = [e for path in chain_files(out) for e in read_file(path)]
    assert written == len(on_disk) and all(e.record is not None for e in on_disk)  # no cut line left behind
    assert 0 < written < total and written + lost == total
    assert "findings: 1792" in stdout  # the summary is still printed
    report = verify_all([out], None)[0]
    assert report.ok, [str(b) for b in report.breaks]


def test_replay_to_a_read_only_folder_is_one_line(tmp_path: Path, read_only: Path) -> None:
    recording, config = uds_log(tmp_path / "uds.log"), uds_config(tmp_path / "c.yaml")
    code, _, err = run("replay", str(recording), "--config", str(config), "-o", str(read_only))
    assert code != 0 and err.count("\n") == 1, err
    assert f"{read_only}: cannot write the output folder: Read-only file system" in err


def test_replay_summary_to_dev_full(tmp_path: Path) -> None:
    recording, config = uds_log(tmp_path / "uds.log"), uds_config(tmp_path / "c.yaml")
    with open("/dev/full", "w") as full:
        done = gatewatch("replay", str(recording), "--config", str(config), "-o", str(tmp_path / "out"), stdout=full)
    assert done.returncode == Exit.OUTPUT, done.stderr
    assert done.stderr.strip().endswith("gatewatch replay: stdout: No space left on device"), done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


# ------------------------------------------------------------------ decode and flows

DECODED = 3013  # frames of the gnss drive the gnss DBC decodes


def test_decode_to_a_full_disk_keeps_exactly_what_it_says_it_wrote(small_disk: Path) -> None:
    leave_room(small_disk, 150_000)
    target = small_disk / "decoded.jsonl"
    code, _, err = run("decode", str(GNSS_LOG), "--dbc", "gnss", "-o", str(target))
    assert code == Exit.OUTPUT, err
    line = one_error_line(err, "decode")
    assert f"{target}: No space left on device: " in line
    written, lost = counts(line)
    assert 0 < written < DECODED and written + lost == DECODED
    assert len(target.read_text().splitlines()) == written  # no part of a chunk left behind


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_decode_to_dev_full(fmt: str) -> None:
    done = gatewatch("decode", str(GNSS_LOG), "--dbc", "gnss", "--format", fmt, "-o", "/dev/full")
    assert done.returncode == Exit.OUTPUT
    assert counts(one_error_line(done.stderr, "decode")) == (0, DECODED)
    with open("/dev/full", "w") as full:
        done = gatewatch("decode", str(GNSS_LOG), "--dbc", "gnss", "--format", fmt, stdout=full)
    assert done.returncode == Exit.OUTPUT
    line = one_error_line(done.stderr, "decode")
    assert "stdout: No space left on device" in line and counts(line) == (0, DECODED)


def test_decode_to_a_read_only_folder(read_only: Path) -> None:
    code, _, err = run("decode", str(GNSS_LOG), "--dbc", "gnss", "-o", str(read_only / "out.jsonl"))
    assert code == Exit.OUTPUT and err == f"gatewatch decode: {read_only}/out.jsonl: Read-only file system: nothing written\n"


def test_a_reader_that_goes_away_is_no_error() -> None:
    """`gatewatch decode ... | head -1`: exit 0, nothing on stderr but the summary."""
    with subprocess.Popen([*GATEWATCH, "decode", str(GNSS_LOG), "--dbc", "gnss"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=PROJECT) as process:
        assert process.stdout is not None and process.stdout.readline().startswith(b"{")
        process.stdout.close()
        err = process.stderr.read().decode() if process.stderr else ""
        assert process.wait(60) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_flows_to_a_full_disk_and_dev_full(small_disk: Path, fmt: str) -> None:
    fill(small_disk)
    target = small_disk / "flows.out"
    code, _, err = run("flows", str(CAPTURE), "--format", fmt, "-o", str(target))
    assert code == Exit.OUTPUT
    line = one_error_line(err, "flows")
    assert f"{target}: No space left on device" in line and counts(line) == (0, 2)
    with open("/dev/full", "w") as full:
        done = gatewatch("flows", str(CAPTURE), "--format", fmt, stdout=full)
    assert done.returncode == Exit.OUTPUT and counts(one_error_line(done.stderr, "flows")) == (0, 2)


def test_flows_to_a_read_only_folder(read_only: Path) -> None:
    code, _, err = run("flows", str(CAPTURE), "-o", str(read_only / "flows.jsonl"))
    assert code == Exit.OUTPUT and err == f"gatewatch flows: {read_only}/flows.jsonl: Read-only file system: nothing written\n"


# ------------------------------------------------------------------ review commands


@pytest.fixture(scope="module")
def alert_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("alerts")
    code, _, err = run("replay", str(uds_log(tmp / "uds.log")), "--config", str(uds_config(tmp / "c.yaml")),
                       "-o", str(tmp / "out"))
    assert code == 0, err
    return tmp / "out"


def test_report_to_a_full_disk_a_read_only_folder_and_dev_full(alert_folder: Path, small_disk: Path,
                                                               read_only: Path) -> None:
    fill(small_disk)
    for target in (small_disk / "report.html", read_only / "report.html", Path("/dev/full")):
        code, _, err = run("report", str(alert_folder), "-o", str(target))
        assert code != 0 and err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith(f"gatewatch report: error: {target}: ") or err.startswith(f"gatewatch report: {target}: ")
        assert "No space left on device" in err or "Read-only file system" in err, err


def test_report_says_how_many_records_were_not_written(alert_folder: Path) -> None:
    code, _, err = run("report", str(alert_folder), "-o", "/dev/full")
    assert code == Exit.OUTPUT and "the report of 512 records not written" in err, err


def test_alerts_to_dev_full_is_one_line(alert_folder: Path) -> None:
    for argv in (["alerts", str(alert_folder)], ["alerts", "summary", str(alert_folder)],
                 ["alerts", "verify", str(alert_folder)]):
        with open("/dev/full", "w") as full:
            done = gatewatch(*argv, stdout=full)
        assert done.returncode == Exit.OUTPUT, (argv, done.stderr)
        assert done.stderr.strip().endswith(": stdout: No space left on device"), (argv, done.stderr)
        assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


# ------------------------------------------------------------------ a chain keeps its algorithm and key


def test_a_chain_is_never_continued_under_another_algorithm_or_key(tmp_path: Path) -> None:
    recording = uds_log(tmp_path / "uds.log")
    key_a, key_b = tmp_path / "a.key", tmp_path / "b.key"
    key_a.write_bytes(os.urandom(32))
    key_b.write_bytes(os.urandom(32))
    out = tmp_path / "out"
    code, _, err = run("replay", str(recording), "--config", str(uds_config(tmp_path / "a.yaml", key_a)), "-o", str(out))
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    plain = uds_config(tmp_path / "plain.yaml")
    code, _, err = run("replay", str(recording), "--config", str(plain), "-o", str(out), "--append")
    assert code == 2 and err.count("\n") == 1, err
    assert f"{out}/alerts-v1-*.jsonl: the alert chain is sealed with hmac-sha256 but no key" in err
    code, _, err = run("replay", str(recording), "--config", str(uds_config(tmp_path / "b.yaml", key_b)), "-o", str(out),
                       "--append")
    assert code == 2 and err.count("\n") == 1, err
    assert f"is not sealed under the key {key_b}" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing was written
    code, _, err = run("replay", str(recording), "--config", str(uds_config(tmp_path / "a2.yaml", key_a)), "-o",
                       str(out), "--append")
    assert code == 0, err  # its own key continues it
    code, _, err = run("replay", str(recording), "--config", str(plain), "-o", str(out), "--force")
    assert code == 0, err  # a new log


def test_a_plain_chain_is_not_continued_with_a_key(tmp_path: Path) -> None:
    recording, out, key = uds_log(tmp_path / "uds.log"), tmp_path / "out", tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    assert run("replay", str(recording), "--config", str(uds_config(tmp_path / "p.yaml")), "-o", str(out))[0] == 0
    keyed = uds_config(tmp_path / "k.yaml", key)
    code, _, err = run("replay", str(recording), "--config", str(keyed), "-o", str(out), "--append")
    assert code == 2 and f"sealed with sha256 but the key {key} would continue it with hmac-sha256" in err, err
    # The daemon refuses it the same way: exit 2, which the unit does not restart.
    code, _, err = run("run", "--config", str(keyed), "-o", str(out), "--vehicle-id", "v1", "-i", "lo")
    assert code == 2 and err.count("\n") == 1 and "the alert chain is sealed with sha256" in err, err


# ------------------------------------------------------------------ the uplink sends only what was synced


def test_the_uplink_sends_only_records_the_head_says_were_synced(tmp_path: Path, mosquitto) -> None:
    """Records in the file past the head's sequence (written, not yet synced: an fsync that then
    fails loses them) wait; the cursor never passes them, and they go once the head names them."""
    import threading

    from monitor.alerts.logfiles import sequences
    from monitor.alerts.head import read_head, write_head
    from monitor.fleet.broker import Broker
    from monitor.fleet.uplink import Uplink
    from tests.fleet.test_uplink import Running, alert_log, collected

    log, records = alert_log(tmp_path, alerts=60)
    head_path = log / "alerts-car-7.head"
    synced, _ = read_head(head_path)
    assert synced is not None and synced.seq == len(records)
    half = len(records) // 2
    write_head(head_path, half, records[half], synced.file, synced.files, None)  # as if synced up to half
    broker = Broker.parse(mosquitto.url)
    collector = Running(broker, tmp_path / "fleet")
    try:
        uplink = Uplink(log, broker, tmp_path / "state")
        stats = uplink.run(threading.Event(), until_idle=True)
        assert stats.acknowledged == half and uplink.cursor.seq == half and stats.waiting_for_sync >= 1
        collector.wait_for(half)
        write_head(head_path, synced.seq, synced.hash, synced.file, synced.files, None)  # the next sync
        stats = Uplink(log, broker, tmp_path / "state").run(threading.Event(), until_idle=True)
        collector.wait_for(len(records))
    finally:
        collector.close()
    assert sorted(collected(tmp_path / "fleet")) == sorted(records) == sorted(sequences(chain_files(log)))
