"""Reviewing logs: `gatewatch alerts` with filters and formats, `alerts summary` over several
vehicles, following a growing log, the flow and DNS logs, and the CI gates of replay."""

from __future__ import annotations

import csv
import io
import json
import threading

from monitor.alerts.read import follow, gatewatch

from ..builders import packet, run, write_pcap
from .conftest import T0, replay_into


def fleet(tmp_path, drive) -> None:
    for vehicle in ("van-1", "van-2"):
        assert replay_into(tmp_path / "fleet" / vehicle, *drive, extra=("--vehicle-id", vehicle))[0] == 0


def test_alerts_lists_filters_and_formats_many_vehicles(tmp_path, drive):
    fleet(tmp_path, drive)
    code, out, err = run("alerts", str(tmp_path / "fleet"))
    assert code == 0 and err == ""
    rows = out.splitlines()[1:]
    assert {"van-1", "van-2"} <= {row.split()[1] for row in rows}
    code, out, _ = run("alerts", str(tmp_path / "fleet"), "--vehicle", "van-2", "--detector", "wire", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert records and {gatewatch(r)["vehicle"]["id"] for r in records} == {"van-2"}
    assert {gatewatch(r)["detector"] for r in records} == {"wire.jt808"}
    code, out, _ = run("alerts", str(tmp_path / "fleet"), "--category", "geolocation", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert table and {row["category"] for row in table} == {"geolocation"} and {row["vehicle"] for row in table} == {"van-1", "van-2"}
    assert {row["activity"] for row in table} == {"Create", "Update", "Close"}
    code, out, _ = run("alerts", str(tmp_path / "fleet"), "--category", "video", "--format", "csv")
    assert out.splitlines() == ["time,vehicle,seq,activity,category,action,detector,destination,port,names,count,confidence,seen,country"]
    late = f"{T0 + 100:.0f}"
    code, out, _ = run("alerts", str(tmp_path / "fleet"), "--since", late, "--destination", "203.0.113.9", "--format", "jsonl")
    assert out == ""  # every alert of the drive is earlier
    code, out, _ = run("alerts", str(tmp_path / "fleet"), "--until", late, "--destination", "203.0.113.9",
                       "--min-confidence", "0.9", "--format", "jsonl")
    assert out and all(gatewatch(json.loads(line))["confidence"] >= 0.9 for line in out.splitlines())


def test_summary_groups_by_category_destination_detector_and_vehicle(tmp_path, drive):
    fleet(tmp_path, drive)
    code, out, _ = run("alerts", "summary", str(tmp_path / "fleet"), "--json")
    assert code == 0
    summary = json.loads(out)
    assert set(summary["by_vehicle"]) == {"van-1", "van-2"} and summary["by_vehicle"]["van-1"]["vin"]
    assert summary["by_detector"]["wire.jt808"]["episodes"] == 2 and summary["by_detector"]["wire.jt808"]["hits"] == 600
    assert "203.0.113.9:7018" in summary["by_destination"] and summary["positions"] == 600
    code, out, _ = run("alerts", "summary", str(tmp_path / "fleet"))
    assert code == 0
    assert out.startswith(f"{summary['episodes']} episodes") and "by vehicle:" in out


def test_follow_sees_records_as_they_are_appended(tmp_path, drive):
    out = tmp_path / "live"
    seen: list[dict] = []
    done = threading.Event()

    def reader() -> None:
        seen.extend(follow([out], poll_s=0.05, stop=done.is_set))

    out.mkdir()
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert replay_into(out, *drive, extra=("--vehicle-id", "live", "--append"))[0] == 0
        for _ in range(100):
            if len(seen) >= 3:
                break
            done.wait(0.05)
    finally:
        done.set()
        thread.join(5)
    assert [r["metadata"]["sequence"] for r in seen] == list(range(1, len(seen) + 1)) and len(seen) >= 3


def test_flow_and_dns_logs(tmp_path, drive):
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    query = Ether() / IP(src="192.168.50.2", dst="198.51.100.53") / UDP(sport=40999, dport=53) / DNS(
        id=7, rd=1, qd=DNSQR(qname="tiles.maps.example"))
    answer = Ether() / IP(src="198.51.100.53", dst="192.168.50.2") / UDP(sport=53, dport=40999) / DNS(
        id=7, qr=1, qd=DNSQR(qname="tiles.maps.example"), an=DNSRR(rrname="tiles.maps.example", ttl=321, rdata="203.0.113.80"))
    query.time, answer.time = T0 + 0.2, T0 + 0.25
    upload = packet(T0 + 0.5, b"POST /t HTTP/1.1\r\nHost: tiles.maps.example\r\n\r\n", dport=80, dst="203.0.113.80")
    dns_pcap = write_pcap(tmp_path / "dns.pcap", [query, answer, upload])
    assert replay_into(tmp_path / "out", dns_pcap, extra=("--vehicle-id", "d1"))[0] == 0
    dns = [json.loads(line) for line in (tmp_path / "out" / "dns-d1.jsonl").read_text().splitlines()]
    assert dns == [{**dns[0], "query": "tiles.maps.example", "qtype_name": "A", "answered": True, "trans_id": 7,
                    "answers": [{"name": "tiles.maps.example", "type": "A", "ttl": 321, "data": "203.0.113.80"}]}]
    assert dns[0]["id.resp_h"] == "198.51.100.53" and dns[0]["vehicle_id"] == "d1"
    flows = [json.loads(line) for line in (tmp_path / "out" / "flows-d1.jsonl").read_text().splitlines()]
    http = next(f for f in flows if f["id.resp_p"] == 80)
    assert http["id.orig_h"] == "192.168.50.2" and http["proto"] == "tcp" and http["orig_bytes"] > 40
    assert http["names"] == [{"name": "tiles.maps.example", "learned_from": ["http_host", "dns"]}]
    assert http["conn_state"] == "OTH" and http["history"] == "AD" and http["community_id"].startswith("1:")
    assert next(f for f in flows if f["id.resp_p"] == 53)["conn_state"] == "SF"


def test_replay_gates_a_pipeline_on_findings(tmp_path, drive):
    code, _, err = replay_into(tmp_path / "a", *drive, extra=("--fail-on", "geolocation", "--summary-json",
                                                              str(tmp_path / "s.json")))
    assert code == 3 and "finding(s) of geolocation (--fail-on)" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["exit_status"] == 3 and summary["findings"]["alert/geolocation"] == 300
    assert summary["alert_log"]["records"] > 0 and (tmp_path / "a" / "stats.json").exists()
    assert replay_into(tmp_path / "b", *drive, extra=("--fail-on", "block"))[0] == 0  # monitor mode: nothing blocked
    code, _, err = replay_into(tmp_path / "c", *drive, extra=("--fail-on", "speeding"))
    assert code == 1 and "--fail-on 'speeding': not a category" in err
