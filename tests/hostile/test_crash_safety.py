"""Crash safety of the alert log: SIGKILL at random points of a replay, many times over, and
power cuts at every kind of byte offset. What the writer had synced (its head file) must be
there exactly once after each crash, the log must verify, and a restart continues the chain."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from monitor.alerts.chain import chain_of
from monitor.alerts.files import chain_files, head_of, read_file
from monitor.alerts.verify import verify_all
from monitor.bench.hostile_inputs import many_alerts
from tests.builders import run

PROJECT = Path(__file__).resolve().parents[2]
SEED = PROJECT / "seeds" / "taint-leak"
ALERTS = 150  # per replay of the kill workload: two records (Create, Close) each


def _chain(folder: Path) -> dict[int, list[str]]:
    """sequence -> hashes of the records with it, over the folder's alert files."""
    out: dict[int, list[str]] = {}
    for path in chain_files(folder):
        for entry in read_file(path):
            if entry.record is not None:
                chain = chain_of(entry.record)
                out.setdefault(chain["seq"], []).append(chain["hash"])
    return out


def _replay(out: Path, capture: Path, first: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "replay", "-o", str(out),
                             "--force" if first else "--append", str(capture)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)


def test_sigkill_at_random_points_loses_no_synced_alert_and_restarts_continue_the_chain(tmp_path, long_run) -> None:
    kills = 200 if long_run else 50
    capture = many_alerts(tmp_path, ALERTS)
    out, rng = tmp_path / "out", random.Random(2026)
    started = time.perf_counter()
    _replay(out, capture, first=True).wait()
    whole_run = time.perf_counter() - started
    synced: dict[int, str] = {}  # every record a head file ever vouched for
    for _ in range(kills):
        process = _replay(out, capture, first=False)
        time.sleep(rng.uniform(0.0, whole_run))
        process.kill()
        process.wait()
        chain, head = _chain(out), head_of(out, "alerts-vm")
        assert all(len(hashes) == 1 for hashes in chain.values()), "a sequence number appears twice"
        assert sorted(chain) == list(range(1, len(chain) + 1)), "the sequence has a gap"
        if head:
            for seq in range(1, head["seq"] + 1):
                synced.setdefault(seq, chain[seq][0])
        assert all(chain.get(seq) == [digest] for seq, digest in synced.items()), "a synced record was lost or changed"
        reports = verify_all([out], None)
        assert reports and all(r.ok for r in reports), [str(b) for r in reports for b in r.breaks]
    assert _replay(out, capture, first=False).wait() == 0
    chain = _chain(out)
    assert sorted(chain) == list(range(1, len(chain) + 1)) and all(chain.get(s) == [d] for s, d in synced.items())
    report = verify_all([out], None)[0]
    assert report.ok and report.first_seq == 1 and report.last_seq == len(chain) >= 4 * ALERTS, report.breaks


def test_power_cut_at_any_offset_keeps_every_whole_record_and_reports_the_torn_one(tmp_path) -> None:
    code, _, err = run("replay", "--config", str(SEED / "config.yaml"), "-o", str(tmp_path / "log"), "--force",
                       str(SEED / "can.log"), str(SEED / "capture.pcap"))
    assert code == 0, err
    [log] = chain_files(tmp_path / "log")
    data = log.read_bytes()
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    offsets = sorted(set(random.Random(7).sample(range(1, len(data)), 40) + ends[:3] + [e - 1 for e in ends[:3]]))
    for k, offset in enumerate(offsets):
        folder = tmp_path / f"cut-{k}"
        folder.mkdir()
        (folder / log.name).write_bytes(data[:offset])  # what survived: no head file, as after a cut before its rename
        entries = list(read_file(folder / log.name))
        whole = [e.record for e in entries if e.record is not None]
        # Every record before the cut is whole (one cut just before its newline is whole too).
        assert len(whole) == sum(1 for end in ends if end - 1 <= offset)
        torn = offset not in ends and offset + 1 not in ends
        assert [e.torn for e in entries if e.record is None] == ([True] if torn else [])
        report = verify_all([folder], None)[0]
        assert [b.kind for b in report.breaks] == (["truncated"] if torn else [])
        # A restart continues from the last whole record; the cut line takes no place in the chain.
        code, _, err = run("replay", "--config", str(SEED / "config.yaml"), "-o", str(folder), "--append",
                           str(SEED / "can.log"), str(SEED / "capture.pcap"))
        assert code == 0, err
        report = verify_all([folder], None)[0]
        assert report.ok and report.last_seq == len(whole) + len(ends), [str(b) for b in report.breaks]
        assert any("cut off by a crash" in note for note in report.notes) == torn
        shutil.rmtree(folder)
