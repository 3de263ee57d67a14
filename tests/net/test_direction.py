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
