"""HTTP requests and MQTT PUBLISH packets: where the uploaded bytes start, so the container,
JSON and query-string parsers can look at them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit

from ...net.app.http import header_fields

METHODS = (b"GET ", b"POST ", b"PUT ", b"PATCH ")
REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|PATCH) (\S{1,8192}) HTTP/\d\.\d\r?\n")
BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


@dataclass
class Part:
    content_type: str
    data: bytes
    filename: str | None = None


@dataclass
class Request:
    method: str
    target: str
    host: str | None
    query: str
    parts: list[Part] = field(default_factory=list)  # the body, or each multipart part


def parse_request(payload: bytes) -> Request | None:
    m = REQUEST_LINE.match(payload)
    if not m:
        return None
    head_end = payload.find(b"\r\n\r\n")
    head = payload[m.end() : head_end if head_end >= 0 else len(payload)]
    headers = _headers(head)
    body = payload[head_end + 4 :] if head_end >= 0 else b""
    target = m.group(2).decode("latin-1")
    request = Request(m.group(1).decode(), target, headers.get("host"), _query(target))
    content_type = headers.get("content-type", "")
    if body:
        request.parts = multipart(body, content_type) if "multipart/" in content_type.lower() else [Part(content_type, body)]
    return request


def _query(target: str) -> str:
    """The query string of a request target; an unparseable one (urlsplit refuses a broken
    IPv6 literal such as ``http://[x/``) is read up to its first '?'."""
    try:
        return urlsplit(target).query
    except ValueError:
        return target.partition("?")[2].partition("#")[0]


def _headers(head: bytes) -> dict[str, str]:
    return header_fields(head.decode("latin-1").replace("\r\n", "\n").split("\n"))


def multipart(body: bytes, content_type: str) -> list[Part]:
    m = BOUNDARY.search(content_type)
    if not m:
        return [Part(content_type, body)]
    delimiter = b"--" + m.group(1).encode("latin-1")
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head_end = chunk.find(b"\r\n\r\n")
        if head_end < 0:
            continue
        headers = _headers(chunk[:head_end])
        data = chunk[head_end + 4 :]
        data = data[:-2] if data.endswith(b"\r\n") else data
        disposition = headers.get("content-disposition", "")
        name = re.search(r'filename="([^"]*)"', disposition)
        parts.append(Part(headers.get("content-type", ""), data, unquote_plus(name.group(1)) if name else None))
    return parts


@dataclass
class Publish:
    topic: str
    payload: bytes


def mqtt_publish(payload: bytes) -> Publish | None:
    """An MQTT 3.1.1 or 5 PUBLISH at the start of the payload (topic printable, length sane)."""
    if len(payload) < 5 or payload[0] >> 4 != 3:
        return None
    qos = (payload[0] >> 1) & 3
    remaining, at = _varint(payload, 1)
    if remaining is None or qos == 3:
        return None
    end = at + remaining
    topic_len = int.from_bytes(payload[at : at + 2], "big")
    topic = payload[at + 2 : at + 2 + topic_len]
    if not topic or len(topic) != topic_len or not all(32 <= b < 127 for b in topic):
        return None
    body_at = at + 2 + topic_len + (2 if qos else 0)
    body = payload[body_at:end]
    if body[:1] not in (b"{", b"[", b"$") and len(body) > 1:
        props, after = _varint(payload, body_at)  # MQTT 5: properties before the payload
        if props is not None and after + props <= end:
            body = payload[after + props : end]
    return Publish(topic.decode("ascii"), body)


def _varint(raw: bytes, at: int) -> tuple[int | None, int]:
    value = shift = 0
    for i in range(4):
        if at + i >= len(raw):
            return None, at
        byte = raw[at + i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at + i + 1
    return None, at
