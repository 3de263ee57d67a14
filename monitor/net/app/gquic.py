"""Google QUIC (Q0xx up to Q046): the client hello travels unencrypted, as a CHLO message of
tag/value pairs in the data of the crypto stream (stream 1); its SNI tag names the server and
its UAID tag is the client's user agent.

Two packet headers carry it. Up to Q043, the gQUIC public header: flags (0x01 version present,
0x08 or 0x0C an 8-byte connection id, 0x30 the packet-number length 1/2/4/6), the connection id,
the version tag "Q0xx", the packet number. From Q046, the IETF-like long header of
draft-ietf-quic-transport-17: a first byte 0b11TT00PP (an Initial is 0xC3: type 0, a 4-byte
packet number), the version tag, one byte holding the destination and source connection-id
lengths as two nibbles (n > 0 means n + 3 bytes; a client sends 0x50: 8 and 0), the ids, then
the packet number. Either way, a 12-byte message authentication hash (the null encryption of
an unencrypted packet) comes next (before Q034, then a private-flags byte), then frames; the
CHLO is the data of a STREAM frame (type 1fdooo ss) on stream 1 at offset 0. Frame fields are
little-endian before Q039, big-endian from it.

Q050 and later (and T0xx) encrypt the Initial like IETF QUIC, with their own salts: those hellos
are not read here; their flows get the app "gquic" and no name.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

CHLO = b"CHLO"
MAX_ENTRIES = 128
HASH_SIZE = 12
CRYPTO_STREAM = 1
READABLE = tuple(b"Q0%02d" % n for n in range(0, 47))  # Q000..Q046: the CHLO is in clear text
FRAME_PADDING, FRAME_PING = 0x00, 0x07
PRIVATE_FEC_GROUP = 0x02


@dataclass
class GquicHello:
    """What a CHLO says (shaped like tls.ClientHello where it matters: ``sni``)."""

    version: str
    sni: str | None
    user_agent: str | None
    tags: dict[bytes, bytes]


def maybe_gquic(first: np.ndarray, at9: np.ndarray) -> np.ndarray:
    """Vectorized gate over (n, 5) first payload bytes and (n, 2) bytes at offset 9: a public
    header with the version flag and "Q0" after an 8-byte id, or a long header whose version
    starts "Q0"."""
    public = ((first[:, 0] & 0x09) == 0x09) & (at9[:, 0] == 0x51) & (at9[:, 1] == 0x30)
    long_header = ((first[:, 0] & 0xC0) == 0xC0) & (first[:, 1] == 0x51) & (first[:, 2] == 0x30)
    return public | long_header


def looks_like_gquic(datagram: bytes) -> bool:
    return _header(datagram) is not None


def _header(datagram: bytes) -> tuple[str, int] | None:
    """(version, where the packet payload starts), or None for anything else."""
    if len(datagram) < 14:
        return None
    first = datagram[0]
    if first & 0xC0 == 0xC0 and datagram[1:3] == b"Q0":
        return _long_header(datagram)
    if first & 0x89 == 0x09 and datagram[9:11] == b"Q0":  # 0x80 is reserved in the public header
        number_length = (1, 2, 4, 6)[(first >> 4) & 3]
        return datagram[9:13].decode("ascii", "replace"), 13 + number_length
    return None


def _long_header(datagram: bytes) -> tuple[str, int] | None:
    lengths = datagram[5]
    dcid, scid = lengths >> 4, lengths & 0x0F
    pos = 6 + (dcid + 3 if dcid else 0) + (scid + 3 if scid else 0)
    pos += (datagram[0] & 3) + 1  # packet number
    return datagram[1:5].decode("ascii", "replace"), pos


def client_hello(datagram: bytes) -> GquicHello | None:
    """The CHLO of a readable (Q046 or older) client packet, or None when there is none."""
    header = _header(datagram)
    if header is None:
        return None
    version, pos = header
    if version.encode() not in READABLE:
        return None
    pos += HASH_SIZE
    if version < "Q034" and pos < len(datagram):  # the private flags byte (and an FEC group offset)
        pos += 2 if datagram[pos] & PRIVATE_FEC_GROUP else 1
    data = _crypto_stream_start(datagram, pos, little_endian=version < "Q039")
    tags = parse_chlo(data) if data is not None else None
    if tags is None:
        return None
    return GquicHello(version, _text(tags.get(b"SNI\x00")), _text(tags.get(b"UAID")), tags)


def _crypto_stream_start(packet: bytes, pos: int, little_endian: bool) -> bytes | None:
    """The data of the first STREAM frame on stream 1 at offset 0 (PING frames stepped over;
    PADDING, or any other frame before it, ends the search: a client's hello comes first)."""
    while pos < len(packet):
        kind = packet[pos]
        if kind == FRAME_PING:
            pos += 1
            continue
        if not kind & 0x80:
            return None
        id_size = (kind & 0x03) + 1
        offset_size = (kind >> 2) & 0x07
        offset_size = offset_size + 1 if offset_size else 0
        has_length = kind & 0x20
        at = pos + 1
        stream_id = int.from_bytes(packet[at : at + id_size], "little" if little_endian else "big")
        offset = int.from_bytes(packet[at + id_size : at + id_size + offset_size], "little" if little_endian else "big")
        at += id_size + offset_size
        end = len(packet)
        if has_length:
            end = at + 2 + int.from_bytes(packet[at : at + 2], "little" if little_endian else "big")
            at += 2
        if at > len(packet):
            return None
        if stream_id == CRYPTO_STREAM and offset == 0:
            return packet[at : min(end, len(packet))]
        pos = end
    return None


def parse_chlo(data: bytes) -> dict[bytes, bytes] | None:
    """The CHLO's tag -> value map (little-endian count, then tag/end-offset pairs, then the
    values), or None when the data is no whole CHLO."""
    if len(data) < 8 or data[:4] != CHLO:
        return None
    count = struct.unpack_from("<H", data, 4)[0]
    table = 8
    values = table + 8 * count
    if count > MAX_ENTRIES or values > len(data):
        return None
    tags: dict[bytes, bytes] = {}
    start = 0
    for i in range(count):
        tag, end = struct.unpack_from("<4sI", data, table + 8 * i)
        if end < start or values + end > len(data):
            return None
        tags[tag] = data[values + start : values + end]
        start = end
    return tags


def _text(value: bytes | None) -> str | None:
    return value.decode("ascii", "backslashreplace") if value else None


def server_name(tags: dict[bytes, bytes]) -> str | None:
    return _text(tags.get(b"SNI\x00"))
