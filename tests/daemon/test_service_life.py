"""The daemon as systemd runs it: READY/WATCHDOG/STATUS/STOPPING over a notify socket the
test listens on, ``gatewatch status`` while it runs, SIGHUP with a broken and then a good
configuration, SIGTERM draining and exiting 0; and a CAN-only gateway never imports scapy."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ..conftest import PROJECT
from ..loaded import GENEROUS, wait_until

GATEWATCH = [sys.executable, "-m", "monitor"]


def config_text(channel: str, repeat_s: int = 60) -> str:
    return (f"version: 1\nextends: default\nsources:\n  can: [{{name: body, interface: virtual, channel: {channel}}}]\n"
            f"detectors:\n  wire: {{repeat_s: {repeat_s}}}\n")


def receive(sock: socket.socket, want: str, timeout: float = GENEROUS) -> list[str]:
    """Notify datagrams until one holds ``want``; all of them, in order."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if want in got[-1]:
            return got
    raise AssertionError(f"no {want!r} from the daemon; got {got}")


def test_notify_status_reload_and_stop(tmp_path):
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        run_the_daemon_through_its_life(tmp_path, listener, address)


def run_the_daemon_through_its_life(tmp_path: Path, listener: socket.socket, address: str) -> None:
    config = tmp_path / "gateway.yaml"
    channel = f"gw-life-{uuid.uuid4().hex[:6]}"
    config.write_text(config_text(channel))
    out = tmp_path / "out"
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "300000"}
    env.pop("WATCHDOG_PID", None)
    daemon = subprocess.Popen([*GATEWATCH, "run", "--config", str(config), "-o", str(out)], cwd=PROJECT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = receive(listener, "READY=1")[-1].split("\n")
        assert "READY=1" in ready and any(f.startswith("STATUS=running: 0 CAN frames") for f in ready)
        assert f"MAINPID={daemon.pid}" in ready
        pings = [m for m in receive(listener, "WATCHDOG=1") + receive(listener, "WATCHDOG=1") if m == "WATCHDOG=1"]
        assert len(pings) >= 2  # from the pipeline loop, at half the watchdog interval

        status = subprocess.run([*GATEWATCH, "status", "-o", str(out)], capture_output=True, text=True, cwd=PROJECT, check=False)
        assert status.returncode == 0 and status.stdout.startswith("running: 0 CAN frames"), status
        assert "can:body: 0 in 0 batches, queue drops 0" in status.stdout

        config.write_text(config_text(channel) + "detectors_typo: 1\n")  # a broken configuration
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: counted(out, "reloads_refused"), "the broken configuration to be refused", alive=daemon)
        config.write_text(config_text(channel, repeat_s=30))  # a good one
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: counted(out, "reloads") + counted(out, "reloads_refused") >= 2, "the second reload",
                   alive=daemon)
        assert counted(out, "reloads") == 1, f"the good configuration was refused: {counted(out, 'reloads_refused')}"

        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, stderr
    assert "reload refused, the running configuration stays" in stderr
    assert re.search(rf"{re.escape(str(config))}:\d+:1: unknown key .detectors_typo.", stderr), stderr
    assert any("STOPPING=1" in m for m in receive(listener, "STOPPING=1"))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["state"] == "stopped" and stats["daemon"] == {**stats["daemon"], "reloads": 1, "reloads_refused": 1}
    assert json.loads(stdout.splitlines()[-1])["state"] == "stopped"


def counted(out: Path, counter: str) -> int:
    """A daemon counter as its stats.json says (rewritten atomically every STATS_EVERY_S)."""
    try:
        return json.loads((out / "stats.json").read_text())["daemon"].get(counter, 0)
    except FileNotFoundError:
        return 0


def test_a_can_only_gateway_never_imports_scapy(tmp_path):
    config = tmp_path / "can-only.yaml"
    config.write_text(config_text("gw-nothing"))
    probe = ("import sys, pathlib; from monitor.daemon import Daemon; "
             f"d = Daemon({str(config)!r}, pathlib.Path({str(tmp_path / 'out')!r})); "
             "print([str(s) for s in d.sources], 'scapy' in ' '.join(sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("]")[-1].strip() == "False" and "can:body" in done.stdout


def test_an_ip_only_gateway_opens_no_can_bus(tmp_path):
    config = tmp_path / "ip-only.yaml"
    config.write_text("version: 1\nextends: default\nsources:\n  ip: [{interface: lo}]\n")
    probe = ("import sys, pathlib; from monitor.daemon import Daemon; "
             f"d = Daemon({str(config)!r}, pathlib.Path({str(tmp_path / 'out')!r})); "
             "print([s.kind for s in d.sources], 'monitor.canbus.buses' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ip'] False"


def test_no_source_at_all_is_a_one_line_error(tmp_path):
    config = tmp_path / "nothing.yaml"
    config.write_text("version: 1\nextends: default\nsources: {}\n")
    done = subprocess.run([*GATEWATCH, "run", "--config", str(config), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=PROJECT, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nothing to read" in done.stderr  # configuration
