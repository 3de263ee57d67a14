"""``gatewatch status`` against real daemon processes: running, killed with SIGKILL (the stats
file still says "running"), stopped, a source down; a hung daemon (stats older than twice the
interval, the process there); and a replay's folder, counted as the replay counted."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from monitor import native
from monitor.daemon.service import STATS_EVERY_S

from ..builders import run
from ..conftest import PROJECT

GATEWATCH = [sys.executable, "-m", "monitor"]
SEED = PROJECT / "seeds" / "jt808-untrusted"


def status(out: Path) -> tuple[int, str]:
    done = subprocess.run([*GATEWATCH, "status", "-o", str(out)], capture_output=True, text=True, cwd=PROJECT,
                          check=False, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def wait_for(what: str, condition, timeout: float = 60.0) -> None:
    """Until ``condition()`` holds (an observable event: a file, a counter), or fail saying what."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stats_of(out: Path) -> dict:
    try:
        return json.loads((out / "stats.json").read_text())
    except (OSError, ValueError):
        return {}


def start_daemon(tmp_path: Path, can_source: str) -> tuple[subprocess.Popen, Path]:
    config = tmp_path / "gateway.yaml"
    config.write_text(f"version: 1\nextends: default\nsources:\n  can: [{can_source}]\n")
    out, log = tmp_path / "out", tmp_path / "daemon.err"
    with log.open("w") as stderr:
        daemon = subprocess.Popen([*GATEWATCH, "run", "--config", str(config), "-o", str(out)], cwd=PROJECT,
                                  stdout=subprocess.DEVNULL, stderr=stderr)
    wait_for("the daemon's first stats.json", lambda: stats_of(out).get("state") == "running" or daemon.poll() is not None)
    assert daemon.poll() is None, log.read_text()
    return daemon, out


def virtual_bus() -> str:
    return f"{{name: body, interface: virtual, channel: gw-status-{uuid.uuid4().hex[:6]}}}"


def test_a_killed_daemon_is_reported_gone_with_exit_3(tmp_path):
    daemon, out = start_daemon(tmp_path, virtual_bus())
    try:
        code, text = status(out)
        assert code == 0, text
        assert text.startswith("running: 0 CAN frames, 0 packets, 0 findings, 0 alerts, 0 drops\n")
        assert f", pid {daemon.pid}, " in text.splitlines()[1]
        assert text.splitlines()[1].endswith(f", core {native.CORE}")  # the daemon's core, from its stats
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert stats_of(out)["state"] == "running"  # what the file says; the process is gone
    code, text = status(out)
    assert code == 3
    assert text.startswith(f"gone: process {daemon.pid} is not running (killed or crashed ")


def test_a_stopped_daemon_is_not_running_with_exit_3(tmp_path):
    daemon, out = start_daemon(tmp_path, virtual_bus())
    try:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    code, text = status(out)
    assert code == 3 and text.startswith("stopped ") and " s ago: 0 CAN frames" in text.splitlines()[0]


def test_a_source_down_is_degraded_with_exit_5(tmp_path):
    # No such SocketCAN interface here: the daemon starts, and retries the bus with back-off.
    daemon, out = start_daemon(tmp_path, "{name: body, interface: socketcan, channel: gwnone0}")
    try:
        wait_for("the bus to be tried", lambda: stats_of(out).get("sources", {}).get(
            "can:body (socketcan gwnone0, raw)", {}).get("failures", 0) >= 1)
        code, text = status(out)
        assert code == 5, text
        assert text.startswith("degraded (can:body (socketcan gwnone0, raw) down): 0 CAN frames")
        assert "can:body (socketcan gwnone0, raw): 0 in 0 batches" in text and ", down (last error: " in text
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


def test_a_daemon_silent_past_twice_the_interval_is_reported_with_exit_4(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # This test's own process stands for a daemon that is there but no longer writes its stats.
    (out / "stats.json").write_text(json.dumps({"state": "running", "pid": os.getpid(), "mode": "monitor"}))
    stale = time.time() - 2 * STATS_EVERY_S - 5
    os.utime(out / "stats.json", (stale, stale))
    code, text = status(out)
    assert code == 4
    found = re.match(rf"silent: no stats for (\d+) s \(written every {STATS_EVERY_S:g} s\); process {os.getpid()} hung\?: ", text)
    assert found and int(found[1]) >= 2 * STATS_EVERY_S + 5, text
    fresh = time.time()
    os.utime(out / "stats.json", (fresh, fresh))
    code, text = status(out)
    assert code == 0 and text.startswith("running: ")


def test_a_replay_folder_says_replay_and_counts_what_the_replay_counted(tmp_path):
    code, _, err = run("replay", "--config", str(SEED / "config.yaml"), "-o", str(tmp_path / "r"),
                       "--summary-json", str(tmp_path / "summary.json"), str(SEED / "can.log"), str(SEED / "capture.pcap"))
    assert code == 0, err
    counts = json.loads((tmp_path / "summary.json").read_text())["counts"]  # what the replay itself counted
    found = counts["findings_geolocation"]
    assert found > 0 and counts["can_frames"] == 5040  # the seed's log: 5040 frames, every finding a position
    code, text = status(tmp_path / "r")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == f"replay: 5040 CAN frames, 78 packets, {found} findings, {found} alerts, 0 drops"
    assert lines[1] == "  replay of 2 recording(s): can.log, capture.pcap"
    assert f"  verdicts: alert {found}" in lines and f"  findings by category: geolocation {found}" in lines
    assert "None" not in text


def test_no_stats_file_is_one_line_and_exit_1(tmp_path):
    code, out, err = run("status", "-o", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == f"gatewatch status: error: {tmp_path}/stats.json: no stats file (is gatewatch run writing to {tmp_path}?)\n"
