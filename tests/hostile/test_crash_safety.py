"""Crash safety of the alert log: SIGKILL at random points of a replay, many times over, and
power cuts at every kind of byte offset. What the writer had synced (its head file) must be
there exactly once after each crash, the log must verify, and a restart continues the chain."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from monitor.alerts.logfiles import chain_files, read_file
from monitor.alerts.verify import verify_all
from lab.hostile import kills
from tests.builders import run

PROJECT = Path(__file__).resolve().parents[2]
SEED = PROJECT / "seeds" / "taint-leak"
ALERTS = 150  # per replay of the kill workload: two records (Create, Close) each


def test_sigkill_at_random_points_loses_no_synced_alert_and_restarts_continue_the_chain(tmp_path, long_run) -> None:
    report = kills(tmp_path, 200 if long_run else 50, alerts=ALERTS)
    assert report["problems"] == [] and report["chain_ok"] and report["final_replay_status"] == 0, report
    assert report["killed_while_writing"] >= 5  # the kills did land while records were being written
    assert report["records"] >= 4 * ALERTS and report["synced_records_checked"] >= 2 * ALERTS


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
