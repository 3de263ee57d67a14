"""TLS ClientHello: the server name (SNI) and ALPN a client asks for.

``client_hello_from_records`` takes the first bytes a client sent on a TCP connection (TLS
records, possibly a ClientHello spread over several records and segments) and says whether
it found a ClientHello, needs more bytes, or this is not TLS. ``parse_client_hello`` reads
the handshake message itself and is shared with QUIC, whose CRYPTO frames carry it bare.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ... import native

HANDSHAKE, CLIENT_HELLO = 22, 1
EXT_SERVER_NAME, EXT_ALPN = 0, 16
MAX_HELLO = 1 << 16


class NeedMore(Exception):
    """The bytes so far are a valid prefix; more are needed."""


class NotTls(ValueError):
    pass


@dataclass
class ClientHello:
    version: int
    sni: str | None = None
    alpn: list[str] = field(default_factory=list)


def looks_like_client_hello(head: bytes) -> bool:
    return len(head) >= 6 and head[0] == HANDSHAKE and head[1] == 3 and head[5] == CLIENT_HELLO


def client_hello_from_records(stream: bytes) -> ClientHello:
    """Raises NeedMore for a prefix of a ClientHello, NotTls for anything else."""
    core = native.kernels
    if core is not None:
        return _from_native(core.tls_hello_from_records(stream), _client_hello_from_records, stream)
    return _client_hello_from_records(stream)


def parse_client_hello(message: bytes) -> ClientHello:
    """A whole handshake message (type, 3-byte length, body)."""
    core = native.kernels
    if core is not None:
        return _from_native(core.tls_parse_client_hello(message), _parse_client_hello, message)
    return _parse_client_hello(message)


# The C extractor's verdicts (src/gw_tls.h) as this module's outcomes.
_NEED_MORE, _TOO_MANY_ALPN = 1, 6
_NOT_TLS = {2: "not a TLS handshake record", 3: "first handshake message is not a ClientHello",
            4: "not a ClientHello", 5: "field runs past the end of the ClientHello"}


def _from_native(result: tuple, reference, data: bytes) -> ClientHello:
    verdict, version, sni, alpn = result
    if verdict == 0:
        return ClientHello(version, sni, alpn)
    if verdict == _NEED_MORE:
        raise NeedMore
    if verdict == _TOO_MANY_ALPN:  # more ALPN names than the C output holds: rare, read here
        return reference(data)
    raise NotTls(_NOT_TLS[verdict])


def _client_hello_from_records(stream: bytes) -> ClientHello:
    handshake = bytearray()
    pos = 0
    while True:
        if len(handshake) >= 4:
            length = int.from_bytes(handshake[1:4], "big")
            if handshake[0] != CLIENT_HELLO or length > MAX_HELLO:
                raise NotTls("first handshake message is not a ClientHello")
            if len(handshake) >= 4 + length:
                return _parse_client_hello(bytes(handshake[: 4 + length]))
        if pos + 5 > len(stream):
            raise NeedMore
        content_type, major = stream[pos], stream[pos + 1]
        record_length = struct.unpack_from("!H", stream, pos + 3)[0]
        if content_type != HANDSHAKE or major != 3 or record_length > 18_432:
            raise NotTls("not a TLS handshake record")
        if pos + 5 + record_length > len(stream):
            handshake += stream[pos + 5 :]
            if len(handshake) >= 4 and handshake[0] != CLIENT_HELLO:
                raise NotTls("first handshake message is not a ClientHello")
            raise NeedMore
        handshake += stream[pos + 5 : pos + 5 + record_length]
        pos += 5 + record_length


def _parse_client_hello(message: bytes) -> ClientHello:
    r = _Reader(message)
    if r.u8() != CLIENT_HELLO:
        raise NotTls("not a ClientHello")
    r.skip(3)
    hello = ClientHello(version=r.u16())
    r.skip(32)  # random
    r.skip(r.u8())  # session id
    r.skip(r.u16())  # cipher suites
    r.skip(r.u8())  # compression methods
    if r.remaining() < 2:
        return hello  # SSLv3-style hello without extensions
    end = r.pos + r.u16()
    while r.pos + 4 <= end:
        ext_type, ext_len = r.u16(), r.u16()
        body = r.take(ext_len)
        if ext_type == EXT_SERVER_NAME:
            hello.sni = _server_name(body)
        elif ext_type == EXT_ALPN:
            hello.alpn = _alpn(body)
    return hello


def _server_name(body: bytes) -> str | None:
    r = _Reader(body)
    end = 2 + r.u16()
    while r.pos + 3 <= end:
        kind, name = r.u8(), r.take(r.u16())
        if kind == 0:
            return name.decode("ascii", "backslashreplace")
    return None


def _alpn(body: bytes) -> list[str]:
    r = _Reader(body)
    end = 2 + r.u16()
    protocols = []
    while r.pos < end:
        protocols.append(r.take(r.u8()).decode("ascii", "backslashreplace"))
    return protocols


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise NotTls("field runs past the end of the ClientHello")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def skip(self, n: int) -> None:
        self.take(n)

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")
