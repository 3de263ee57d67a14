"""The `remote` category end to end: control reaching into the vehicle from outside, a
telematics downlink command, an inbound shell and DoIP diagnostics, decided by a policy rule
and written as alert records."""

from __future__ import annotations

import struct

from ..builders import VEHICLE, alerts_in, jt808, packet, run, write_pcap
from .wire.test_downlink import teltonika_codec12

SERVER = "203.0.113.9"


def doip(payload_type: int, body: bytes) -> bytes:
    return b"\x02\xfd" + struct.pack(">HI", payload_type, len(body)) + body


def test_downlink_commands_inbound_shells_and_doip_are_remote_findings(tmp_path):
    t0 = 1_700_000_000.0
    upgrade = jt808(0x8105, b"\x02" + b"rogue.example;9999;")  # terminal control: connect to another server
    params = jt808(0x8103, b"\x01" + struct.pack(">IB", 0x0013, 12) + b"198.51.100.7")  # new main server address
    packets = [
        packet(t0, jt808(0x0002, b""), dport=7018, sport=41000, dst=SERVER),  # the terminal's heartbeat (it started the flow)
        packet(t0 + 1, upgrade, sport=7018, dport=41000, src=SERVER, dst=VEHICLE),
        packet(t0 + 2, params, sport=7018, dport=41000, src=SERVER, dst=VEHICLE, seq=1 + len(upgrade)),
        packet(t0 + 3, b"SSH-2.0-OpenSSH_9.6\r\n", sport=50022, dport=22, src="198.51.100.66", dst=VEHICLE),
        packet(t0 + 4, doip(0x0005, b"\x0e\x00\x00" + bytes(4)), sport=50400, dport=13400, src="198.51.100.67", dst=VEHICLE),
        packet(t0 + 5, doip(0x8001, b"\x0e\x00\x07\xe0\x11\x01"), sport=50400, dport=13400, src="198.51.100.67", dst=VEHICLE, seq=20),
    ]
    code, _, err = run("replay", str(write_pcap(tmp_path / "in.pcap", packets)), "-o", str(tmp_path / "out"))
    assert code == 0, err
    remote = {a["detector"]: a for a in alerts_in(tmp_path / "out") if a["category"] == "remote"}
    assert set(remote) == {"wire.jt808", "remote.inbound", "remote.doip"}
    doip_seen = [a["seen"] for a in alerts_in(tmp_path / "out") if a["detector"] == "remote.doip"]
    assert sorted(doip_seen) == ["DoIP diagnostic message from outside: UDS ECUReset 0x11", "DoIP routing activation request from outside"]
    assert all(a["verdict"] == {"action": "alert", "rule": "remote-access"} for a in remote.values())
    command = next(a for a in alerts_in(tmp_path / "out") if "0x8105" in a["seen"])
    assert command["evidence"]["command"] == "connect to a specified server" and "rogue.example" in command["evidence"]["arguments"]
    assert command["record"]["severity_id"] == 4
    inbound = [a for a in alerts_in(tmp_path / "out") if a["detector"] == "remote.inbound"]
    assert {a["evidence"]["service"] for a in inbound} == {"SSH", "DoIP (ISO 13400)"}
    records = alerts_in(tmp_path / "out", activity=None)
    params_found = [r for r in records if r["detector"] == "wire.jt808" and "parameters" in r["evidence"]]
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
    doip_request = packet(t0, doip(0x0005, b"\x0e\x00\x00" + bytes(4)), sport=50400, dport=13400, src="198.51.100.67", dst=VEHICLE)
    findings, _ = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "doip.pcap", [doip_request])])
    uds = {f.evidence["service"]: f.evidence.get("after_remote_command") for f in findings if f.detector == "can.uds"}
    assert set(uds) == {"0x23", "0x27", "0x35"}
    assert uds["0x23"] is None and uds["0x35"] is None
    assert uds["0x27"] == {"detector": "remote.doip", "seen": "DoIP routing activation request from outside",
                           "after_s": 2.0, "from": "198.51.100.67"}
