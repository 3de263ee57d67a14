"""Reading Suricata's EVE output and gatewatch's results into comparable sets.

Both sides are reduced to the same facts per capture: DNS query names, DNS answers
(rrname, rrtype, rdata), TLS SNIs, QUIC SNIs, HTTP (host, url) pairs, and flows as a multiset
of (community_id, packets from the initiator, packets from the responder).
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from monitor.net.app.http import host_of
from monitor.net.capture import ReplayStats, read_capture
from monitor.net.community_id import community_id
from monitor.net.pipeline import NetConfig, NetPipeline


@dataclass
class Facts:
    dns_queries: set = field(default_factory=set)
    dns_answers: set = field(default_factory=set)
    tls_sni: set = field(default_factory=set)
    quic_sni: set = field(default_factory=set)  # IETF QUIC v1/v2
    gquic_sni: set = field(default_factory=set)  # Google QUIC (Q0xx) CHLO
    http: set = field(default_factory=set)
    flows: Counter = field(default_factory=Counter)

    FIELDS = ("dns_queries", "dns_answers", "tls_sni", "quic_sni", "gquic_sni", "http", "flows")


def suricata_facts(eve: Path) -> Facts:
    facts = Facts()
    for line in eve.read_text().splitlines():
        event = json.loads(line)
        kind = event["event_type"]
        if kind == "dns":
            dns = event["dns"]
            if dns["type"] == "query":
                facts.dns_queries.add(dns["rrname"])
            for answer in dns.get("answers", []):
                facts.dns_answers.add((answer["rrname"], answer["rrtype"], _rdata(answer.get("rdata"))))
        elif kind == "tls" and event["tls"].get("sni"):
            facts.tls_sni.add(event["tls"]["sni"])
        elif kind == "quic" and event["quic"].get("sni"):
            google = event["quic"].get("version", "").startswith("Q")
            (facts.gquic_sni if google else facts.quic_sni).add(event["quic"]["sni"])
        elif kind == "http" and event["http"].get("url") != RESPONSE_WITHOUT_REQUEST:
            host = event["http"].get("hostname")
            facts.http.add((host.strip("[]") if host else host, event["http"]["url"]))
        elif kind == "flow":
            flow = event["flow"]
            facts.flows[(_community_id(event), flow["pkts_toserver"], flow["pkts_toclient"])] += 1
    return facts


#: libhtp logs a response it saw no request for under this URL; gatewatch reports requests only.
RESPONSE_WITHOUT_REQUEST = "/libhtp::request_uri_not_seen"
#: ICMP messages that quote another packet: Suricata counts them in the quoted packet's flow,
#: gatewatch (like Zeek) gives them a flow of their own.
ICMP_QUOTING = {"icmp": {3, 4, 5, 11, 12}, "ipv6-icmp": {1, 2, 3, 4}}
#: Suricata 7 logs no flow for IP protocols it has no decoder for (IGMP); gatewatch does.
NO_SURICATA_FLOW = {"igmp"}


def suricata_logs_flow(record: dict) -> bool:
    """Whether Suricata would log this gatewatch flow as a flow of its own (see above)."""
    if record["proto"] in NO_SURICATA_FLOW:
        return False
    return record["orig_p"] not in ICMP_QUOTING.get(record["proto"], ())


def gatewatch_facts(capture: Path, strict_length: bool = False) -> tuple[Facts, NetPipeline, ReplayStats]:
    pipeline = NetPipeline(NetConfig(keep_events=True, strict_length=strict_length))
    stats = ReplayStats()
    for batch in read_capture(capture, stats=stats):
        pipeline.process(batch)
    pipeline.finish()
    facts = Facts()
    for event in pipeline.inspector.events:
        detail = event.detail
        if event.kind == "dns_query":
            facts.dns_queries.update(name for name, _type in detail.questions)
        elif event.kind == "dns_answer":
            for r in detail.answers:
                # Suricata logs each TXT character-string as an answer of its own.
                for rdata in r.strings or (r.rdata,):
                    facts.dns_answers.add((r.name, r.type_name, rdata))
        elif event.kind == "tls_client_hello" and detail.sni:
            facts.tls_sni.add(detail.sni)
        elif event.kind == "quic_client_hello" and detail.sni:
            facts.quic_sni.add(detail.sni)
        elif event.kind == "gquic_client_hello" and detail.sni:
            facts.gquic_sni.add(detail.sni)
        elif event.kind == "http_request":
            facts.http.add((host_of(detail), detail.uri))
    for record in pipeline.drain():
        if not suricata_logs_flow(record):
            continue
        facts.flows[(record["community_id"], record["orig_pkts"], record["resp_pkts"])] += 1
    return facts, pipeline, stats


def _community_id(event: dict) -> str:
    """Suricata's Community ID, except where Suricata departs from the spec.

    When both addresses are equal (loopback captures) the spec orders the endpoints by port
    number; Suricata 7 compares the ports in network byte order instead, so about half of such
    flows get another ID than Zeek and the spec's reference implementation give. For those the
    expected value is recomputed from the event's own 5-tuple by the spec.
    """
    src, dst = ipaddress.ip_address(event["src_ip"]), ipaddress.ip_address(event["dest_ip"])
    if src != dst or "src_port" not in event:
        return event["community_id"]
    proto = {"TCP": 6, "UDP": 17, "SCTP": 132}[event["proto"]]
    return community_id(src.packed, dst.packed, proto, event["src_port"], event["dest_port"])


def _rdata(value):
    """Suricata prints IPv6 fully expanded (compare compressed), and keeps names longer than
    DNS allows (RFC 1035: 255 octets) cut at 1025 characters; gatewatch rejects such a name
    and keeps the record without rdata."""
    if isinstance(value, str) and len(value) > 255:
        return None
    if isinstance(value, str) and ":" in value:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    return value
