"""Live capture for real: a veth pair between two network namespaces the test creates, traffic
from one side (UDP datagrams and a real TLS ClientHello from Python's ssl module), and
``gatewatch flows -i`` capturing on the other side with a kernel BPF filter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from monitor.errors import ConfigError, SourceError
from monitor.net.live import CaptureConfig, LiveCapture, compile_filter

from ..builders import netns_unavailable
from ..conftest import PROJECT


@pytest.fixture
def veth_pair():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    capture_ns, peer_ns = f"gwcap{tag}", f"gwpeer{tag}"
    commands = [
        ["ip", "netns", "add", capture_ns], ["ip", "netns", "add", peer_ns],
        ["ip", "link", "add", f"gwa{tag}", "netns", capture_ns, "type", "veth", "peer", "name", f"gwb{tag}", "netns", peer_ns],
        ["ip", "-n", capture_ns, "addr", "add", "10.77.0.1/24", "dev", f"gwa{tag}"],
        ["ip", "-n", peer_ns, "addr", "add", "10.77.0.2/24", "dev", f"gwb{tag}"],
        ["ip", "-n", capture_ns, "link", "set", f"gwa{tag}", "up"], ["ip", "-n", peer_ns, "link", "set", f"gwb{tag}", "up"],
        ["ip", "-n", capture_ns, "link", "set", "lo", "up"],
    ]
    try:
        for command in commands:
            done = subprocess.run(command, check=False, capture_output=True, text=True)
            if done.returncode:
                pytest.skip(f"cannot build the veth pair here: {' '.join(command)}: {done.stderr.strip()}")
        yield capture_ns, peer_ns, f"gwa{tag}"
    finally:
        for ns in (capture_ns, peer_ns):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


PEER_TRAFFIC = r"""
import socket, ssl, time
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(7):
    udp.sendto(b"position %d" % i, ("10.77.0.1", 9999))
for i in range(3):
    udp.sendto(b"filtered out", ("10.77.0.1", 5555))
raw = socket.create_connection(("10.77.0.1", 4433), timeout=5)
context = ssl.create_default_context()
try:
    context.wrap_socket(raw, server_hostname="telemetry.example.com")
except (ssl.SSLError, OSError):
    pass  # the listener is not a TLS server: the ClientHello is all we need on the wire
"""

LISTENER = r"""
import socket, sys
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("10.77.0.1", 4433)); server.listen(1)
print("ready", flush=True)
connection, _ = server.accept(); connection.settimeout(3)
try:
    connection.recv(65536)
finally:
    connection.close()
"""


def test_live_capture_names_flows_through_a_bpf_filter(veth_pair, tmp_path) -> None:
    capture_ns, peer_ns, interface = veth_pair
    output = tmp_path / "flows.jsonl"
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    listener = subprocess.Popen(["ip", "netns", "exec", capture_ns, sys.executable, "-c", LISTENER],
                                stdout=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == "ready"
    capture = subprocess.Popen(
        ["ip", "netns", "exec", capture_ns, sys.executable, "-m", "monitor", "flows", "-i", interface,
         "--filter", "ip and not port 5555", "--duration", "4", "-o", str(output)],
        stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.5)  # the capture socket is open well before this
    subprocess.run(["ip", "netns", "exec", peer_ns, sys.executable, "-c", PEER_TRAFFIC], check=True, timeout=20)
    _, stderr = capture.communicate(timeout=30)
    listener.communicate(timeout=10)
    assert capture.returncode == 0, stderr
    records = [json.loads(line) for line in output.read_text().splitlines()]
    udp = [r for r in records if r["proto"] == "udp" and r["resp_p"] == 9999]
    assert len(udp) == 1 and udp[0]["orig_pkts"] == 7 and udp[0]["orig_h"] == "10.77.0.2"
    assert udp[0]["orig_ip_bytes"] == sum(20 + 8 + len(b"position %d" % i) for i in range(7))
    assert not [r for r in records if 5555 in (r["orig_p"], r["resp_p"])], "the kernel filter let port 5555 through"
    tls = [r for r in records if r["proto"] == "tcp" and r["resp_p"] == 4433]
    assert len(tls) == 1 and tls[0]["app_proto"] == "tls"
    assert {"name": "telemetry.example.com", "learned_from": ["tls_sni"]} in tls[0]["names"]
    assert tls[0]["orig_pkts"] >= 3 and tls[0]["resp_pkts"] >= 2  # handshake, hello, acks, close
    assert "kernel drops 0" in stderr


def test_bpf_syntax_error_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="BPF filter 'udp portx'"):
        compile_filter("udp portx", 1)


def test_unknown_interface_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="no-such-if0"):
        LiveCapture(CaptureConfig(interfaces=["no-such-if0"])).open()
