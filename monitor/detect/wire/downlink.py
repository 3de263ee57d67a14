"""Control reaching into the vehicle from outside, in telematics downlinks (category "remote"):
JT/T 808 vehicle control 0x8500, terminal control 0x8105 (upgrade from a URL, connect to
another server), parameter setting 0x8103 (a new server address or port among them) and
temporary location tracking 0x8202, decoded with their parameters; Teltonika codec 12/14 GPRS
commands (``setparam 2004:...`` names a new server); GT06 online commands 0x80 (``SERVER,...#``,
``RELAY,1#``); GB/T 32960 platform query 0x80, parameter setting 0x81 and terminal control 0x82."""

from __future__ import annotations

from .match import Match, checked, u16, u32

COMMANDS = {0x8500: "vehicle control", 0x8105: "terminal control", 0x8103: "set terminal parameters",
            0x8202: "temporary location tracking"}
TERMINAL_CONTROL = {1: "wireless upgrade", 2: "connect to a specified server", 3: "power off", 4: "reset",
                    5: "factory reset", 6: "close data communication", 7: "close all wireless communication"}
PARAMETERS = {0x0010: "APN", 0x0013: "main server address", 0x0014: "backup APN", 0x0017: "backup server address",
              0x0018: "server TCP port", 0x0019: "server UDP port", 0x0020: "location reporting strategy",
              0x0029: "default reporting interval", 0x0055: "maximum speed"}
GBT32960_COMMANDS = {0x80: "parameter query", 0x81: "parameter setting", 0x82: "terminal control"}
GBT32960_CONTROL = {1: "remote upgrade", 2: "terminal shutdown", 3: "terminal reset", 4: "factory reset",
                    5: "disconnect data communication", 6: "terminal alarm", 7: "open sampling monitoring link"}
ONLINE_COMMAND = 0x80  # GT06 server-to-terminal command
MAX_TEXT = 200  # characters of a command's text kept as evidence


def jt808_command(msg_id: int, body: bytes, identity: dict, evidence: dict) -> list[Match]:
    params: dict = {}
    if msg_id == 0x8105 and body:
        params["command"] = TERMINAL_CONTROL.get(body[0], f"0x{body[0]:02x}")
        if len(body) > 1:
            params["arguments"] = body[1:].decode("ascii", "replace")[:MAX_TEXT]
    elif msg_id == 0x8103 and body:
        params["parameters"] = _parameters(body)
    elif msg_id == 0x8500 and body:
        params["control_flags"] = f"0x{body[0]:02x}"
    elif msg_id == 0x8202 and len(body) >= 6:
        params.update(interval_s=u16(body, 0), valid_for_s=int.from_bytes(body[2:6], "big"))
    what = params.get("command") or COMMANDS[msg_id]
    return [Match("remote", "jt808", f"downlink {COMMANDS[msg_id]} 0x{msg_id:04x}: {what}",
                  checked(0.9, evidence["checksum_ok"]), [], identity, {**evidence, **params, "downlink": True})]


def _parameters(body: bytes) -> list[dict]:
    out, at = [], 1
    for _ in range(body[0]):
        if at + 5 > len(body):
            break
        pid, size = int.from_bytes(body[at : at + 4], "big"), body[at + 4]
        value = body[at + 5 : at + 5 + size]
        text = value.decode("ascii", "replace") if pid in (0x0010, 0x0013, 0x0014, 0x0017) else int.from_bytes(value, "big")
        out.append({"id": f"0x{pid:04x}", "name": PARAMETERS.get(pid, "other"), "value": text})
        at += 5 + size
    return out[:32]


def teltonika_command(data: bytes, evidence: dict) -> list[Match]:
    """Codec 12 (0x0C) or 14 (0x0E, addressed to an IMEI) type 5: a command to the device.
    ``data`` starts at the codec byte; codec 14's size counts the 8-byte BCD IMEI first."""
    if len(data) < 8 or data[2] != 0x05:
        return []  # type 6 is the device's response, type 0x11 a codec 14 "IMEI mismatch"
    size, identity = u32(data, 3), {}
    text = data[7 : 7 + size]
    if data[0] == 0x0E and size >= 8:
        identity = {"imei": text[:8].hex().lstrip("0")}
        text = text[8:]
    command = text.decode("ascii", "replace")[:MAX_TEXT]
    codec = 12 if data[0] == 0x0C else 14
    return [Match("remote", "teltonika", f"downlink codec {codec} command: {command.split(' ')[0]}",
                  checked(0.9, evidence.get("crc_ok")), [], identity, {**evidence, "command": command, "downlink": True})]


def gt06_command(info: bytes, evidence: dict) -> Match | None:
    """Protocol 0x80: u8 length (server flag + command), u32 server flag, ASCII command."""
    if len(info) < 6:
        return None
    command = info[5 : 1 + info[0]].decode("ascii", "replace")[:MAX_TEXT]
    return Match("remote", "gt06", f"downlink online command 0x80: {command.split(',')[0].rstrip('#')}",
                 checked(0.9, evidence.get("crc_ok")), [], {}, {**evidence, "command": command, "downlink": True})


def gbt32960_command(command: int, unit: bytes, identity: dict, evidence: dict) -> Match:
    """Platform to vehicle, after the 6-byte time: 0x80 a count and parameter ids, 0x81 a
    count and (id, value) items, 0x82 a control command id and its parameters."""
    params: dict = {}
    if command == 0x82 and len(unit) > 6:
        params["control"] = GBT32960_CONTROL.get(unit[6], f"0x{unit[6]:02x}")
        if len(unit) > 7:
            params["arguments"] = unit[7:].decode("ascii", "replace")[:MAX_TEXT]
    elif len(unit) > 6:
        params["parameter_count"] = unit[6]
    what = params.get("control") or GBT32960_COMMANDS[command]
    return Match("remote", "gbt32960", f"downlink {GBT32960_COMMANDS[command]} 0x{command:02x}: {what}",
                 checked(0.9, evidence["bcc_ok"]), [], identity, {**evidence, **params, "downlink": True})
