"""Least privilege: the daemon runs as an unprivileged user with CAP_NET_RAW only, started that
way by setpriv (as systemd's User= and AmbientCapabilities= do) or started as root with
``--user`` and dropping to it; it captures, judges and alerts all the same. Enforce mode keeps
CAP_NET_ADMIN (and CAP_NET_BIND_SERVICE for its DNS forwarder) and nothing else, and applies its
ruleset with them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import (
    alerts_in,
    netns_unavailable,
    reachable_by_all,
    stream,
    veth_to_namespace,
    write_pcap,
)
from tests.loaded import wait_until

PROJECT = Path(__file__).resolve().parents[2]
NOBODY = 65534
NET_RAW, NET_ADMIN, BIND_SERVICE = 1 << 13, 1 << 12, 1 << 10
JT808 = bytes.fromhex("7e0200003301705156418900" "0c00000000000c00020158ff7206cd1f4c000000000123201122115639"
                      "01040000000030011f310109" "937e")


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder the unprivileged user can reach (pytest's own is closed to others)."""
    reason = netns_unavailable() or (None if shutil.which("setpriv") else "needs util-linux's setpriv")
    if reason:
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="gatewatch-lp-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def credentials(pid: int) -> dict[str, str]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.split()[0] for k, _, v in (line.partition(":\t") for line in status) if k in
            ("Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")}


def start(argv: list[str], config: Path, out: Path, netns: str | None = None) -> subprocess.Popen:
    daemon = [sys.executable, "-m", "monitor", "run", "--config", str(config), "-o", str(out)]
    command = reachable_by_all(argv + daemon if argv and argv[0] == "setpriv" else daemon + argv)
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    process = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    assert "ready" in line, (line, process.stderr.read() if process.poll() is not None and process.stderr else "")
    return process


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return err


SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all,+net_raw",
           "--ambient-caps=-all,+net_raw", "--bounding-set=-all,+net_raw", "--no-new-privs"]


@pytest.mark.parametrize("how", ["setpriv", "--user"])
def test_unprivileged_with_cap_net_raw_only_captures_and_alerts(open_folder: Path, how: str) -> None:
    out = open_folder / "out"
    if how == "setpriv":
        out.mkdir()
        os.chown(out, NOBODY, NOBODY)
    with veth_to_namespace() as (inside, outside, namespace):
        config = open_folder / "gateway.yaml"
        config.write_text(f"version: 1\nextends: default\nsources:\n  ip: [{{interface: {inside}}}]\n")
        config.chmod(0o644)
        daemon = start(SETPRIV if how == "setpriv" else ["--user", "nobody"], config, out)
        try:
            seen = credentials(daemon.pid)
            report = write_pcap(open_folder / "report.pcap", stream(time.time(), [JT808], dport=5015, dst="203.0.113.9"))
            subprocess.run(["ip", "netns", "exec", namespace, sys.executable,
                            str(PROJECT / "tests" / "daemon" / "play_capture.py"), outside, str(report), str(time.time())],
                           check=True, timeout=60)
            wait_until(lambda: any(a["detector"] == "wire.jt808" for a in alerts_in(out)),
                       "an alert from the unprivileged daemon", step=0.3)
        finally:
            err = stop(daemon)
    assert seen["Uid"] == seen["Gid"] == str(NOBODY)
    assert int(seen["CapEff"], 16) == int(seen["CapPrm"], 16) == int(seen["CapBnd"], 16) == NET_RAW
    assert seen["NoNewPrivs"] == "1"
    assert all(p.stat().st_uid == NOBODY for p in out.iterdir())
    if how == "--user":
        assert "running as nobody (uid 65534) with CAP_NET_RAW only" in err


def test_enforce_mode_as_nobody_keeps_net_admin_and_applies_its_ruleset(open_folder: Path) -> None:
    if not shutil.which("nft"):
        pytest.skip("needs nftables' nft command")
    namespace = f"gwlp{os.getpid()}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        config = open_folder / "enforce.yaml"
        config.write_text("version: 1\nextends: countries-of-concern-enforce\ndns: {listen: [127.0.0.1]}\n"
                          "sources:\n  ip: [{interface: lo}]\n")
        config.chmod(0o644)
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        daemon = start(["--user", "nobody"], config, open_folder / "out", netns=namespace)
        try:
            seen = credentials(daemon.pid)
            table = subprocess.run(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", "gatewatch"],
                                   capture_output=True, text=True, check=False)
        finally:
            stop(daemon)
        gone = subprocess.run(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", "gatewatch"],
                              capture_output=True, text=True, check=False)
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
    # CAP_NET_BIND_SERVICE too: the DNS forwarder listens on port 53.
    assert seen["Uid"] == str(NOBODY) and int(seen["CapEff"], 16) == NET_RAW | NET_ADMIN | BIND_SERVICE
    assert table.returncode == 0 and "chain refuse" in table.stdout and "set block4" in table.stdout, table.stderr
    # On the way out, still as nobody, it applies on_stop: strict's fail-closed table.
    assert gone.returncode == 0 and "gatewatch stopped: fail-closed" in gone.stdout
