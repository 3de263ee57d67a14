"""The `remote` category end to end: control reaching into the vehicle from outside, a
telematics downlink command, an inbound shell and DoIP diagnostics, decided by a policy rule
and written as alert records. DoIP sessions are real TCP connections in a pcap (handshake,
messages split across segments and packed into one), with UDS bytes written here."""

from __future__ import annotations

import csv
import io
import json
import struct

import jsonschema

from monitor.fleet.rows import row_of

from ..builders import VEHICLE, alerts_in, jt808, packet, run, write_pcap
from ..conftest import PROJECT
from .wire.test_downlink import teltonika_codec12

SERVER = "203.0.113.9"
TESTER = "198.51.100.67"
SCHEMA = json.loads((PROJECT / "monitor" / "alerts" / "detection-finding.schema.json").read_text())


def doip(payload_type: int, body: bytes) -> bytes:
    return b"\x02\xfd" + struct.pack(">HI", payload_type, len(body)) + body


def diag(uds: bytes, source: int = 0x0E00, target: int = 0x1001) -> bytes:
    """A DoIP diagnostic message (0x8001) from the tester to an ECU."""
    return doip(0x8001, struct.pack(">HH", source, target) + uds)


def tcp_session(t0: float, segments: list[bytes], src: str = TESTER, sport: int = 50400, dport: int = 13400,
                gap: float = 0.05) -> list:
    """A connection from ``src`` to the vehicle: handshake, then each segment as its own packet."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    def one(ts, flags, seq, ack, payload=b"", a=src, b=VEHICLE, sp=sport, dp=dport):
        p = Ether() / IP(src=a, dst=b) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack) / payload
        p.time = ts
        return p

    isn, vsn = 1000, 5000
    out = [one(t0, "S", isn, 0), one(t0 + 0.01, "SA", vsn, isn + 1, a=VEHICLE, b=src, sp=dport, dp=sport),
           one(t0 + 0.02, "A", isn + 1, vsn + 1)]
    seq = isn + 1
    for k, segment in enumerate(segments):
        out.append(one(t0 + 0.03 + k * gap, "PA", seq, vsn + 1, segment))
        seq += len(segment)
    return out


def replay(tmp_path, packets: list) -> list[dict]:
    code, _, err = run("replay", str(write_pcap(tmp_path / "in.pcap", packets)), "-o", str(tmp_path / "out"))
    assert code == 0, err
    return alerts_in(tmp_path / "out", activity=None)


REQUESTS = [  # (UDS bytes, what the record says, evidence it must carry)
    (b"\x10\x03", "DiagnosticSessionControl 0x10 extendedDiagnosticSession (0x03)", {"uds_sub_function": "0x03"}),
    (b"\x27\x01", "SecurityAccess 0x27 requestSeed (0x01)", {"security_level": 1}),
    (b"\x27\x02" + bytes(range(16)), "SecurityAccess 0x27 sendKey (0x02)", {"security_level": 1}),
    (b"\x27\x11", "SecurityAccess 0x27 requestSeed (0x11)", {"security_level": 9}),
    (b"\x28\x83\x01", "CommunicationControl 0x28 disableRxAndTx (0x03)", {"suppress_positive_response": True}),
    (b"\x31\x01\xff\x00\x44", "RoutineControl 0x31 startRoutine (0x01) routine 0xFF00 eraseMemory", {"routine": "0xFF00 eraseMemory"}),
    (b"\x2e\xf1\x90" + b"WVWZZZ1JZXW000001", "WriteDataByIdentifier 0x2E did 0xF190 VIN", {"did": "0xF190 VIN"}),
    (b"\x22\xf1\x90\xf1\x8c", "ReadDataByIdentifier 0x22 DIDs 0xF190 VIN,0xF18C ECU serial number",
     {"kind": "read", "dids": ["0xF190 VIN", "0xF18C ECU serial number"]}),
    (b"\x23\x24\x00\x01\x00\x00\x01\x00", "ReadMemoryByAddress 0x23", {"address": "0x00010000", "size": 256, "kind": "read"}),
    (b"\x2f\xf0\x10\x03\x01", "InputOutputControlByIdentifier 0x2F did 0xF010", {"control": "shortTermAdjustment"}),
    (b"\x14\xff\xff\xff", "ClearDiagnosticInformation 0x14 group 0xFFFFFF", {"group": "0xFFFFFF"}),
    (b"\x34\x00\x44\x00\x08\x00\x00\x00\x00\x40\x00", "RequestDownload 0x34", {"address": "0x00080000", "size": 0x4000}),
    (b"\x35\x00\x44\x00\x00\x00\x00\x00\x01\x00\x00", "RequestUpload 0x35", {"address": "0x00000000", "size": 0x10000}),
    (b"\x11\x01", "ECUReset 0x11 hardReset (0x01)", {"uds_service_name": "ECUReset"}),
]


def test_every_uds_request_over_doip_is_reported_with_its_service_and_sub_function(tmp_path):
    """One tester session: routing activation, then each request of REQUESTS, the messages cut
    across TCP segments at odd places (a header split, two messages in one segment)."""
    stream = doip(0x0005, b"\x0e\x00\x00" + bytes(4)) + b"".join(diag(uds) for uds, _, _ in REQUESTS)
    cuts = [3, 17, 18, 40, 41, 90, 200, len(stream)]
    segments = [stream[a:b] for a, b in zip([0, *cuts], cuts)]
    alerts = [a for a in replay(tmp_path, tcp_session(1_700_000_000.0, segments)) if a["record"]["activity_id"] == 1]
    by_seen = {a["seen"]: a for a in alerts if a["detector"] == "remote.doip"}
    assert "DoIP routing activation request from outside" in by_seen
    for _, text, evidence in REQUESTS:
        seen = f"DoIP diagnostic message from outside: UDS {text} to ECU 0x1001"
        assert seen in by_seen, (seen, sorted(by_seen))
        got = by_seen[seen]["evidence"]
        assert {k: got.get(k) for k in evidence} == evidence
        assert got["source_address"] == "0x0e00" and got["target_address"] == "0x1001"
    assert len(by_seen) == len(REQUESTS) + 1
    assert all(a["verdict"] == {"action": "alert", "rule": "remote-access"} for a in alerts if a["category"] == "remote")


def test_an_inbound_connection_names_the_outside_host_as_source_and_the_vehicle_as_destination(tmp_path):
    alerts = replay(tmp_path, tcp_session(1_700_000_000.0, [diag(b"\x27\x01")], sport=50400))
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for alert in alerts:
        record = alert["record"]
        assert not list(validator.iter_errors(record))
        evidence = record["evidences"][0]
        assert evidence["src_endpoint"] == {"ip": TESTER, "port": 50400}
        assert evidence["dst_endpoint"] == {"ip": VEHICLE, "port": 13400}
        assert evidence["connection_info"]["direction"] == "Inbound"
        assert {"name": "src_endpoint.ip", "type_id": 2, "type": "IP Address", "value": TESTER} in record["observables"]
        assert {"name": "dst_endpoint.port", "type_id": 11, "type": "Port", "value": "13400"} in record["observables"]
        assert record["message"].endswith(f"from {TESTER} to {VEHICLE}:13400")
    # the review commands still take the outside host as the remote party, and the service port
    code, out, err = run("alerts", str(tmp_path / "out"), "--format", "csv", "--destination", TESTER)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(alerts) and all((r["destination"], r["port"]) == (TESTER, "13400") for r in rows)
    assert {(row_of(a["record"])["dst_ip"], row_of(a["record"])["dst_port"]) for a in alerts} == {(TESTER, 13400)}  # fleet rows


def test_allowlists_match_the_outside_host_and_the_port_it_connected_to(tmp_path):
    """A workshop's testers may use DoIP: their address and the vehicle's DoIP port (not their
    own ephemeral port) put them in the set; the same host on SSH, and another host on DoIP, alert."""
    policy = (PROJECT / "policies" / "default.yaml").read_text()
    policy = policy.replace("destinations: {}", "destinations:\n  workshop: {cidrs: [198.51.100.64/28], ports: [tcp/13400]}")
    policy = policy.replace("rules:\n", "rules:\n  - {id: workshop-doip, category: remote, to: workshop, action: allow}\n", 1)
    (tmp_path / "config.yaml").write_text(policy)
    packets = [*tcp_session(1_700_000_000.0, [diag(b"\x10\x03")]),
               *tcp_session(1_700_000_001.0, [b"SSH-2.0-x\r\n"], dport=22, sport=50401),
               *tcp_session(1_700_000_002.0, [diag(b"\x11\x01")], src="198.51.100.90", sport=50402)]
    code, _, err = run("replay", str(write_pcap(tmp_path / "in.pcap", packets)), "-o", str(tmp_path / "out"),
                       "--config", str(tmp_path / "config.yaml"))
    assert code == 0, err
    alerted = {(a["record"]["evidences"][0]["src_endpoint"]["ip"], a["seen"]) for a in alerts_in(tmp_path / "out")}
    assert alerted == {(TESTER, "connection from outside to SSH on the vehicle"),
                       ("198.51.100.90", "connection from outside to DoIP (ISO 13400) on the vehicle"),
                       ("198.51.100.90", "DoIP diagnostic message from outside: UDS ECUReset 0x11 hardReset (0x01) to ECU 0x1001")}


def test_repeats_of_one_request_are_counted_in_its_episode_not_alerted_again(tmp_path):
    """A TesterPresent every 2 s and a flash download of 40 TransferData blocks: one episode
    each, whose count is every request sent; a second SecurityAccess level is its own episode."""
    keepalive = [diag(b"\x3e\x80")] * 30
    blocks = [diag(b"\x36" + bytes([k % 256]) + bytes(512)) for k in range(1, 41)]
    segments = [*keepalive[:10], diag(b"\x27\x01"), diag(b"\x27\x03"), *blocks, *keepalive[10:]]
    alerts = replay(tmp_path, tcp_session(1_700_000_000.0, segments, gap=1.0))
    closes = {a["seen"]: a["record"]["count"] for a in alerts if a["detector"] == "remote.doip" and a["record"]["activity_id"] == 3}
    creates = [a["seen"] for a in alerts if a["detector"] == "remote.doip" and a["record"]["activity_id"] == 1]
    prefix = "DoIP diagnostic message from outside: UDS "
    assert len(creates) == len(set(creates)) == 4
    assert closes == {f"{prefix}TesterPresent 0x3E zeroSubFunction (0x00) to ECU 0x1001": 30,
                      f"{prefix}TransferData 0x36 to ECU 0x1001": 40,
                      f"{prefix}SecurityAccess 0x27 requestSeed (0x01) to ECU 0x1001": 1,
                      f"{prefix}SecurityAccess 0x27 requestSeed (0x03) to ECU 0x1001": 1}


def test_a_connection_reports_at_most_64_distinct_requests_and_counts_the_rest(tmp_path):
    reads = [diag(b"\x22" + did.to_bytes(2, "big")) for did in range(0xF100, 0xF100 + 70)]
    alerts = replay(tmp_path, tcp_session(1_700_000_000.0, reads, gap=0.2))
    closes = [a for a in alerts if a["detector"] == "remote.doip" and a["record"]["activity_id"] == 3]
    assert len(closes) == 65
    [more] = [a for a in closes if "more than 64" in a["seen"]]
    assert more["record"]["count"] == 6 and sum(a["record"]["count"] for a in closes) == 70


def test_doip_vehicle_identification_over_udp_is_reported(tmp_path):
    t0 = 1_700_000_000.0
    packets = [packet(t0, b"\x02\xfd\x00\x01\x00\x00\x00\x00", sport=50500, dport=13400, udp=True, src=TESTER, dst=VEHICLE),
               packet(t0 + 1, b"\x02\xfd\x00\x03\x00\x00\x00\x11" + b"WVWZZZ1JZXW000001", sport=50500, dport=13400, udp=True,
                      src=TESTER, dst=VEHICLE)]
    alerts = [a for a in replay(tmp_path, packets) if a["record"]["activity_id"] == 1]
    seen = sorted(a["seen"] for a in alerts if a["detector"] == "remote.doip")
    assert seen == ["DoIP vehicle identification request from outside", "DoIP vehicle identification request with VIN from outside"]
    assert all(a["record"]["evidences"][0]["src_endpoint"]["ip"] == TESTER for a in alerts)


def test_downlink_commands_inbound_shells_and_doip_are_remote_findings(tmp_path):
    t0 = 1_700_000_000.0
    upgrade = jt808(0x8105, b"\x02" + b"rogue.example;9999;")  # terminal control: connect to another server
    params = jt808(0x8103, b"\x01" + struct.pack(">IB", 0x0013, 12) + b"198.51.100.7")  # new main server address
    packets = [
        packet(t0, jt808(0x0002, b""), dport=7018, sport=41000, dst=SERVER),  # the terminal's heartbeat (it started the flow)
        packet(t0 + 1, upgrade, sport=7018, dport=41000, src=SERVER, dst=VEHICLE),
        packet(t0 + 2, params, sport=7018, dport=41000, src=SERVER, dst=VEHICLE, seq=1 + len(upgrade)),
        packet(t0 + 3, b"SSH-2.0-OpenSSH_9.6\r\n", sport=50022, dport=22, src="198.51.100.66", dst=VEHICLE),
        *tcp_session(t0 + 4, [doip(0x0005, b"\x0e\x00\x00" + bytes(4)), diag(b"\x11\x01", target=0x07E0)]),
    ]
    alerts = replay(tmp_path, packets)
    creates = [a for a in alerts if a["record"]["activity_id"] == 1]
    remote = {a["detector"]: a for a in creates if a["category"] == "remote"}
    assert set(remote) == {"wire.jt808", "remote.inbound", "remote.doip"}
    doip_seen = [a["seen"] for a in creates if a["detector"] == "remote.doip"]
    assert sorted(doip_seen) == ["DoIP diagnostic message from outside: UDS ECUReset 0x11 hardReset (0x01) to ECU 0x07E0",
                                 "DoIP routing activation request from outside"]
    assert all(a["verdict"] == {"action": "alert", "rule": "remote-access"} for a in remote.values())
    command = next(a for a in creates if "0x8105" in a["seen"])
    assert command["evidence"]["command"] == "connect to a specified server" and "rogue.example" in command["evidence"]["arguments"]
    assert command["record"]["severity_id"] == 4
    inbound = [a for a in creates if a["detector"] == "remote.inbound"]
    assert {a["evidence"]["service"] for a in inbound} == {"SSH", "DoIP (ISO 13400)"}
    params_found = [r for r in alerts if r["detector"] == "wire.jt808" and "parameters" in r["evidence"]]
    assert params_found and params_found[0]["evidence"]["parameters"][0] == {"id": "0x0013", "name": "main server address",
                                                                            "value": "198.51.100.7"}


def test_the_strict_policy_blocks_remote_access(tmp_path):
    t0 = 1_700_000_000.0
    shell = packet(t0, b"SSH-2.0-x\r\n", sport=50022, dport=22, src="198.51.100.66", dst=VEHICLE)
    code, out, err = run("policy", "test", "strict", "--replay", str(write_pcap(tmp_path / "s.pcap", [shell])))
    assert code == 0, err
    assert "block  remote-access" in out and "connection from outside to SSH" in out


def test_a_teltonika_command_from_the_server_reaches_the_alert_log(tmp_path):
    t0 = 1_700_000_000.0
    login = b"\x00\x0f" + b"352093081452251"
    packets = [packet(t0, login, dport=5027, sport=41000, dst=SERVER),
               packet(t0 + 1, teltonika_codec12(b"setdigout 1"), sport=5027, dport=41000, src=SERVER, dst=VEHICLE)]
    code, _, err = run("replay", str(write_pcap(tmp_path / "t.pcap", packets)), "-o", str(tmp_path / "out"))
    assert code == 0, err
    [alert] = [a for a in alerts_in(tmp_path / "out") if a["category"] == "remote"]
    assert alert["detector"] == "wire.teltonika" and alert["evidence"]["command"] == "setdigout 1"
    assert alert["verdict"] == {"action": "alert", "rule": "remote-access"}


def test_diagnostics_on_can_soon_after_a_remote_command_name_it(tmp_path):
    """DoIP routing activation from outside, then a SecurityAccess seed request on CAN two
    seconds later: the UDS finding names the command and where it came from. A memory read
    before the command, and one long after it, name nothing."""
    from ..builders import candump_line, write_log
    from .conftest import run_monitor

    t0 = 1_700_000_000.0
    log = write_log(tmp_path / "diag.log", [candump_line(t0 - 5, "can0", 0x7E0, bytes.fromhex("0723000010000004")),
                                            candump_line(t0 + 2, "can0", 0x7E0, bytes.fromhex("0227010000000000")),
                                            candump_line(t0 + 90, "can0", 0x7E1, bytes.fromhex("0635000000100000"))])
    session = tcp_session(t0 - 0.03, [doip(0x0005, b"\x0e\x00\x00" + bytes(4))])
    findings, _ = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "doip.pcap", session)])
    uds = {f.evidence["service"]: f.evidence.get("after_remote_command") for f in findings if f.detector == "can.uds"}
    seed = next(f for f in findings if f.detector == "can.uds" and f.seen == "UDS SecurityAccess 0x27 request")
    assert (seed.evidence["request"], seed.evidence["security_level"]) == ("SecurityAccess 0x27 requestSeed (0x01)", 1)
    assert set(uds) == {"0x23", "0x27", "0x35"}
    assert uds["0x23"] is None and uds["0x35"] is None
    assert uds["0x27"] == {"detector": "remote.doip", "seen": "DoIP routing activation request from outside",
                           "after_s": 2.0, "from": TESTER}
