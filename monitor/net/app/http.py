"""HTTP/1.x (and RTSP, which shares its syntax) request heads: method, URI, Host.

``parse_requests`` reads every complete request head in a client byte stream, stepping over
bodies whose Content-Length it knows, and reports how far it got so the caller can wait for
the rest of a head that a segment boundary cut.
"""

from __future__ import annotations

from dataclasses import dataclass

METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
           b"DESCRIBE", b"SETUP", b"PLAY", b"PAUSE", b"TEARDOWN", b"ANNOUNCE", b"RECORD",
           b"GET_PARAMETER", b"SET_PARAMETER", b"REDIRECT")
#: First four bytes of a request line for each method, as big-endian uint32 (vectorized test).
METHOD_PREFIXES = tuple(sorted({int.from_bytes((m + b" ")[:4], "big") for m in METHODS}))
MAX_HEAD = 16_384


@dataclass
class Request:
    method: str
    uri: str
    version: str
    host: str | None
    user_agent: str | None = None
    content_type: str | None = None


def starts_request(data: bytes) -> bool:
    space = data.find(b" ", 0, 16)
    return space > 0 and data[:space] in METHODS


def parse_requests(stream: bytes) -> tuple[list[Request], int]:
    """(requests whose head is complete, bytes consumed). Stops at anything not a request."""
    requests: list[Request] = []
    pos = 0
    while pos < len(stream) and starts_request(stream[pos : pos + 16]):
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
    return requests, min(pos, len(stream))


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
                      host=headers.get("host"), user_agent=headers.get("user-agent"),
                      content_type=headers.get("content-type"))
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
    """"rtsp" for RTSP requests (same syntax, different protocol), else "http"."""
    line_end = head.find(b"\n")
    return "rtsp" if b"RTSP/" in head[: line_end if line_end > 0 else 256] else "http"


def host_of(request: Request) -> str | None:
    """The server name: the Host header, else the authority of an absolute URI; no port."""
    host = request.host
    if not host and "://" in request.uri:
        host = request.uri.split("://", 1)[1].split("/", 1)[0]
    if not host:
        return None
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
