"""Disk full: the daemon's alert log on a small tmpfs this test mounts hits ENOSPC. The daemon
keeps running, counts what it could not write, keeps the newest records in a bounded memory
buffer, says DEGRADED in stats.json and in systemd's STATUS, and writes what waits once space
returns, continuing the chain, with a record of how many it had to drop."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import can
import pytest

from monitor.alerts.files import chain_files, read_file
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


def test_disk_full_is_survived_counted_reported_and_caught_up(tmp_path: Path, small_disk: Path) -> None:
    channel = f"gw-enospc-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "gateway.yaml"
    config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: full, backlog: {BACKLOG}}}\n"
                      f"sources:\n  can: [{{name: diag, interface: virtual, channel: {channel}}}]\n")
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(0.2)
        daemon = Daemon(str(config), small_disk, notifier=Notifier(address))
        ready = threading.Event()
        runner = threading.Thread(target=daemon.run, kwargs={"ready": ready.set})
        runner.start()
        try:
            assert ready.wait(GENEROUS)
            stats = lambda: json.loads((small_disk / "stats.json").read_text())
            with can.Bus(interface="virtual", channel=channel) as bus:
                uds_upload(bus, 1)  # written while there is room
                wait_until(lambda: daemon.log.writer.seq >= 1, "the first record")
                filler = fill(small_disk)
                for ecu in range(2, 2 + 2 * BACKLOG):  # twice what the buffer holds
                    uds_upload(bus, ecu)
                writer = daemon.log.writer
                wait_until(lambda: daemon.log.counts["alerts"] == 1 + 2 * BACKLOG, "the alerts to be judged")
                wait_until(lambda: writer.stats.dropped >= 1 and len(writer.backlog) == BACKLOG, "the backlog to fill")
                assert runner.is_alive() and daemon.state == "running"
                wait_until(lambda: stats()["alert_log"]["degraded"] if (small_disk / "stats.json").stat().st_size else False,
                           "DEGRADED in stats.json")
                health = stats()["alert_log"]
                assert health["records_waiting"] == BACKLOG and health["records_dropped"] >= 1
                assert health["write_errors"] >= 1 and "No space left on device" in health["last_write_error"]
                notes = []
                wait_until(lambda: notes.append(_receive(listener)) or any("STATUS=DEGRADED" in n for n in notes),
                           "STATUS=DEGRADED over sd_notify")
                dropped = writer.stats.dropped
                uds_upload(bus, 2 + 2 * BACKLOG)  # the daemon still reads and judges while degraded
                wait_until(lambda: writer.stats.dropped == dropped + 1, "the newest to push out the oldest")

                filler.unlink()  # space returns
                wait_until(lambda: not daemon.log.writer.backlog, "the backlog to drain")
        finally:
            daemon.stop()
            runner.join(30)
    assert not runner.is_alive()
    report = verify_all([small_disk], None)[0]
    assert report.ok, [str(b) for b in report.breaks]
    records = [e.record for path in chain_files(small_disk) for e in read_file(path) if e.record is not None]
    overflow = [r for r in records if r["unmapped"]["gatewatch"]["category"] == "monitor"]
    created = [r for r in records if r["activity_id"] == 1 and r not in overflow]
    ecus = sorted(_ecu(record) for record in created)
    # What was written before the disk was full, then the newest BACKLOG: the ones between were dropped, counted.
    sent = list(range(1, 3 + 2 * BACKLOG))
    kept_before = len(ecus) - BACKLOG
    assert kept_before >= 1 and ecus == sent[:kept_before] + sent[-BACKLOG:], ecus
    final = json.loads((small_disk / "stats.json").read_text())["alert_log"]
    assert final["records_dropped"] == len(sent) - len(ecus) and final["records_waiting"] == 0
    assert not final["degraded"] and final["write_errors"] >= 1
    # The chain itself says what it lacks: one record of the drops, written once there was room again.
    assert [r["count"] for r in overflow] == [final["records_dropped"]]
    assert overflow[0]["unmapped"]["gatewatch"]["detector"] == "alert_log.overflow"
    code, _, err = run("report", "-o", str(tmp_path / "report.html"), str(small_disk))
    assert code == 0 and "alert record(s) dropped" in (tmp_path / "report.html").read_text(), err


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
