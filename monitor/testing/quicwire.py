"""QUIC v1 client Initial packets built as a client sends them (RFC 9000 17.2.2, RFC 9001 5):
the payload encrypted with the keys from the Destination Connection ID, then header
protection. For crafted inputs and tests; the reader is monitor/net/app/quic.py."""

from __future__ import annotations

import struct

from ..net.app.quic import V1, client_initial_keys

DATAGRAM = 1200  # clients pad Initial datagrams to at least this (RFC 9000 14.1)
PN_LENGTH = 2


def client_initial(dcid: bytes, frames: bytes, room: int = 1100) -> list[bytes]:
    """Datagrams of one Initial packet each carrying ``frames`` (a whole number of frames per
    packet is not needed by the reader: CRYPTO frames are cut only between frames here)."""
    packets, chunk, number = [], b"", 0
    for frame in _frames(frames):
        if len(chunk) + len(frame) > room and chunk:
            packets.append(_protected(dcid, number, chunk))
            chunk, number = b"", number + 1
        chunk += frame
    if chunk:
        packets.append(_protected(dcid, number, chunk))
    return packets


def _frames(payload: bytes) -> list[bytes]:
    """Split a run of CRYPTO frames (type 0x06, varint offset, varint length, data) into frames."""
    out, pos = [], 0
    while pos < len(payload):
        start = pos
        pos += 1
        for _ in range(2):  # offset, then length
            size = 1 << (payload[pos] >> 6)
            value = int.from_bytes(payload[pos : pos + size], "big") & ((1 << (8 * size - 2)) - 1)
            pos += size
        pos += value  # the last varint read was the length
        out.append(payload[start:pos])
    return out


def _protected(dcid: bytes, number: int, frames: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    keys = client_initial_keys(V1, dcid)
    head = bytes([0xC0 | (PN_LENGTH - 1)]) + struct.pack("!I", V1) + bytes([len(dcid)]) + dcid + b"\x00" + b"\x00"
    padding = max(0, DATAGRAM - (len(head) + 2 + PN_LENGTH + len(frames) + 16))
    plain = frames + bytes(padding)
    header = head + struct.pack("!H", 0x4000 | (PN_LENGTH + len(plain) + 16)) + number.to_bytes(PN_LENGTH, "big")
    nonce = (int.from_bytes(keys.iv, "big") ^ number).to_bytes(12, "big")
    packet = bytearray(header + AESGCM(keys.key).encrypt(nonce, plain, header))
    pn_offset = len(header) - PN_LENGTH
    encryptor = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    mask = encryptor.update(bytes(packet[pn_offset + 4 : pn_offset + 20])) + encryptor.finalize()
    packet[0] ^= mask[0] & 0x0F
    for i in range(PN_LENGTH):
        packet[pn_offset + i] ^= mask[1 + i]
    return bytes(packet)
