"""Live capture for real: a veth pair between two network namespaces the test creates, traffic
from one side (UDP datagrams and a real TLS ClientHello from Python's ssl module), and
``gatewatch flows -i`` capturing on the other side with a kernel BPF filter.

Traffic is sent once the kernel lists the capture's socket as bound to the interface
(/proc/PID/net/packet), never after a fixed sleep: with both cores busy, interpreter start-up
and scapy's filter compile take seconds."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from monitor.errors import ConfigError, SourceError
from monitor.net.live import CaptureConfig, LiveCapture, compile_filter

from ..builders import netns_unavailable
from ..conftest import PROJECT
from ..loaded import GENEROUS, cpu_hogs, wait_until


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
import socket, ssl, sys
context = ssl.create_default_context()  # before "ready": loading CA certificates is slow under load
print("ready", flush=True)
sys.stdin.readline()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(7):
    udp.sendto(b"position %d" % i, ("10.77.0.1", 9999))
for i in range(3):
    udp.sendto(b"filtered out", ("10.77.0.1", 5555))
raw = socket.create_connection(("10.77.0.1", 4433), timeout=5)
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


def in_ns(namespace: str, script: str, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", script, *args], **popen)


def ready(namespace: str, script: str, *args: str) -> subprocess.Popen:
    """A process that has started and waits for a line on stdin before it sends."""
    process = in_ns(namespace, script, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def go(process: subprocess.Popen) -> None:
    process.communicate("go\n", timeout=GENEROUS)
    assert process.returncode == 0


def ifindex(namespace: str, interface: str) -> int:
    shown = subprocess.run(["ip", "-n", namespace, "-o", "link", "show", "dev", interface],
                           check=True, capture_output=True, text=True).stdout
    return int(shown.split(":", 1)[0])


def capturing(process: subprocess.Popen, index: int) -> bool:
    """Whether the kernel lists a packet socket receiving every protocol on interface ``index``
    in the namespace of ``process`` (the only one opening packet sockets there): what bind()
    does, the moment capture begins."""
    try:
        rows = Path(f"/proc/{process.pid}/net/packet").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(row.split()[3] == "0003" and int(row.split()[4]) == index for row in rows)


def flows(namespace: str, interface: str, *options: str, output: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-m", "monitor", "flows", "-i",
                             interface, *options, "-o", str(output)], stderr=subprocess.PIPE, text=True, env=env)


def test_live_capture_names_flows_through_a_bpf_filter(veth_pair, tmp_path) -> None:
    capture_ns, peer_ns, interface = veth_pair
    output = tmp_path / "flows.jsonl"
    listener = in_ns(capture_ns, LISTENER, stdout=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == "ready"
    peer = ready(peer_ns, PEER_TRAFFIC)
    # --duration is the capture's end: generous, because the traffic, already started, takes milliseconds
    capture = flows(capture_ns, interface, "--filter", "ip and not port 5555", "--duration", "10", output=output)
    wait_until(lambda: capturing(capture, ifindex(capture_ns, interface)), "the capture to bind", alive=capture)
    go(peer)
    listener.communicate(timeout=GENEROUS)
    assert capture.poll() is None, "the capture ended before the traffic did: raise --duration"
    _, stderr = capture.communicate(timeout=GENEROUS)
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


NOISE = r"""
import os, socket, sys, time
counter = sys.argv[1]
targets = [(host, int(port)) for host, port in (t.rsplit(":", 1) for t in sys.argv[2:])]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rounds = 0
while True:
    for target in targets:
        udp.sendto(b"not for the capture", target)
    rounds += 1
    if rounds % 10 == 1:
        with open(counter + ".tmp", "w") as handle:
            handle.write(str(rounds * len(targets)))
        os.replace(counter + ".tmp", counter)
    time.sleep(0.001)  # paced on purpose: a steady stream through the capture's start-up, not a flood
"""

MATCHING = r"""
import socket, sys
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("ready", flush=True)
sys.stdin.readline()
for i in range(7):
    udp.sendto(b"position %d" % i, ("10.77.0.1", 9999))
"""


def sent(counter: Path) -> int:
    return int(counter.read_text()) if counter.exists() else 0


def test_nothing_outside_the_filter_or_the_interface_is_recorded_from_the_first_packet(veth_pair, tmp_path) -> None:
    """Issue 23: the socket used to receive every interface's packets, unfiltered, while scapy
    compiled the filter (280 loopback packets recorded as uplink traffic). Unmatched traffic
    flows through the whole start-up of the capture, on a machine the test keeps busy: on the
    loopback (port 7777, and port 9999, which the filter matches, on the wrong interface) and on
    the captured interface itself (other ports). Not one of those packets may be recorded."""
    capture_ns, peer_ns, interface = veth_pair
    output, on_lo, on_veth = tmp_path / "flows.jsonl", tmp_path / "sent-lo", tmp_path / "sent-veth"
    with cpu_hogs(2), contextlib.ExitStack() as noise:
        for namespace, counter, targets in ((capture_ns, on_lo, ("127.0.0.1:7777", "127.0.0.1:9999")),
                                            (peer_ns, on_veth, ("10.77.0.1:5555", "10.77.0.1:9998"))):
            sender = in_ns(namespace, NOISE, str(counter), *targets)
            noise.callback(sender.wait, timeout=GENEROUS)
            noise.callback(sender.kill)
        wait_until(lambda: sent(on_lo) and sent(on_veth), "the unmatched traffic to flow")
        matching = ready(peer_ns, MATCHING)
        before = sent(on_lo), sent(on_veth)
        capture = flows(capture_ns, interface, "--filter", "udp port 9999", "--count", "7", output=output)
        wait_until(lambda: capturing(capture, ifindex(capture_ns, interface)), "the capture to bind", alive=capture)
        during_start = sent(on_lo) - before[0], sent(on_veth) - before[1]
        go(matching)
        _, stderr = capture.communicate(timeout=GENEROUS)
    assert capture.returncode == 0, stderr
    assert all(during_start), f"no unmatched traffic while the capture started (lo, veth): {during_start}"
    records = [json.loads(line) for line in output.read_text().splitlines()]
    wanted = [r for r in records if (r["orig_h"], r["resp_h"], r["resp_p"]) == ("10.77.0.2", "10.77.0.1", 9999)]
    leaked = [(r["orig_h"], r["resp_h"], r["resp_p"], r["orig_pkts"]) for r in records if r not in wanted]
    assert leaked == [], "recorded outside the filter or the interface (orig, resp, port, packets)"
    assert len(wanted) == 1 and wanted[0]["orig_pkts"] == 7, records
    assert "live: 7 packets captured, kernel drops 0" in stderr, stderr
    assert "before the filter took effect" not in stderr, stderr


API_CAPTURE = r"""
import json, sys
import monitor.net.live as live
compiled = []
libpcap_compile = live._libpcap_compile
live._libpcap_compile = lambda *args: compiled.append(args) or libpcap_compile(*args)  # counts, then compiles
capture = live.LiveCapture(live.CaptureConfig(interfaces=[sys.argv[1]], bpf_filter="udp port 9999"))
capture.open()
capture.close()
capture.open()  # a reopen (a modem reset): the compiled filter is reused
print("ready", flush=True)
batches = list(capture.take(max_packets=7))
capture.close()
print(json.dumps({"packets": capture.capture.packets, "kernel_packets": capture.capture.kernel_packets,
                  "kernel_drops": capture.capture.kernel_drops, "drained": capture.capture.drained,
                  "compiled": len(compiled), "interfaces": sorted({int(i) for b in batches for i in b.interface})}))
"""


def test_a_reopened_capture_reuses_its_filter_and_the_kernel_counts_only_what_it_passed(veth_pair, tmp_path) -> None:
    """PACKET_STATISTICS counts the packets the filter passed on the bound interface: the
    loopback noise (port 9999 included) is neither delivered nor counted, nothing was queued
    before the filter took effect, and a reopen does not compile the filter again (libpcap
    through scapy takes about a second)."""
    capture_ns, peer_ns, interface = veth_pair
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    with contextlib.ExitStack() as noise:
        sender = in_ns(capture_ns, NOISE, str(tmp_path / "sent-lo"), "127.0.0.1:9999", "127.0.0.1:7777")
        noise.callback(sender.wait, timeout=GENEROUS)
        noise.callback(sender.kill)
        wait_until(lambda: sent(tmp_path / "sent-lo"), "the loopback noise to flow")
        capture = in_ns(capture_ns, API_CAPTURE, interface, stdout=subprocess.PIPE, text=True, env=env)
        assert capture.stdout.readline().strip() == "ready"
        go(ready(peer_ns, MATCHING))
        out, _ = capture.communicate(timeout=GENEROUS)
    assert capture.returncode == 0
    assert json.loads(out) == {"packets": 7, "kernel_packets": 7, "kernel_drops": 0, "drained": 0, "compiled": 1,
                               "interfaces": [0]}


def test_bpf_syntax_error_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="BPF filter 'udp portx'"):
        compile_filter("udp portx", 1)


def test_unknown_interface_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="no-such-if0"):
        LiveCapture(CaptureConfig(interfaces=["no-such-if0"])).open()
