"""Shared test builders: candump logs written line by line, pcaps built with scapy, frames
collected from live sources. Every test module takes them from here; what the seeds, the
benchmarks and the lab build too (protocol frames, scenes, captures) comes from monitor.testing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import cantools

from monitor.testing.drive import jt808_frame
from monitor.testing.scene import VEHICLE

from .conftest import PROJECT

GATEWAY_DBC = PROJECT / "dbc" / "gateway-telematics.dbc"
SERVER = "203.0.113.9"


def gateway_db():
    return cantools.database.load_file(str(GATEWAY_DBC))


def candump_line(ts: float, bus: str, frame_id: int, data: bytes, extended: bool = False) -> str:
    ident = f"{frame_id:08X}" if extended else f"{frame_id:03X}"
    return f"({ts:.6f}) {bus} {ident}#{data.hex().upper()}\n"


def encode(db, message: str, ts: float, bus: str = "can0", **signals) -> str:
    m = db.get_message_by_name(message)
    return candump_line(ts, bus, m.frame_id, m.encode(signals), m.is_extended_frame)


def vin_lines(db, vin: str, ts: float) -> list[str]:
    m = db.get_message_by_name("GW_VIN")
    chunks = [vin[i : i + 7].ljust(7, "\0").encode() for i in range(0, 17, 7)]
    return [candump_line(ts + 0.01 * k, "can0", m.frame_id, bytes([k]) + chunk) for k, chunk in enumerate(chunks)]


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(sorted(lines, key=lambda line: float(line[1:line.index(")")]))))
    return path


def packet(ts: float, payload: bytes, dport: int = 5000, sport: int = 40000, udp: bool = False,
           src: str = VEHICLE, dst: str = SERVER, seq: int = 1):
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    l4 = UDP(sport=sport, dport=dport) if udp else TCP(sport=sport, dport=dport, flags="PA", seq=seq)
    p = Ether() / IP(src=src, dst=dst) / l4 / payload
    p.time = ts
    return p


def stream(ts: float, payloads: list[bytes], dport: int, interval: float = 0.01, **kw) -> list:
    """TCP segments of one connection with consecutive sequence numbers."""
    out, seq = [], 1
    for i, payload in enumerate(payloads):
        out.append(packet(ts + i * interval, payload, dport=dport, seq=seq, **kw))
        seq += len(payload)
    return out


def jt808(msg_id: int, body: bytes) -> bytes:
    """A JT/T 808-2013 frame from terminal 017051564189 (serial 7): escaped, XOR-checked."""
    return jt808_frame(msg_id, body, serial=7)


def write_pcap(path: Path, packets: list) -> Path:
    from scapy.utils import wrpcap

    wrpcap(str(path), sorted(packets, key=lambda p: float(p.time)))
    return path


def send_and_collect(source, channel: str, messages: list) -> list:
    """Send python-can Messages on the virtual bus ``channel`` from a thread while an opened
    live source collects them; the batches it delivered."""
    import threading

    import can

    with can.Bus(interface="virtual", channel=channel) as sender:
        thread = threading.Thread(target=lambda: [sender.send(m) for m in messages])
        thread.start()
        batches = collect(source, len(messages))
        thread.join()
    return batches


def collect(source, count: int, idle_s: float = 2.0) -> list:
    """Batches from an opened live source until ``count`` items arrived or nothing came for
    ``idle_s`` seconds (the caller sends from another thread)."""
    batches: list = []
    for batch in _until_idle(source, idle_s):
        batches.append(batch)
        if sum(len(b) for b in batches) >= count:
            break
    return batches


def _until_idle(source, idle_s: float):
    import time

    last = time.monotonic()
    while time.monotonic() - last < idle_s:
        batch = source.read(0.1)
        if batch is not None and len(batch):
            last = time.monotonic()
            yield batch


def netns_unavailable() -> str | None:
    """Why this machine cannot build network namespaces for a test (None: it can)."""
    import os
    import shutil
    import sys

    if sys.platform != "linux":
        return "network namespaces are Linux"
    if os.geteuid() != 0:
        return "needs root to create network namespaces (CI runs as root)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip command"
    return None


@contextlib.contextmanager
def veth_to_namespace():
    """A veth pair: one end here (yielded first), the other in a network namespace made for the
    test (yielded second, with the namespace's name). Both quiet (no IPv6 chatter). Skips with
    the reason where namespaces cannot be made."""
    import subprocess
    import uuid

    import pytest

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    namespace, inside, outside = f"gwns{tag}", f"gwi{tag}", f"gwo{tag}"
    commands = [
        ["ip", "netns", "add", namespace],
        ["ip", "link", "add", inside, "type", "veth", "peer", "name", outside, "netns", namespace],
        ["sysctl", "-qw", f"net.ipv6.conf.{inside}.disable_ipv6=1"],
        ["ip", "netns", "exec", namespace, "sysctl", "-qw", f"net.ipv6.conf.{outside}.disable_ipv6=1"],
        ["ip", "link", "set", inside, "up"], ["ip", "-n", namespace, "link", "set", outside, "up"],
    ]
    try:
        for command in commands:
            done = subprocess.run(command, check=False, capture_output=True, text=True)
            if done.returncode:
                pytest.skip(f"cannot build the veth pair here: {' '.join(command)}: {done.stderr.strip()}")
        yield inside, outside, namespace
    finally:
        subprocess.run(["ip", "link", "del", inside], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)


def run(*argv: str) -> tuple[int, str, str]:
    """``gatewatch ARGV...`` in-process: (exit status, stdout, stderr)."""
    import io

    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def lab(module: str, *argv: str, timeout: float = 900) -> tuple[int, str, str]:
    """``python -m lab.MODULE ARGV...`` as a process from the checkout, as ``make`` runs it:
    (exit status, stdout, stderr). lab/ is outside the wheel, so only the checkout has it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", f"lab.{module}", *argv], cwd=PROJECT, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return done.returncode, done.stdout, done.stderr


def assert_same_as_python_can(batch, messages: list) -> None:
    """Every column of a FrameBatch equals what python-can's reader made of the same log."""
    assert len(batch) == len(messages)
    for i, msg in enumerate(messages):
        assert batch.timestamp[i] == msg.timestamp, i
        assert batch.arbitration_id[i] == msg.arbitration_id, i
        assert batch.is_extended[i] == msg.is_extended_id, i
        assert batch.is_remote[i] == msg.is_remote_frame, i
        assert batch.is_fd[i] == msg.is_fd, i
        assert batch.bitrate_switch[i] == msg.bitrate_switch, i
        assert batch.error_state_indicator[i] == msg.error_state_indicator, i
        assert batch.is_rx[i] == msg.is_rx, i
        assert batch.dlc[i] == msg.dlc, i
        assert batch.payload(i) == (b"" if msg.is_remote_frame else bytes(msg.data)), i
        assert batch.channel_of(i) == str(msg.channel), i


def client_hello(server_name: str) -> bytes:
    """A TLS 1.3 ClientHello record naming ``server_name`` (SNI) with ALPN h2 and padding."""
    name = server_name.encode()
    sni = b"\x00\x00" + (len(name) + 5).to_bytes(2, "big") + (len(name) + 3).to_bytes(2, "big") + b"\x00" + len(name).to_bytes(2, "big") + name
    alpn = b"\x00\x10\x00\x05\x00\x03\x02h2"
    padding = b"\x00\x15" + (300).to_bytes(2, "big") + bytes(300)
    extensions = sni + alpn + padding
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + len(extensions).to_bytes(2, "big") + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake



def alerts_in(directory, activity: str | None = "Create") -> list[dict]:
    """The alert log in ``directory`` as finding-shaped dicts (``unmapped.gatewatch`` with the
    names flattened and the whole record under "record"), one per episode by default."""
    from monitor.alerts.read import gatewatch, records

    out = []
    for record in records([Path(directory)]) if Path(directory).exists() else []:
        if activity and record["activity_name"] != activity:
            continue
        found = gatewatch(record)
        names = [n["name"] for n in (found.get("destination") or {}).get("names", [])]
        out.append({**found, "names": names, "record": record})
    return out


def frame_batch(rows: list[tuple[float, int, bytes]], bus: str = "can0"):
    """A FrameBatch of (time, id, payload) rows on one bus."""
    import numpy as np

    from monitor.canbus.frames import FrameBatch

    batch = FrameBatch.empty(len(rows), (bus,))
    for i, (t, frame_id, data) in enumerate(rows):
        batch.timestamp[i], batch.arbitration_id[i], batch.dlc[i] = t, frame_id, len(data)
        batch.data[i, : len(data)] = np.frombuffer(data, np.uint8)
    return batch


def can_view(batch):
    """The CanView a CAN detector sees for a batch (no DBC)."""
    from monitor.canbus.decode import decode_batch
    from monitor.canbus.plan import compile_plan
    from monitor.detect.canview import CanView

    plan = compile_plan([])
    return CanView(batch, decode_batch(plan, batch), plan)


def reachable_by_all(argv: list[str]) -> list[str]:
    """``argv`` run so that an unprivileged user can read the interpreter: where a folder above
    it is closed to others (CI's Python lives under /root, mode 0700), the command runs in a
    private mount namespace in which that folder is an open tmpfs with only the interpreter's
    tree bound into it, as a deployment under /opt would be."""
    import os
    import sys
    from pathlib import Path

    closed = next((p for p in Path(sys.base_prefix).resolve().parents
                   if p != Path("/") and not os.stat(p).st_mode & 0o001), None)
    if closed is None:
        return argv
    inner = Path(sys.base_prefix).resolve().relative_to(closed).parts[0]
    keep = f"/run/gatewatch-test-{os.getpid()}"
    script = (f'set -e; mkdir -p {keep}; mount --bind "{closed}" {keep}; mount -t tmpfs -o mode=0755 tmpfs "{closed}"; '
              f'mkdir -p "{closed}/{inner}"; mount --bind "{keep}/{inner}" "{closed}/{inner}"; exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]


def dns_packet(ts: float, src: str, dst: str, sport: int, dport: int, ident: int, name: str, answer: str | None = None):
    """A DNS query (or, with ``answer``, its A answer) on Ethernet/IPv4/UDP at time ``ts``."""
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    body = DNS(id=ident, rd=1, qd=DNSQR(qname=name))
    if answer is not None:
        body = DNS(id=ident, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=DNSRR(rrname=name, ttl=60, rdata=answer))
    p = Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / body
    p.time = ts
    return p
