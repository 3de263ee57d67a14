"""The one rule of which side is the vehicle: for flows, packets and the remote destination."""

from __future__ import annotations

import ipaddress

import numpy as np

from monitor.net.direction import VehicleNetworks, flow_direction, remote_side, sent_by_vehicle


def columns(addresses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ips = [ipaddress.ip_address(a) for a in addresses]
    version = np.array([ip.version for ip in ips])
    packed = np.array([[int(ip) >> 64, int(ip) & ((1 << 64) - 1)] for ip in ips], dtype=np.uint64)
    return version, packed


def test_flows_the_vehicle_started_go_out_and_uplink_captures_count_as_the_vehicle_s():
    nets = VehicleNetworks()
    assert nets.direction("192.168.1.2", "203.0.113.9") == "outbound"
    assert nets.direction("203.0.113.9", "192.168.1.2") == "inbound"
    assert nets.direction("10.0.0.1", "10.0.0.2") == "internal"
    assert nets.direction("100.64.1.2", "203.0.113.9") == "outbound"  # neither inside: the originator
    assert flow_direction(False, False) == "outbound" and flow_direction(False, True) == "inbound"
    assert remote_side("inbound") == "orig" and remote_side("outbound") == remote_side(None) == "resp"


def test_packets_follow_the_same_rule_in_both_address_families():
    nets = VehicleNetworks(["192.168.0.0/16", "fd00::/8"])
    version, src = columns(["192.168.1.2", "203.0.113.9", "fd00::1", "2001:db8::1", "198.51.100.1"])
    inside = nets.inside(version, src)
    assert inside.tolist() == [True, False, True, False, False]
    _, dst = columns(["203.0.113.9", "192.168.1.2", "2001:db8::2", "fd00::1", "203.0.113.9"])
    out, back = sent_by_vehicle(inside, nets.inside(version, dst), np.array([True, False, True, False, True]))
    assert out.tolist() == [True, False, True, False, True]  # the last: neither inside, sent by the originator
    assert back.tolist() == [False, True, False, True, False]


def test_loopback_and_link_local_never_go_out_whatever_the_configured_networks():
    nets = VehicleNetworks(["192.168.0.0/16"])  # neither loopback nor link-local configured
    assert nets.direction("127.0.0.1", "127.0.0.53") == "internal"
    assert nets.direction("::1", "::1") == "internal"
    assert nets.direction("169.254.10.1", "169.254.10.2") == "internal"
    assert nets.direction("fe80::1", "fe80::2") == "internal"
    assert nets.direction("::ffff:127.0.0.1", "::1") == "internal"
    # A flow from such an address to the world still has a remote end: not hidden as local.
    assert nets.direction("169.254.10.1", "203.0.113.9") == "outbound"
    assert nets.direction("203.0.113.9", "127.0.0.1") == "inbound"
    version, src = columns(["127.0.0.1", "::1", "169.254.1.1", "fe80::1"])
    _, dst = columns(["127.0.0.2", "::1", "169.254.1.2", "fe80::2"])
    out, back = sent_by_vehicle(nets.inside(version, src), nets.inside(version, dst), np.ones(4, bool))
    assert not out.any() and not back.any()


def test_loopback_flows_in_a_capture_are_internal(tmp_path):
    from monitor.net.packets import LINKTYPE_RAW, from_packets
    from monitor.net.pipeline import NetConfig, NetPipeline
    from scapy.layers.inet import IP, UDP

    frames = [bytes(IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40000, dport=53) / b"x"),
              bytes(IP(src="169.254.3.4", dst="169.254.3.5") / UDP(sport=40000, dport=5353) / b"y")]
    pipeline = NetPipeline(NetConfig(vehicle_networks=["10.0.0.0/8"]))
    view = pipeline.process(from_packets(frames, [1_000_000_000, 1_000_000_001], LINKTYPE_RAW))
    assert view is not None and not view.outbound.any()
    pipeline.finish()
    assert [r["direction"] for r in pipeline.drain()] == ["internal", "internal"]
