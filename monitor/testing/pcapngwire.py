"""pcapng files built block by block (section, one Ethernet interface, enhanced packet blocks),
for crafted inputs and fuzz seeds; the reader is monitor/net/pcapng.py."""

from __future__ import annotations

import struct

from ..net.packets import LINKTYPE_ETHERNET


def _block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def pcapng_bytes(packets: list[tuple[int, bytes]], options: bytes = b"") -> bytes:
    """A section, one Ethernet interface (with ``options``) and an enhanced packet block per
    (raw time, frame); the raw time is in the interface's units (microseconds unless its
    ``if_tsresol`` option says otherwise)."""
    out = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += _block(1, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, 65535) + options + (b"\0" * 4 if options else b""))
    for time, frame in packets:
        out += _block(6, struct.pack("<IIIII", 0, time >> 32, time & 0xFFFFFFFF, len(frame), len(frame)) + frame)
    return out


def option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)
