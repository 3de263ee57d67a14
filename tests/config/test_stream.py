"""The configuration's ``stream`` section reaches TCP reassembly: the overlap policy decides which
of two overlapping segments' bytes the TLS parser reads (end to end through ``gatewatch
replay --config``), the flows command takes the same choice as options, and a bad value is an
error at its file:line."""

from __future__ import annotations

import json

import pytest

from monitor.testing.scene import client_hello

from ..builders import run

CLIENT, SERVER = "192.168.50.10", "203.0.113.9"
OLD, NEW = "first.example.com", "later.example.com"  # same length: the hellos differ in the name only


def overlapping_hellos(path) -> None:
    """A handshake, then the ClientHello from byte 10 naming OLD, then from byte 5 naming NEW (it
    starts before the held one: Linux and BSD take its bytes, ``first`` keeps OLD's), then bytes
    0-4, which bring it all into order. Checksums are scapy's, so every segment counts."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    old, new = client_hello(OLD, seed=3), client_hello(NEW, seed=3)
    assert len(old) == len(new) and old[:5] == new[:5]
    isn, server_isn = 1000, 9000
    up, down = IP(src=CLIENT, dst=SERVER), IP(src=SERVER, dst=CLIENT)
    packets = [Ether() / up / TCP(sport=40100, dport=443, flags="S", seq=isn),
               Ether() / down / TCP(sport=443, dport=40100, flags="SA", seq=server_isn, ack=isn + 1),
               Ether() / up / TCP(sport=40100, dport=443, flags="A", seq=isn + 1, ack=server_isn + 1)]
    for start, hello in ((10, old), (5, new), (0, old[:5])):
        packets.append(Ether() / up / TCP(sport=40100, dport=443, flags="PA", seq=isn + 1 + start, ack=server_isn + 1)
                       / hello[start:])
    for k, p in enumerate(packets):
        p.time = 1_700_000_000 + k * 0.01
    wrpcap(str(path), packets)


def replay_names(tmp_path, stream: str | None) -> str:
    capture = tmp_path / "hello.pcap"
    overlapping_hellos(capture)
    config = tmp_path / "config.yaml"
    config.write_text("version: 1\nextends: default\n" + (f"stream: {stream}\n" if stream else ""))
    out = tmp_path / "out"
    code, _out, err = run("replay", str(capture), "-o", str(out), "--vehicle-id", "v", "--config", str(config))
    assert code == 0, err
    return "\n".join(p.read_text() for p in out.glob("flows-*.jsonl"))


@pytest.mark.parametrize(("stream", "wins"), [(None, NEW), ("{policy: linux}", NEW), ("{policy: bsd}", NEW),
                                              ("{policy: first}", OLD), ("{policy: first, checksum: verify}", OLD)])
def test_the_stream_policy_decides_which_overlapping_bytes_the_parser_reads(tmp_path, stream, wins):
    flows = replay_names(tmp_path, stream)
    lost = OLD if wins == NEW else NEW
    assert wins in flows and lost not in flows, flows


def test_flows_takes_the_policy_as_an_option(tmp_path):
    capture = tmp_path / "hello.pcap"
    overlapping_hellos(capture)
    for policy, wins in (("first", OLD), ("linux", NEW)):
        code, out, err = run("flows", str(capture), "--stream-policy", policy, "--checksum", "verify")
        assert code == 0, err
        assert [r for r in map(json.loads, out.splitlines()) if wins in json.dumps(r)], (policy, out)
        assert (OLD if wins == NEW else NEW) not in out


@pytest.mark.parametrize(("text", "line", "says"), [
    ("stream:\n  policy: windows\n", 4, "stream.policy must be one of first, last, bsd, linux"),
    ("stream:\n  checksum: maybe\n", 4, "stream.checksum must be one of auto, verify, ignore"),
    ("stream:\n  depth: -1\n", 4, "stream.depth must be a whole number"),
    ("stream:\n  gap_timeout_s: zero\n", 4, "stream.gap_timeout_s must be a positive number"),
    ("stream:\n  windw: 5\n", 4, "unknown key 'windw' in stream"),
    ("stream: linux\n", 3, "stream must be a mapping"),
])
def test_a_bad_stream_value_is_an_error_at_its_line(tmp_path, text, line, says):
    config = tmp_path / "bad.yaml"
    config.write_text("version: 1\nextends: default\n" + text)
    code, _out, err = run("policy", "check", str(config))
    assert code in (1, 2)
    assert f"{config}:{line}:" in err and says in err, err
    assert "Traceback" not in err


def test_the_loaded_section_is_the_stream_config(tmp_path):
    from monitor.config.load import load_config
    from monitor.detect import threshold_sections
    from monitor.net.reassembly import StreamConfig

    config = tmp_path / "c.yaml"
    config.write_text("version: 1\nextends: default\nstream: {policy: bsd, checksum: ignore, depth: 65536, gap_timeout_s: 2}\n")
    assert load_config(config, threshold_sections()).stream == StreamConfig(policy="bsd", checksum="ignore", depth=65536, gap_timeout_s=2.0)
    assert load_config("default", threshold_sections()).stream == StreamConfig()
