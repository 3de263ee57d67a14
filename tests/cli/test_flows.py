"""``gatewatch flows`` and ``gatewatch bench net`` from the command line."""

from __future__ import annotations

import json

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from monitor import native
from monitor.net.packets import LINKTYPE_ETHERNET
from monitor.net.pcapwriter import write_pcap

from ..builders import client_hello, run


@pytest.fixture
def capture(tmp_path):
    base = Ether() / IP(src="192.168.7.2", dst="203.0.113.50")
    packets = [base / TCP(sport=50000, dport=443, flags="S", seq=0),
               Ether() / IP(src="203.0.113.50", dst="192.168.7.2") / TCP(sport=443, dport=50000, flags="SA", ack=1),
               base / TCP(sport=50000, dport=443, flags="PA", seq=1) / client_hello("video.example.com"),
               base / UDP(sport=6000, dport=7000) / b"beacon"]
    path = tmp_path / "drive.pcap"
    write_pcap(path, [(1_700_000_000_000_000_000 + i * 1_000_000, bytes(p), len(p)) for i, p in enumerate(packets)],
               LINKTYPE_ETHERNET)
    return path


def test_flows_jsonl(capture) -> None:
    code, out, err = run("flows", str(capture), "--vehicle-net", "192.168.7.0/24")
    assert code == 0, err
    records = {r["proto"]: r for r in map(json.loads, out.splitlines())}
    tls = records["tcp"]
    assert (tls["orig_h"], tls["resp_p"], tls["direction"], tls["orig_pkts"], tls["resp_pkts"]) == ("192.168.7.2", 443, "outbound", 2, 1)
    assert tls["names"] == [{"name": "video.example.com", "learned_from": ["tls_sni"]}]
    assert tls["community_id"].startswith("1:") and tls["app_proto"] == "tls"
    assert records["udp"]["orig_ip_bytes"] == 20 + 8 + 6
    assert "packets: 4 (ok 4); flows: 2" in err


def test_flows_table_and_vehicle_net_changes_direction(capture) -> None:
    # The servers' network named as the vehicle's: the flows now come *into* the vehicle.
    code, out, _ = run("flows", str(capture), "--format", "table", "--vehicle-net", "203.0.113.0/24")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["proto", "orig_h", "orig_p"]
    assert len(rows) == 2 and all(" inbound " in row for row in rows)
    # Neither side inside (a capture on the uplink): the originator is the vehicle, as detectors see it.
    code, out, _ = run("flows", str(capture), "--format", "table", "--vehicle-net", "10.0.0.0/8")
    assert code == 0 and all(" outbound " in row for row in out.splitlines()[1:])
    assert any("video.example.com(tls_sni)" in row for row in rows)


def test_flows_errors_are_one_line(tmp_path) -> None:
    code, _, err = run("flows", str(tmp_path / "missing.pcap"))
    assert code == 1 and err.count("\n") == 1 and "missing.pcap: cannot open capture" in err
    code, _, err = run("flows")
    assert code == 1 and "give capture files or --interface" in err
    code, _, err = run("flows", str(tmp_path / "x.pcap"), "--vehicle-net", "not-a-cidr")
    assert code == 1 and "vehicle network 'not-a-cidr'" in err


def test_bench_net_json_has_the_documented_shape(capture) -> None:
    code, out, err = run("bench", "net", str(capture), "--scapy-packets", "4", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["packets"] == 4 and report["capture"] == str(capture)
    both = native.kernels is not None  # the numpy reference core runs beside the native one
    assert report["core"] == native.DESCRIPTION
    assert set(report["results"]) == {"scapy_full_dissection", "dpkt_flows", "gatewatch_end_to_end"} | (
        {"gatewatch_end_to_end@numpy"} if both else set())
    assert all(r["packets_per_s"] > 0 for r in report["results"].values() if "skipped" not in r)
    assert set(report["processes"]) == {"suricata_single", "gatewatch_flows"} | ({"gatewatch_flows@numpy"} if both else set())
    assert report["records_identical_to_numpy"] is (True if both else None)
    flows = report["processes"]["gatewatch_flows"]
    assert flows["status"] == 0 and flows["cpu_seconds"] > 0 and flows["peak_rss_mb"] > 10
    suricata = report["processes"]["suricata_single"]
    assert "skipped" in suricata or (suricata["status"] == 0 and "Suricata" in suricata["version"])
    assert report["gatewatch_packets_per_s"] == report["results"]["gatewatch_end_to_end"]["packets_per_s"]
    assert report["ratios"]["gatewatch_vs_scapy"] > 0
