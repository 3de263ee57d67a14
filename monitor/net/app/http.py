"""HTTP/1.x (and RTSP, which shares its syntax) request heads: method, URI, Host.

``parse_requests`` reads every complete request head in a client byte stream, stepping over
bodies whose Content-Length it knows and the empty lines a client may send between pipelined
requests (RFC 9112 2.2), and reports how far it got so the caller can wait for the rest of a
head that a segment boundary cut.

A method is any RFC 9110 token (UPnP's M-SEARCH, NOTIFY, SUBSCRIBE, WebDAV's PROPFIND, ...),
up to MAX_METHOD bytes. The well-known ones in METHODS are recognised from their first bytes;
any other token only with a whole request line that ends in an HTTP or RTSP version, so a text
protocol that merely starts with a word and a space is not taken for HTTP.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import numpy as np

from ... import native

METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
           b"DESCRIBE", b"SETUP", b"PLAY", b"PAUSE", b"TEARDOWN", b"ANNOUNCE", b"RECORD",
           b"GET_PARAMETER", b"SET_PARAMETER", b"REDIRECT",
           b"M-SEARCH", b"NOTIFY", b"SUBSCRIBE", b"UNSUBSCRIBE",  # UPnP (SSDP, GENA)
           b"PROPFIND", b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE", b"LOCK", b"UNLOCK")  # WebDAV
#: First four bytes of a request line for each method, as big-endian uint32 (vectorized test).
METHOD_PREFIXES = tuple(sorted({int.from_bytes((m + b" ")[:4], "big") for m in METHODS}))
MAX_HEAD = 16_384
MAX_METHOD = 32
MAX_LINE = 8_192
PREFACE_LINE = b"PRI * HTTP/2.0"
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1," + str(MAX_METHOD).encode() + rb"} ")
VERSION = re.compile(rb" (?:HTTP|RTSP)/\d\.\d\r?$")
_UPPER = np.zeros(256, dtype=bool)
_UPPER[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")] = True


@dataclass
class Request:
    method: str
    uri: str
    version: str
    host: str | None
    content_type: str | None = None
    upgrade: str | None = None


def starts_request(data: bytes) -> bool:
    """Whether the bytes start a request line: a known method and a space, or any token, a
    space and (within MAX_LINE) a line ending in an HTTP or RTSP version."""
    match = TOKEN.match(data)
    if match is None:
        return False
    if data[: match.end() - 1] in METHODS:
        return True
    line_end = data.find(b"\n", match.end(), MAX_LINE)
    return line_end > 0 and VERSION.search(data, match.end(), line_end) is not None


def may_start_request(first: np.ndarray) -> np.ndarray:
    """Vectorized gate over (n, 5) first payload bytes of segments in an HTTP flow: a known
    method's first four bytes, five method-like bytes (capitals, '-', '_'), a shorter capital
    word and a space, or an empty line (CR or LF) before a pipelined request."""
    first4 = (first[:, 0] << 24) | (first[:, 1] << 16) | (first[:, 2] << 8) | first[:, 3]
    upper = _UPPER[first]
    word = np.cumprod(upper, axis=1).astype(bool)  # capitals so far
    space_after = np.zeros(len(first), dtype=bool)
    for n in range(1, 5):
        space_after |= word[:, n - 1] & (first[:, n] == 0x20)
    blank = (first[:, 0] == 0x0D) | (first[:, 0] == 0x0A)
    return np.isin(first4, METHOD_PREFIXES) | word[:, 4] | space_after | blank


def parse_requests(stream: bytes) -> tuple[list[Request], int]:
    """(requests whose head is complete, bytes consumed). Stops at anything not a request."""
    core = native.kernels
    if core is not None:
        # Content-Length is read as int() reads it, under the same digit limit.
        verdict, found, used = core.http_parse_requests(stream, sys.get_int_max_str_digits())
        if verdict == 0:
            return [Request(*fields) for fields in found], used
    return _parse_requests(stream)  # the reference; also streams of more requests than the C holds


def _parse_requests(stream: bytes) -> tuple[list[Request], int]:
    requests: list[Request] = []
    pos = _skip_blank_lines(stream, 0)
    while pos < len(stream) and starts_request(stream[pos : pos + MAX_LINE]):
        if stream.startswith(PREFACE_LINE, pos):  # HTTP/2 from here (h2.py reads it)
            break
        end = stream.find(b"\r\n\r\n", pos, pos + MAX_HEAD)
        sep = 4
        if end < 0:
            end, sep = stream.find(b"\n\n", pos, pos + MAX_HEAD), 2
        if end < 0:
            break
        request, body_length = _parse_head(stream[pos:end])
        if request is None:
            break
        requests.append(request)
        pos = end + sep + body_length
        if pos < len(stream):
            pos = _skip_blank_lines(stream, pos)
    return requests, min(pos, len(stream))


def _skip_blank_lines(stream: bytes, pos: int) -> int:
    """Past any CRLF or LF before a request line (RFC 9112 2.2: ignore at least one)."""
    while pos < len(stream) and stream[pos] in b"\r\n":
        pos += 1
    return pos


def _parse_head(head: bytes) -> tuple[Request | None, int]:
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    if len(parts) < 2:
        return None, 0
    headers = header_fields(lines[1:])
    try:
        body = int(headers.get("content-length", "0"))
    except ValueError:
        body = 0
    request = Request(method=parts[0], uri=parts[1], version=parts[2] if len(parts) > 2 else "",
                      host=headers.get("host"),
                      content_type=headers.get("content-type"), upgrade=headers.get("upgrade"))
    return request, max(body, 0)


def header_fields(lines: list[str]) -> dict[str, str]:
    """Header lines as lower-case name -> value; the first of a repeated name wins."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    return headers


def protocol_of(head: bytes) -> str:
    """"http2" for the HTTP/2 client preface, "rtsp" for RTSP requests (same syntax, different
    protocol), else "http"."""
    if head.startswith(PREFACE_LINE):
        return "http2"
    line_end = head.find(b"\n")
    return "rtsp" if b"RTSP/" in head[: line_end if line_end > 0 else 256] else "http"


def host_of(request: Request) -> str | None:
    """The server name: the Host header, else the authority of an absolute URI or of a CONNECT
    request's authority form (``CONNECT host:port``); no port."""
    host = request.host
    if not host and "://" in request.uri:
        host = request.uri.split("://", 1)[1].split("/", 1)[0]
    if not host and request.method.upper() == "CONNECT":
        host = request.uri
    return authority_host(host)


def authority_host(authority: str | None) -> str | None:
    """The host of an authority (``user@host:port``): no user, no port, no IPv6 brackets."""
    if not authority:
        return None
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
