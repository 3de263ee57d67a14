"""Google QUIC (Q0xx up to Q046): the client hello travels unencrypted, as a CHLO message of
tag/value pairs; its SNI tag names the server. (Q050 and later encrypt it like IETF QUIC.)"""

from __future__ import annotations

import struct

CHLO = b"CHLO"
MAX_ENTRIES = 128


def looks_like_gquic(datagram: bytes) -> bool:
    """Public header with the version flag, an 8-byte connection id and a Q0xx version."""
    return len(datagram) > 13 and datagram[0] & 0x09 == 0x09 and datagram[9:11] == b"Q0"


def client_hello_tags(datagram: bytes) -> dict[bytes, bytes] | None:
    """The CHLO's tag -> value map, or None when this datagram holds no readable CHLO."""
    at = datagram.find(CHLO, 13)
    if at < 0 or at + 8 > len(datagram):
        return None
    count = struct.unpack_from("<H", datagram, at + 4)[0]
    table = at + 8
    values = table + 8 * count
    if count > MAX_ENTRIES or values > len(datagram):
        return None
    tags: dict[bytes, bytes] = {}
    start = 0
    for i in range(count):
        tag, end = struct.unpack_from("<4sI", datagram, table + 8 * i)
        if end < start or values + end > len(datagram):
            return None
        tags[tag] = datagram[values + start : values + end]
        start = end
    return tags


def server_name(tags: dict[bytes, bytes]) -> str | None:
    sni = tags.get(b"SNI\x00")
    return sni.decode("ascii", "backslashreplace") if sni else None
