"""The DNS log: every query and answer seen, inside the vehicle networks and leaving them, each with
its direction and which side is the vehicle; `alerts summary` and the report count the names the
vehicle looked up. A capture where ECUs ask the gateway's resolver (192.168.1.1) used to give
"DNS log: 0 queries"."""

from __future__ import annotations

import html
import json
import re
from collections import Counter

import pytest

from monitor.alerts.dnslog import dns_logs_beside, looked_up

from ..builders import dns_packet, run, write_pcap
from ..conftest import corpus, corpus_files
from .conftest import T0, replay_into

ECU, GATEWAY, PUBLIC_RESOLVER, OUTSIDE = "192.168.1.20", "192.168.1.1", "8.8.8.8", "198.51.100.9"


def exchange(ts: float, client: str, server: str, port: int, ident: int, name: str, answer: str | None) -> list:
    out = [dns_packet(ts, client, server, port, 53, ident, name)]
    if answer:
        out.append(dns_packet(ts + 0.004, server, client, 53, port, ident, name, answer))
    return out


@pytest.fixture
def dns_capture(tmp_path):
    """An ECU asks the gateway's resolver twice and a public resolver once; the gateway and the
    public resolver each answer a query sent before the capture began; one query goes
    unanswered; someone outside asks the vehicle's resolver."""
    packets = (exchange(T0 + 0.2, ECU, GATEWAY, 41001, 11, "telematics.example.com", "203.0.113.7")
               + exchange(T0 + 0.4, ECU, PUBLIC_RESOLVER, 41002, 12, "maps.example.net", "203.0.113.8")
               + exchange(T0 + 0.6, ECU, GATEWAY, 41003, 13, "telematics.example.com", "203.0.113.7")
               + [dns_packet(T0 + 0.7, GATEWAY, ECU, 53, 41004, 14, "ota.example.org", "203.0.113.9"),
                  dns_packet(T0 + 0.75, PUBLIC_RESOLVER, ECU, 53, 41007, 17, "cdn.example.net", "203.0.113.10")]
               + exchange(T0 + 0.8, ECU, GATEWAY, 41005, 15, "lost.example.org", None)
               + exchange(T0 + 0.9, OUTSIDE, GATEWAY, 41006, 16, "probe.example", "192.168.1.1"))
    return write_pcap(tmp_path / "dns.pcap", packets)


def dns_lines(folder, vehicle: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"dns-{vehicle}.jsonl").read_text().splitlines()]


def test_queries_inside_and_outside_the_vehicle_are_logged_with_direction_and_vehicle_side(tmp_path, drive, dns_capture):
    code, out, err = replay_into(tmp_path / "out", *drive, dns_capture, extra=("--vehicle-id", "d1"))
    assert code == 0, err
    assert "DNS log: 5 queries (outbound 1, internal 3, inbound 1): 4 answered, 1 unanswered; 2 answers without their query" in out
    lines = {(d["query"], d["trans_id"]): d for d in dns_lines(tmp_path / "out", "d1")}
    assert len(lines) == 7
    inside = lines[("telematics.example.com", 11)]
    assert inside["direction"] == "internal" and inside["vehicle"] == "both" and inside["answered"]
    assert inside["id.orig_h"] == ECU and inside["id.resp_h"] == GATEWAY and inside["id.resp_p"] == 53
    assert inside["answers"] == [{"name": "telematics.example.com", "type": "A", "ttl": 60, "data": "203.0.113.7"}]
    assert inside["rtt"] == pytest.approx(0.004, abs=1e-5) and inside["query_seen"] is True
    leaving = lines[("maps.example.net", 12)]
    assert (leaving["direction"], leaving["vehicle"], leaving["id.resp_h"]) == ("outbound", "orig", PUBLIC_RESOLVER)
    assert leaving["answers"][0]["data"] == "203.0.113.8"
    only_answer = lines[("ota.example.org", 14)]
    assert only_answer["query_seen"] is False and only_answer["answered"] and only_answer["rtt"] is None
    assert only_answer["id.orig_h"] == ECU and only_answer["direction"] == "internal"
    # Its flow began with the answer, from port 53: the line is turned so the asker is the originator.
    turned = lines[("cdn.example.net", 17)]
    assert (turned["id.orig_h"], turned["id.resp_h"], turned["id.resp_p"]) == (ECU, PUBLIC_RESOLVER, 53)
    assert (turned["direction"], turned["vehicle"], turned["query_seen"]) == ("outbound", "orig", False)
    assert lines[("lost.example.org", 15)]["answered"] is False
    probe = lines[("probe.example", 16)]
    assert (probe["direction"], probe["vehicle"]) == ("inbound", "resp")
    counts = json.loads((tmp_path / "out" / "stats.json").read_text())["alert_log"]["dns"]
    assert counts["queries"] == 5 and counts["queries_internal"] == 3 and counts["unanswered"] == 1
    assert counts["answered"] == 4 and counts["responses_without_query"] == 2


def test_summary_and_report_count_the_names_the_vehicle_looked_up(tmp_path, drive, dns_capture):
    assert replay_into(tmp_path / "out", *drive, dns_capture, extra=("--vehicle-id", "d1"))[0] == 0
    code, out, err = run("alerts", "summary", str(tmp_path / "out"), "--json")
    assert code == 0 and err == ""
    dns = json.loads(out)["dns"]
    # The outside prober's query is not the vehicle's; the answer without its query is.
    assert dns["lookups"] == 6 and dns["distinct_names"] == 5
    assert list(dns["names"]) == ["telematics.example.com", "cdn.example.net", "lost.example.org", "maps.example.net",
                                  "ota.example.org"]
    assert dns["names"]["telematics.example.com"] == {"lookups": 2, "internal": 2}
    assert dns["names"]["maps.example.net"] == {"lookups": 1, "outbound": 1}
    code, out, _ = run("alerts", "summary", str(tmp_path / "out"))
    assert "names looked up: 6 lookups of 5 names" in out
    assert re.search(r"\n\s+2 lookups\s+telematics\.example\.com\s+\(internal 2\)", out)
    assert run("report", str(tmp_path / "out"), "-o", str(tmp_path / "r.html"))[0] == 0
    page = (tmp_path / "r.html").read_text()
    assert '<b id="dns-lookups">6</b> lookups of <b id="dns-distinct">5</b>' in page
    rows = re.findall(r'<tr class="dns-name"><td>([^<]*)</td><td class="num">(\d+)</td><td>([^<]*)</td>', page)
    assert rows[0] == ("telematics.example.com", "2", "internal 2") and ("maps.example.net", "1", "outbound 1") in rows
    assert "probe.example" not in page


def test_logs_without_lookups_say_so_and_callers_without_dns_logs_say_nothing(tmp_path, drive):
    from monitor.alerts.read import records
    from monitor.alerts.report import build_report
    from monitor.alerts.summary import summarize

    assert replay_into(tmp_path / "out", *drive, extra=("--vehicle-id", "d3"))[0] == 0
    code, out, _ = run("alerts", "summary", str(tmp_path / "out"), "--json")
    assert code == 0 and json.loads(out)["dns"] == {"lookups": 0, "distinct_names": 0, "names": {}}
    assert run("report", str(tmp_path / "out"), "-o", str(tmp_path / "r.html"))[0] == 0
    assert "No DNS lookups by the vehicle in the DNS logs read." in (tmp_path / "r.html").read_text()
    found = list(records([tmp_path / "out"]))  # records alone (no DNS logs read): no claim about names
    assert "dns" not in summarize(found) and "Names looked up" not in build_report(found)


def test_a_hostile_name_is_escaped_and_a_damaged_line_is_named(tmp_path, drive):
    out = tmp_path / "out"
    assert replay_into(out, *drive, extra=("--vehicle-id", "d2"))[0] == 0
    hostile = {"query": "<script>x</script>.example", "vehicle": "orig", "direction": "outbound"}
    (out / "dns-d2.jsonl").write_text(json.dumps(hostile) + "\n{torn\n")
    code, _, err = run("report", str(out), "-o", str(tmp_path / "r.html"))
    assert code == 0 and f"{out / 'dns-d2.jsonl'}:2: not a JSON line" in err
    page = (tmp_path / "r.html").read_text()
    assert page.count("<script") == 1 and html.escape("<script>x</script>.example") in page  # the one script is the map's own


DNS_CAPTURES = [p for p in corpus_files("pcap/*dns*.pcap*") if p.with_suffix(".eve.json").exists()]


def suricata_dns(capture) -> tuple[Counter, Counter]:
    """Suricata's DNS query and answer events of a capture, as (id, name) counts."""
    events = [json.loads(line) for line in capture.with_suffix(".eve.json").read_text().splitlines()]
    dns = [e["dns"] for e in events if e.get("event_type") == "dns"]
    key = lambda d: (d["id"], d.get("rrname", "").lower())
    return Counter(key(d) for d in dns if d["type"] == "query"), Counter(key(d) for d in dns if d["type"] == "answer")


@pytest.mark.parametrize("capture", DNS_CAPTURES or [pytest.param(None, marks=pytest.mark.skip(
    reason="needs the DNS captures of the shared corpus (../shared/corpus/pcap), absent on this machine"))],
    ids=[p.name for p in DNS_CAPTURES] or ["no-corpus"])
def test_every_dns_query_and_answer_suricata_sees_in_a_corpus_capture_is_logged(capture, tmp_path):
    """Suricata 7 is the oracle (its EVE output beside each corpus capture): the same queries
    (retransmissions included) and answers, by transaction id and name, inside the vehicle
    networks and out. One deliberate difference: an answer with no question (the FORMERR reply
    to a junk request in sv_dns-udp-junkrequest-first) is logged here, with an empty query;
    Suricata logs no answer event for a request it could not parse."""
    code, _, err = run("replay", str(capture), "-o", str(tmp_path / "out"), "--vehicle-id", "c")
    assert code == 0, err
    lines = dns_lines(tmp_path / "out", "c")
    queries, answers = Counter(), Counter()
    for d in lines:
        key = (d["trans_id"], d["query"].lower())
        queries[key] += (1 + d.get("retransmissions", 0)) if d["query_seen"] else 0
        answers[key] += d["answered"] and bool(d["query"] or d["query_seen"])
    assert (+queries, +answers) == suricata_dns(capture)
    assert all(d["vehicle"] == {"internal": "both", "outbound": "orig", "inbound": "resp"}[d["direction"]] for d in lines)


def test_a_corpus_capture_of_hosts_asking_a_resolver_in_their_network_is_logged_as_internal(tmp_path):
    """sv_dns-eve-cname: 10.16.1.11 asks 10.16.1.1 (a home gateway, as an ECU asks the vehicle's)."""
    capture = corpus("pcap", "sv_dns-eve-cname.pcap")
    code, out, _ = run("replay", str(capture), "-o", str(tmp_path / "out"), "--vehicle-id", "c")
    assert code == 0 and "DNS log: 4 queries (internal 4): 4 answered, 0 unanswered;" in out
    lines = dns_lines(tmp_path / "out", "c")
    assert {(d["id.resp_h"], d["direction"], d["vehicle"]) for d in lines} == {("10.16.1.1", "internal", "both")}
    assert "client-cf.dropbox.com" in {d["query"] for d in lines}


def test_dns_logs_beside_alert_chains_are_found_and_read(tmp_path):
    (tmp_path / "dns-v1.jsonl").write_text(json.dumps({"query": "A.Example.", "vehicle": "both", "direction": "internal"})
                                           + "\n" + json.dumps({"query": "x", "vehicle": "resp"}) + "\n[1]\n")
    (tmp_path / "dns-v2.jsonl").write_text("")  # no alert chain of v2 read: not counted
    paths = dns_logs_beside([(tmp_path, "alerts-v1"), (tmp_path, "alerts-v3")])
    assert paths == [tmp_path / "dns-v1.jsonl"]
    skipped: list[str] = []
    counted = looked_up(paths, skipped)
    assert counted.as_dict() == {"lookups": 1, "distinct_names": 1, "names": {"a.example": {"lookups": 1, "internal": 1}}}
    assert counted.lines == 3 - 1 and skipped == [f"{tmp_path / 'dns-v1.jsonl'}:3: not a DNS log entry"]
