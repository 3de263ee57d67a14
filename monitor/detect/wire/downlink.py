"""Control reaching into the vehicle from outside, in telematics downlinks (category "remote"):
JT/T 808 vehicle control 0x8500, terminal control 0x8105 (upgrade from a URL, connect to
another server), parameter setting 0x8103 (a new server address or port among them) and
temporary location tracking 0x8202, decoded with their parameters."""

from __future__ import annotations

from .match import Match, checked, u16

COMMANDS = {0x8500: "vehicle control", 0x8105: "terminal control", 0x8103: "set terminal parameters",
            0x8202: "temporary location tracking"}
TERMINAL_CONTROL = {1: "wireless upgrade", 2: "connect to a specified server", 3: "power off", 4: "reset",
                    5: "factory reset", 6: "close data communication", 7: "close all wireless communication"}
PARAMETERS = {0x0010: "APN", 0x0013: "main server address", 0x0014: "backup APN", 0x0017: "backup server address",
              0x0018: "server TCP port", 0x0019: "server UDP port", 0x0020: "location reporting strategy",
              0x0029: "default reporting interval", 0x0055: "maximum speed"}


def jt808_command(msg_id: int, body: bytes, identity: dict, evidence: dict) -> list[Match]:
    params: dict = {}
    if msg_id == 0x8105 and body:
        params["command"] = TERMINAL_CONTROL.get(body[0], f"0x{body[0]:02x}")
        if len(body) > 1:
            params["arguments"] = body[1:].decode("ascii", "replace")[:200]
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
