"""The shipped strict policy starts on a gateway: a configuration that only ``extends: strict``
and names its uplink is refused (policy check --for-run and gatewatch run alike: exit 2, one
file:line naming dns.listen, never a traceback) while the gateway has no inside address, and
once the inside interface has one, gatewatch run listens there for DNS, says READY over the
notify socket and stops cleanly on SIGTERM.

In a network namespace of the test's own: an inside veth end (st-in) and an uplink end (st-up).
Needs root, iproute2 and nftables (CI has all three).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import PROJECT

MISSING = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and nftables need root (CI runs as root)"),
    pytest.mark.skipif(bool(MISSING), reason=f"missing {', '.join(MISSING)}: run deploy/setup-dev.sh as root"),
]

GATEWATCH = str(Path(sys.executable).with_name("gatewatch"))
STRICT = PROJECT / "policies" / "strict.yaml"
INSIDE_IF, UPLINK_IF, INSIDE_ADDRESS = "st-in", "st-up", "192.168.77.1"
SITE = f"version: 1\nextends: strict\nuplinks: [{UPLINK_IF}]\n"
# A DNS query for example.com (A): the forwarder counts it when it arrives.
QUERY = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")


def sh(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **kwargs)


@pytest.fixture
def gateway():
    """A namespace with an inside and an uplink interface, both up; the inside one has no
    address yet. Yields a function that runs a command in it."""
    ns = f"gwst{os.getpid() % 100000}"
    assert sh("ip", "netns", "add", ns).returncode == 0

    def inside(*argv: str, **kwargs) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", ns, *argv, **kwargs)

    try:
        assert sh("ip", "link", "add", INSIDE_IF, "netns", ns, "type", "veth", "peer", "name", UPLINK_IF,
                  "netns", ns).returncode == 0
        for dev in ("lo", INSIDE_IF, UPLINK_IF):
            assert inside("ip", "link", "set", dev, "up").returncode == 0
        assert inside("ip", "addr", "add", "100.64.0.2/24", "dev", UPLINK_IF).returncode == 0  # carrier NAT: outside
        inside.ns = ns  # type: ignore[attr-defined]
        yield inside
    finally:
        sh("ip", "netns", "del", ns)


def line_of(path: Path, prefix: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(prefix))


def test_strict_is_refused_while_the_gateway_has_no_inside_address(gateway, tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text(SITE)
    where = f"{STRICT}:{line_of(STRICT, 'listen:')}:12: dns.listen: inside: this host has no address in the vehicle networks"
    check = gateway(GATEWATCH, "policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert check.returncode == 2 and check.stdout == ""
    assert check.stderr.startswith(f"gatewatch policy check: error: {where}") and check.stderr.count("\n") == 1, check.stderr
    done = gateway(GATEWATCH, "run", "--config", str(config), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"gatewatch run: error: {where}")
    assert sh("ip", "netns", "exec", gateway.ns, "nft", "list", "tables").stdout == ""  # refused before touching the kernel


def test_strict_with_an_address_the_gateway_does_not_have_names_the_site_line(gateway, tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text(SITE + "dns:\n  listen: [192.168.1.1]\n  upstream: [192.0.2.53]\n")
    gateway("ip", "addr", "add", f"{INSIDE_ADDRESS}/24", "dev", INSIDE_IF)
    done = gateway(GATEWATCH, "run", "--config", str(config), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"gatewatch run: error: {config}:5:12: dns.listen: cannot listen on 192.168.1.1:53: "
                                  "Cannot assign requested address")
    check = gateway(GATEWATCH, "policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert check.returncode == 2 and f"{config}:5:12: dns.listen: cannot listen on 192.168.1.1:53" in check.stderr


def test_strict_starts_listening_inside_and_stops_on_sigterm(gateway, tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text(SITE)
    out = tmp_path / "out"
    gateway("ip", "addr", "add", f"{INSIDE_ADDRESS}/24", "dev", INSIDE_IF)
    check = gateway(GATEWATCH, "policy", "check", "--for-run", "-o", str(out), str(config))
    assert (check.returncode, check.stderr) == (0, "")
    assert check.stdout.splitlines()[0] == f"{config}: dns.listen: {INSIDE_ADDRESS}:53"

    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        env = {**os.environ, "NOTIFY_SOCKET": address}
        daemon = subprocess.Popen(["ip", "netns", "exec", gateway.ns, GATEWATCH, "run", "--config", str(config), "-o", str(out)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            wait_for_ready(listener, daemon)
            asked = gateway(sys.executable, "-c", "import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                            f".sendto(bytes.fromhex(sys.argv[1]), ('{INSIDE_ADDRESS}', 53))", QUERY.hex())
            assert asked.returncode == 0, asked.stderr
            wait_for(lambda: dns_queries(out) >= 1, "the forwarder to count the query in stats.json")
        finally:
            daemon.send_signal(signal.SIGTERM)
            stdout, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr
    # strict's upstream is a documentation address with no route here: said once, counted per query
    assert stderr.count("upstream resolver 192.0.2.53 port 53: Network is unreachable") == 1, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["state"] == "stopped" and summary["mode"] == "enforce"
    assert summary["dns"]["queries"] == summary["dns"]["upstream_errors"] == summary["dns"]["unanswered"] == 1


def wait_for_ready(listener: socket.socket, daemon: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon.poll() is None, daemon.communicate()[1]
        listener.settimeout(max(0.01, min(1.0, deadline - time.monotonic())))
        try:
            if "READY=1" in listener.recv(4096).decode().split("\n"):
                return
        except TimeoutError:
            continue
    raise AssertionError("no READY=1 from the daemon")


def dns_queries(out: Path) -> int:
    try:
        return json.loads((out / "stats.json").read_text()).get("dns", {}).get("queries", 0)
    except (OSError, ValueError):  # not written yet, or being replaced
        return 0


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)
