"""QUIC v1 (RFC 9000/9001) and v2 (RFC 9369) client Initial packets, decrypted for their SNI.

Initial packets are encrypted with keys derived from the client's first Destination
Connection ID and a salt published in the RFC: the protection is against tampering, not
against observers, so any on-path device can read the ClientHello. This module removes the
header protection, decrypts the payload (AES-128-GCM, via the cryptography package), walks
the frames and reassembles CRYPTO data by offset (clients split and shuffle it across frames
and packets) until the ClientHello is complete.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .tls import ClientHello, NotTls, parse_client_hello

V1, V2 = 0x00000001, 0x6B3343CF
SALTS = {
    V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
}
LABEL_PREFIX = {V1: "quic", V2: "quicv2"}
INITIAL_TYPE = {V1: 0, V2: 1}
FRAME_PADDING, FRAME_PING, FRAME_ACK, FRAME_ACK_ECN, FRAME_CRYPTO = 0x00, 0x01, 0x02, 0x03, 0x06
FRAME_CLOSE, FRAME_CLOSE_APP = 0x1C, 0x1D
MAX_WAITING_FRAMES = 256  # out-of-order CRYPTO frames kept per connection
MAX_CRYPTO = 1 << 16


class QuicError(ValueError):
    pass


@dataclass(frozen=True)
class InitialKeys:
    key: bytes
    iv: bytes
    hp: bytes


@dataclass
class InitialPacket:
    version: int
    dcid: bytes
    packet_number: int
    frames_payload: bytes


@dataclass
class CryptoAssembler:
    """CRYPTO stream bytes by offset, until a whole ClientHello is there. The in-order prefix
    grows in place; frames past a gap wait (at most MAX_WAITING_FRAMES), so thousands of tiny
    frames cost time linear in their bytes."""

    prefix: bytearray = field(default_factory=bytearray)
    waiting: dict[int, bytes] = field(default_factory=dict)

    def add(self, offset: int, data: bytes) -> ClientHello | None:
        if offset + len(data) > MAX_CRYPTO:
            raise QuicError("CRYPTO data beyond 64 KiB")
        if offset > len(self.prefix):
            if len(self.waiting) >= MAX_WAITING_FRAMES:
                raise QuicError(f"more than {MAX_WAITING_FRAMES} CRYPTO frames wait for a gap")
            if len(data) > len(self.waiting.get(offset, b"")):
                self.waiting[offset] = data
            return None
        self._extend(offset, data)
        while self.waiting and min(self.waiting) <= len(self.prefix):
            start = min(self.waiting)
            self._extend(start, self.waiting.pop(start))
        stream = self.prefix
        if len(stream) >= 4:
            need = 4 + int.from_bytes(stream[1:4], "big")
            if len(stream) >= need:
                return parse_client_hello(bytes(stream[:need]))
        return None

    def _extend(self, offset: int, data: bytes) -> None:
        """Append what ``data`` (starting at or before the prefix's end) adds past it."""
        self.prefix += data[len(self.prefix) - offset :]


def is_long_header_initial(datagram: bytes) -> bool:
    if len(datagram) < 7 or datagram[0] & 0xC0 != 0xC0:
        return False
    version = int.from_bytes(datagram[1:5], "big")
    return version in SALTS and (datagram[0] >> 4) & 3 == INITIAL_TYPE[version]


def initial_packets(datagram: bytes, extra_dcids: Sequence[bytes] = ()) -> list[InitialPacket]:
    """Every decryptable client Initial packet coalesced in one UDP datagram."""
    packets = []
    pos = 0
    while pos < len(datagram) and datagram[pos] & 0xC0 == 0xC0:
        packet, end = _one_packet(datagram, pos, extra_dcids)
        if packet is not None:
            packets.append(packet)
        pos = end
    return packets


def _one_packet(data: bytes, start: int, extra_dcids) -> tuple[InitialPacket | None, int]:
    first = data[start]
    version = int.from_bytes(data[start + 1 : start + 5], "big")
    pos = start + 5
    dcid, pos = _length_prefixed(data, pos)
    _scid, pos = _length_prefixed(data, pos)
    if version not in SALTS:
        return None, len(data)  # version negotiation or unknown: nothing after it is readable
    is_initial = (first >> 4) & 3 == INITIAL_TYPE[version]
    if is_initial:
        token_length, pos = read_varint(data, pos)
        pos += token_length
    length, pos = read_varint(data, pos)
    end = pos + length
    if end > len(data):
        raise QuicError("packet length runs past the datagram")
    if not is_initial:
        return None, end
    for candidate in (dcid, *extra_dcids):
        packet = _decrypt(data, start, pos, end, version, candidate)
        if packet is not None:
            packet.dcid = dcid
            return packet, end
    return None, end


def _decrypt(data: bytes, start: int, pn_offset: int, end: int, version: int, dcid: bytes) -> InitialPacket | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    keys = client_initial_keys(version, dcid)
    if pn_offset + 20 > end:
        raise QuicError("Initial packet too short for a header-protection sample")
    mask = _hp_mask(keys.hp, data[pn_offset + 4 : pn_offset + 20])
    first = data[start] ^ (mask[0] & 0x0F)
    pn_length = (first & 3) + 1
    pn_bytes = bytes(b ^ m for b, m in zip(data[pn_offset : pn_offset + pn_length], mask[1:]))
    header = bytes([first]) + data[start + 1 : pn_offset] + pn_bytes
    packet_number = int.from_bytes(pn_bytes, "big")
    nonce = (int.from_bytes(keys.iv, "big") ^ packet_number).to_bytes(12, "big")
    try:
        plain = AESGCM(keys.key).decrypt(nonce, data[pn_offset + pn_length : end], header)
    except InvalidTag:
        return None
    return InitialPacket(version, dcid, packet_number, plain)


def _hp_mask(hp_key: bytes, sample: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(hp_key), modes.ECB()).encryptor()
    return encryptor.update(sample) + encryptor.finalize()


@lru_cache(maxsize=4096)
def client_initial_keys(version: int, dcid: bytes) -> InitialKeys:
    initial = hmac.new(SALTS[version], dcid, hashlib.sha256).digest()
    client = _expand_label(initial, "client in", 32)
    prefix = LABEL_PREFIX[version]
    return InitialKeys(_expand_label(client, f"{prefix} key", 16), _expand_label(client, f"{prefix} iv", 12),
                       _expand_label(client, f"{prefix} hp", 16))


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context (one HMAC block suffices here)."""
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


def crypto_frames(payload: bytes) -> list[tuple[int, bytes]]:
    """(offset, data) of each CRYPTO frame in a decrypted Initial payload."""
    frames = []
    pos = 0
    while pos < len(payload):
        kind, pos = read_varint(payload, pos)
        if kind == FRAME_PADDING or kind == FRAME_PING:
            continue
        if kind == FRAME_CRYPTO:
            offset, pos = read_varint(payload, pos)
            length, pos = read_varint(payload, pos)
            frames.append((offset, payload[pos : pos + length]))
            pos += length
        elif kind in (FRAME_ACK, FRAME_ACK_ECN):
            pos = _skip_ack(payload, pos, kind == FRAME_ACK_ECN)
        elif kind in (FRAME_CLOSE, FRAME_CLOSE_APP):
            _code, pos = read_varint(payload, pos)
            if kind == FRAME_CLOSE:
                _frame, pos = read_varint(payload, pos)
            reason, pos = read_varint(payload, pos)
            pos += reason
        else:
            break  # not allowed in Initial packets: stop rather than guess
    return frames


def _skip_ack(payload: bytes, pos: int, ecn: bool) -> int:
    _largest, pos = read_varint(payload, pos)
    _delay, pos = read_varint(payload, pos)
    ranges, pos = read_varint(payload, pos)
    _first, pos = read_varint(payload, pos)
    for _ in range(2 * ranges + (3 if ecn else 0)):
        _value, pos = read_varint(payload, pos)
    return pos


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise QuicError("variable-length integer runs past the end")
    size = 1 << (data[pos] >> 6)
    if pos + size > len(data):
        raise QuicError("variable-length integer runs past the end")
    value = int.from_bytes(data[pos : pos + size], "big") & ((1 << (8 * size - 2)) - 1)
    return value, pos + size


def _length_prefixed(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos >= len(data):
        raise QuicError("connection id length runs past the end")
    size = data[pos]
    if size > 20 or pos + 1 + size > len(data):
        raise QuicError("connection id longer than 20 bytes or cut off")
    return data[pos + 1 : pos + 1 + size], pos + 1 + size


__all__ = [
    "ClientHello",
    "CryptoAssembler",
    "NotTls",
    "QuicError",
    "client_initial_keys",
    "crypto_frames",
    "initial_packets",
    "is_long_header_initial",
]
