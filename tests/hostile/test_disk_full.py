"""Disk full: the daemon's alert log on a small tmpfs this test mounts hits ENOSPC. The daemon
keeps running, keeps the records in a bounded memory buffer, says DEGRADED in stats.json and in
systemd's STATUS, and writes them all once the disk grows, continuing the chain with no gap.
Past the buffer, or when the disk goes read-only, it stops: exit 74, STATUS= naming the errno,
the file and the records written and not written."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import can
import pytest

from monitor.alerts.logfiles import chain_files, read_file
from monitor.alerts.verify import verify_all
from monitor.daemon import Daemon
from monitor.daemon.notify import Notifier
from tests.builders import run
from tests.loaded import GENEROUS, wait_until

BACKLOG = 20


@pytest.fixture
def small_disk(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=False,
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def uds_upload(bus: can.BusABC, ecu: int) -> None:
    """A UDS RequestUpload on its own extended diagnostic id: one alert episode per ECU."""
    bus.send(can.Message(arbitration_id=0x18DA00F1 | (ecu << 8), is_extended_id=True,
                         data=bytes.fromhex("0635000012340100")))


def daemon_config(tmp_path: Path, backlog: int) -> tuple[Path, str]:
    channel = f"gw-enospc-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "gateway.yaml"
    config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: full, backlog: {backlog}}}\n"
                      f"sources:\n  can: [{{name: diag, interface: virtual, channel: {channel}}}]\n")
    return config, channel


@contextmanager
def daemon_writing_to(tmp_path: Path, disk: Path, backlog: int):
    """A Daemon in a thread on a virtual bus, writing to ``disk``, with a notify socket to read:
    yields (daemon, runner thread, notify listener, bus channel); stopped and joined on the way out."""
    config, channel = daemon_config(tmp_path, backlog)
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(0.2)
        daemon = Daemon(str(config), disk, notifier=Notifier(address))
        ready = threading.Event()
        runner = threading.Thread(target=daemon.run, kwargs={"ready": ready.set})
        runner.start()
        try:
            assert ready.wait(GENEROUS)
            yield daemon, runner, listener, channel
        finally:
            daemon.stop()
            runner.join(30)


def on_disk(folder: Path) -> list[dict]:
    return [e.record for path in chain_files(folder) for e in read_file(path) if e.record is not None]


def test_a_full_disk_is_waited_out_in_memory_and_caught_up_when_it_grows(tmp_path: Path, small_disk: Path) -> None:
    with daemon_writing_to(tmp_path, small_disk, BACKLOG) as (daemon, runner, listener, channel):
        stats = lambda: json.loads((small_disk / "stats.json").read_text())
        writer = daemon.log.writer
        with can.Bus(interface="virtual", channel=channel) as bus:
            uds_upload(bus, 1)  # written while there is room
            wait_until(lambda: writer.seq >= 1, "the first record")
            fill(small_disk)
            sent = BACKLOG - 2  # fewer than the backlog holds: nothing may be lost
            for ecu in range(2, 2 + sent):
                uds_upload(bus, ecu)
            wait_until(lambda: daemon.log.counts["alerts"] == 1 + sent, "the alerts to be judged")
            wait_until(lambda: writer.failure is not None, "the disk to be full")
            waiting = 1 + sent - writer.seq
            assert waiting == len(writer.backlog) > 0
            wait_until(lambda: stats()["alert_log"]["degraded"] if (small_disk / "stats.json").stat().st_size else False,
                       "DEGRADED in stats.json")
            health = stats()["alert_log"]
            assert health["records_waiting"] == waiting and health["records_dropped"] == 0
            assert health["write_errors"] >= 1 and "No space left on device" in health["last_write_error"]
            notes: list[str] = []
            wait_until(lambda: notes.append(_receive(listener)) or any("STATUS=DEGRADED" in n for n in notes),
                       "STATUS=DEGRADED over sd_notify")
            assert any(f"{waiting} records waiting in memory, 0 dropped" in n for n in notes), notes
            assert runner.is_alive() and daemon.state == "running" and not daemon.failure

            subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)  # the disk grows
            wait_until(lambda: not writer.backlog and writer.failure is None, "the backlog to be written")
    assert not runner.is_alive() and not daemon.failure
    report = verify_all([small_disk], None)[0]
    assert report.ok, [str(b) for b in report.breaks]
    created = [r for r in on_disk(small_disk) if r["activity_id"] == 1]
    assert sorted(_ecu(record) for record in created) == list(range(1, 2 + sent))  # every one, no gap
    final = json.loads((small_disk / "stats.json").read_text())["alert_log"]
    assert final["records_dropped"] == 0 and final["records_waiting"] == 0 and not final["degraded"]


def test_a_full_disk_past_the_backlog_stops_the_daemon_naming_what_was_lost(tmp_path: Path, small_disk: Path,
                                                                            monkeypatch) -> None:
    """``gatewatch run`` itself: exit 74 (systemd restarts it), STATUS= and one line with the counts."""
    backlog = 4
    config, channel = daemon_config(tmp_path, backlog)
    address = str(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    result: dict = {}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(0.2)
        runner = threading.Thread(target=lambda: result.update(zip(("code", "out", "err"), run(
            "run", "--config", str(config), "-o", str(small_disk)))))
        runner.start()
        notes: list[str] = []
        wait_until(lambda: notes.append(_receive(listener)) or any("READY=1" in n for n in notes), "READY")
        with can.Bus(interface="virtual", channel=channel) as bus:
            uds_upload(bus, 1)
            wait_until(lambda: on_disk(small_disk), "the first record on disk")
            fill(small_disk)
            for ecu in range(2, 4 + 2 * backlog):  # more than the backlog holds
                uds_upload(bus, ecu)
            wait_until(lambda: notes.append(_receive(listener)) or not runner.is_alive(), "the daemon to stop")
        runner.join(30)
        assert result["code"] == 74, result["err"]
        final = result["err"].splitlines()[-1].removeprefix("gatewatch run: ")
        wait_until(lambda: notes.append(_receive(listener)) or any(final in n for n in notes), "the last STATUS=")
    line = [x for x in result["err"].splitlines() if x.startswith("gatewatch run: ")]
    assert len(line) == 1 and "Traceback" not in result["err"], result["err"]
    match = re.search(r": No space left on device: (\d+) alert records written, (\d+) not written", line[0])
    assert match and line[0].startswith(f"gatewatch run: {small_disk}/alerts-full-000000000001.jsonl"), line
    assert int(match[1]) == len(on_disk(small_disk)) and int(match[2]) > backlog
    assert any(f"STATUS=OUTPUT FAILURE (ENOSPC): {final}" in n for n in notes), notes


def test_a_disk_gone_read_only_stops_the_daemon_naming_the_path(tmp_path: Path, small_disk: Path) -> None:
    with daemon_writing_to(tmp_path, small_disk, 100) as (daemon, runner, listener, channel):
        writer = daemon.log.writer
        with can.Bus(interface="virtual", channel=channel) as bus:
            uds_upload(bus, 1)
            wait_until(lambda: writer.seq >= 1, "the first record")
            fill(small_disk)
            ecus = iter(range(2, 200))
            # Until a write fails (the file's last page may hold a record or two); the writer then
            # closes its file, so nothing holds the disk open for writing.
            wait_until(lambda: writer.failure or uds_upload(bus, next(ecus)), "a write to fail", step=0.2)
            wait_until(lambda: subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=False,
                                              capture_output=True).returncode == 0, "the disk to go read-only")
            uds_upload(bus, 250)
            notes: list[str] = []
            wait_until(lambda: notes.append(_receive(listener)) or not runner.is_alive(), "the daemon to stop")
        daemon.stop()
        runner.join(30)
        assert not runner.is_alive() and daemon.failure
        wait_until(lambda: notes.append(_receive(listener)) or any(daemon.failure in n for n in notes), "the last STATUS=")
    path = f"{small_disk}/alerts-full-000000000001.jsonl: Read-only file system: "
    assert daemon.failure.startswith(path), daemon.failure
    match = re.search(r"(\d+) alert records written, (\d+) not written", daemon.failure)
    assert match and int(match[1]) == len(on_disk(small_disk)) >= 1 and int(match[2]) >= 1, daemon.failure
    assert any(f"STATUS=OUTPUT FAILURE (EROFS): {daemon.failure}" in n for n in notes), notes


def _ecu(record: dict) -> int:
    """The ECU byte of the diagnostic id the record is about."""
    ids = json.dumps(record)
    found = [int(text, 16) for text in re.findall(r"0x18da([0-9a-f]{2})f1", ids.lower())]
    assert found, ids[:400]
    return found[0]


def _receive(listener: socket.socket) -> str:
    try:
        return listener.recv(4096).decode()
    except TimeoutError:
        return ""
