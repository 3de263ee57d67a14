"""What the review commands read: no PATH is the daemon's output folder, never the current
folder's tree; a folder is its own alert files, or the layouts gatewatch writes one level down
(vehicles' folders, a collector's day=*/vehicle=*/); the tree only with --recursive, which
follows no link and leaves /proc out; no log found is the same one line and exit 1 for
``alerts``, ``alerts summary``, ``alerts verify`` and ``report`` (which then writes no page)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import review

from ..builders import run
from ..conftest import PROJECT

SEED = PROJECT / "seeds" / "jt808-untrusted"
VEHICLE = "jt808-untrusted"
RECORDS = 6  # the seed's alert log: three episodes, opened and closed


@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    code, _, err = run("replay", "--config", str(SEED / "config.yaml"), "-o", str(out), str(SEED / "can.log"),
                       str(SEED / "capture.pcap"))
    assert code == 0, err
    return out


def copy_run(one_run: Path, to: Path, vehicle: str = VEHICLE) -> Path:
    """The run's alert files under ``to``, renamed for ``vehicle`` (the records keep theirs; the
    head file, which names its alert file, stays behind)."""
    to.mkdir(parents=True, exist_ok=True)
    for path in one_run.glob("alerts-*.jsonl"):
        shutil.copy(path, to / path.name.replace(VEHICLE, vehicle))
    return to


def no_logs_line(command: str, where: Path, why: str = "alerts-*.jsonl", hint: str = "pass a folder or --recursive") -> str:
    return f"gatewatch {command}: no alert logs in {where} ({why}); {hint}\n"


def every_review_command(tmp_path: Path, *paths: str) -> list[tuple[int, str, str]]:
    page = tmp_path / "page.html"
    outcomes = [run("alerts", *paths), run("alerts", "summary", *paths), run("alerts", "verify", *paths),
                run("report", *paths, "-o", str(page))]
    assert not page.exists()  # no page of nothing
    return outcomes


def test_no_path_reads_the_daemons_folder_not_the_current_tree(one_run, tmp_path, monkeypatch):
    copy_run(one_run, tmp_path / "here" / "deep" / "down")  # logs the old search found below the current folder
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.setattr(review, "DEFAULT_OUTPUT", tmp_path / "var-lib-gatewatch")
    line = no_logs_line("alerts", tmp_path / "var-lib-gatewatch", "no such folder: the default, gatewatch run's -o")
    for code, out, err in every_review_command(tmp_path):
        assert (code, out) == (1, "")
        assert err in (line, line.replace("gatewatch alerts:", "gatewatch report:"))
    copy_run(one_run, tmp_path / "var-lib-gatewatch", "daemon-car")
    code, out, err = run("alerts", "--format", "jsonl")
    assert (code, err) == (0, "") and len(out.splitlines()) == RECORDS
    code, out, _ = run("alerts", "verify")
    assert code == 0 and out.startswith(f"{tmp_path / 'var-lib-gatewatch'}/alerts-daemon-car: ok: {RECORDS} records")


def test_an_empty_folder_is_one_line_and_exit_1_for_every_command(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    outcomes = every_review_command(tmp_path, str(empty))
    assert outcomes == [(1, "", no_logs_line("alerts", empty))] * 3 + [(1, "", no_logs_line("report", empty))]


def test_a_folder_is_read_one_level_deep_and_the_tree_only_with_recursive(one_run, tmp_path):
    copy_run(one_run, tmp_path / "top" / "a" / "b")  # two levels down: no layout of ours
    assert every_review_command(tmp_path, str(tmp_path / "top"))[1] == (1, "", no_logs_line("alerts", tmp_path / "top"))
    code, out, err = run("alerts", "summary", str(tmp_path / "top"), "--recursive", "--json")
    assert (code, err) == (0, "") and json.loads(out)["episodes"] == 3
    assert run("report", str(tmp_path / "top"), "-r", "-o", str(tmp_path / "r.html"))[0] == 0
    assert (tmp_path / "r.html").exists()


def test_a_folders_own_logs_leave_its_subfolders_out(one_run, tmp_path):
    copy_run(one_run, tmp_path / "run", "car-1")
    copy_run(one_run, tmp_path / "run" / "old-copy", "car-2")
    code, out, _ = run("alerts", "verify", str(tmp_path / "run"))
    assert code == 0 and [line for line in out.splitlines() if not line.startswith(" ")] == [
        f"{tmp_path / 'run'}/alerts-car-1: ok: {RECORDS} records, sequence 1..{RECORDS}"]


def test_the_layouts_gatewatch_writes_are_read_without_recursive(one_run, tmp_path):
    logs = tmp_path / "logs"  # as gatewatch demo writes: one folder per vehicle
    for vehicle in ("van-1", "van-2"):
        copy_run(one_run, logs / vehicle, vehicle)
    code, out, _ = run("alerts", "verify", str(logs))
    assert code == 0 and [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == [
        f"{logs}/van-1/alerts-van-1", f"{logs}/van-2/alerts-van-2"]
    collector = tmp_path / "collector"  # a collector's day=*/vehicle=*/
    copy_run(one_run, collector / "day=2026-01-01" / "vehicle=van-3", "van-3")
    code, out, err = run("alerts", "summary", str(collector), "--json")
    assert (code, err) == (0, "") and json.loads(out)["episodes"] == 3


def test_an_alert_file_is_read_as_named(one_run, tmp_path):
    [first] = sorted(one_run.glob("alerts-*.jsonl"))
    code, out, err = run("alerts", str(first), "--format", "jsonl")
    assert (code, err) == (0, "") and len(out.splitlines()) == RECORDS


def test_recursive_follows_no_link_and_leaves_proc_out(one_run, tmp_path):
    top = copy_run(one_run, tmp_path / "top" / "car")
    os.symlink(tmp_path / "top", top / "loop")  # a link back up: followed, it would never end
    os.symlink("/proc", tmp_path / "top" / "proc")
    code, out, _ = run("alerts", "verify", str(tmp_path / "top"), "--recursive")
    assert code == 0 and [line for line in out.splitlines() if not line.startswith(" ")] == [
        f"{top}/alerts-{VEHICLE}: ok: {RECORDS} records, sequence 1..{RECORDS}"]
    code, out, err = run("alerts", "summary", "/proc", "--recursive")
    assert (code, out, err) == (1, "", no_logs_line("alerts", Path("/proc"), hint="pass an alert file or folder"))


def test_from_the_root_folder_no_path_is_neither_a_walk_nor_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "monitor", "alerts", "summary"], capture_output=True, text=True,
                          cwd="/", check=False, timeout=60)
    if review.DEFAULT_OUTPUT.exists():
        pytest.skip(f"{review.DEFAULT_OUTPUT} exists on this machine: the default has logs to read")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == no_logs_line("alerts", review.DEFAULT_OUTPUT, "no such folder: the default, gatewatch run's -o")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its mode")
def test_recursive_names_unreadable_folders_on_one_line(one_run, tmp_path):
    copy_run(one_run, tmp_path / "top" / "car")
    closed = tmp_path / "top" / "closed"
    closed.mkdir()
    closed.chmod(0)
    try:
        code, _, err = run("alerts", "summary", str(tmp_path / "top"), "-r")
    finally:
        closed.chmod(0o755)
    assert code == 0 and err == f"gatewatch alerts: skipped 1 unreadable folder(s): {closed}: Permission denied\n"
