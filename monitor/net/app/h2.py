"""HTTP/2 in clear text (h2c): the first request's ``:authority``, ``:method`` and ``:path``.

Two ways in (RFC 9113 3.3 and RFC 7540 3.2): prior knowledge, where the client's first bytes are
the preface ``PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n``, and the ``Upgrade: h2c`` request, an
HTTP/1.1 request (its Host read by http.py) after which, once the server says 101, the client
sends the same preface and goes on in HTTP/2. Either way ``first_request`` reads the frames after
the preface (SETTINGS, WINDOW_UPDATE, PRIORITY, PING ... are stepped over) up to the first
HEADERS frame and its CONTINUATION frames, and decodes that header block with HPACK.

Bounded: at most MAX_FRAMES frames before the HEADERS, a header block of at most
hpack.MAX_BLOCK bytes (padding and priority fields checked against the frame), hpack's own
limits on fields and the dynamic table. A prefix of all this raises NeedMore; anything else
that is not HTTP/2 raises H2Error.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hpack import MAX_BLOCK, Decoder, HpackError
from .http import authority_host

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, SETTINGS, PUSH_PROMISE, CONTINUATION = 0x0, 0x1, 0x2, 0x4, 0x5, 0x9
END_HEADERS, PADDED, PRIORITY_FLAG = 0x4, 0x8, 0x20
FRAME_HEADER = 9
MAX_FRAMES = 32


class NeedMore(Exception):
    """The bytes so far are a valid prefix; more are needed."""


class H2Error(ValueError):
    pass


@dataclass
class H2Request:
    authority: str | None
    method: str | None
    path: str | None
    scheme: str | None
    stream_id: int


def starts_preface(data: bytes) -> bool:
    """The bytes begin the client preface (or are a prefix of it of at least 4 bytes)."""
    head = data[: len(PREFACE)]
    return len(head) >= 4 and PREFACE.startswith(head)


def first_request(stream: bytes) -> H2Request:
    """The first request in a client's byte stream that starts with the preface."""
    if len(stream) < len(PREFACE):
        raise NeedMore if PREFACE.startswith(stream) else H2Error("not the HTTP/2 client preface")
    if not stream.startswith(PREFACE):
        raise H2Error("not the HTTP/2 client preface")
    pos = len(PREFACE)
    for _ in range(MAX_FRAMES):
        kind, flags, stream_id, payload, pos = _frame(stream, pos)
        if kind == HEADERS:
            block = _headers_payload(flags, payload)
            block, ended = _continued(stream, pos, stream_id, block, flags)
            if not ended:
                raise NeedMore
            return _request(block, stream_id)
        if kind in (CONTINUATION, PUSH_PROMISE):
            raise H2Error(f"frame type {kind} where a client's HEADERS was expected")
    raise H2Error(f"no HEADERS frame in the first {MAX_FRAMES} frames")


def _frame(stream: bytes, pos: int) -> tuple[int, int, int, bytes, int]:
    """(type, flags, stream id, payload, end) of the frame at pos; NeedMore when it is cut."""
    if pos + FRAME_HEADER > len(stream):
        raise NeedMore
    length = int.from_bytes(stream[pos : pos + 3], "big")
    kind, flags = stream[pos + 3], stream[pos + 4]
    stream_id = int.from_bytes(stream[pos + 5 : pos + 9], "big") & 0x7FFF_FFFF
    if length > MAX_BLOCK:
        raise H2Error(f"frame of {length} bytes is over {MAX_BLOCK}")
    end = pos + FRAME_HEADER + length
    if end > len(stream):
        raise NeedMore
    return kind, flags, stream_id, stream[pos + FRAME_HEADER : end], end


def _headers_payload(flags: int, payload: bytes) -> bytes:
    """The header block fragment of a HEADERS frame: padding and priority fields removed."""
    start, end = 0, len(payload)
    if flags & PADDED:
        if not payload:
            raise H2Error("PADDED HEADERS frame without a pad length")
        start, end = 1, len(payload) - payload[0]
    if flags & PRIORITY_FLAG:
        start += 5
    if start > end:
        raise H2Error("HEADERS padding or priority longer than the frame")
    return payload[start:end]


def _continued(stream: bytes, pos: int, stream_id: int, block: bytes, flags: int) -> tuple[bytes, bool]:
    """The header block with its CONTINUATION frames; False when END_HEADERS is not there yet."""
    parts = [block]
    size = len(block)
    while not flags & END_HEADERS:
        try:
            kind, flags, continued_id, payload, pos = _frame(stream, pos)
        except NeedMore:
            return b"", False
        if kind != CONTINUATION or continued_id != stream_id:
            raise H2Error("header block interrupted by another frame")
        size += len(payload)
        if size > MAX_BLOCK:
            raise H2Error(f"header block over {MAX_BLOCK} bytes")
        parts.append(payload)
    return b"".join(parts), True


def _request(block: bytes, stream_id: int) -> H2Request:
    try:
        headers = dict(reversed(Decoder().decode(block)))  # the first of a repeated name wins
    except HpackError as error:
        raise H2Error(f"HPACK: {error}") from error
    authority = headers.get(":authority") or headers.get("host")
    return H2Request(authority, headers.get(":method"), headers.get(":path"), headers.get(":scheme"), stream_id)


def host_of(request: H2Request) -> str | None:
    """The authority without its port (and without brackets for an IPv6 literal)."""
    return authority_host(request.authority)
