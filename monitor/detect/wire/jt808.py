"""JT/T 808 (2011/2013/2019) frames: location reports and batches, multimedia uploads, and the
JT/T 1078 / T/JSATL12 commands that send video somewhere.

A frame is ``7E escaped(header body check) 7E``; 7D 02 stands for 7E and 7D 01 for 7D. The
header is 12 bytes (16 sub-packaged), or 17 (21) in the 2019 edition (properties bit 14).
"""

from __future__ import annotations

from functools import reduce

from ..finding import Position
from . import downlink
from .match import Match, bcd, bcd_time, checked, position_confidence, u16, u32

LOCATION_IDS = {0x0200: "location report", 0x0201: "position query reply", 0x0500: "vehicle control reply",
                0x0704: "location batch upload", 0x0801: "multimedia data upload"}
VIDEO_COMMANDS = {0x9101: "real-time audio/video request", 0x9201: "playback request",
                  0x9206: "file upload command (FTP)", 0x9208: "alarm attachment upload request"}
MEDIA_TYPES = {0: "image", 1: "audio", 2: "video"}
MAX_FRAME = 4096  # a 808 body is at most 1023 bytes; escaping at most doubles it


def frames(payload: bytes):
    """Unescaped frame contents between 7E delimiters.

    Some devices fail to escape a 7E inside the frame (traccar's test data has them): when the
    content is shorter than its header says, the frame is extended to the next delimiter.
    """
    start = payload.find(b"\x7e")
    while start >= 0:
        end = payload.find(b"\x7e", start + 1)
        content = b""
        while end >= 0:
            content = _unescape(payload[start + 1 : end])
            following = payload.find(b"\x7e", end + 1)
            if len(content) >= _frame_size(content) or following < 0 or following - start > MAX_FRAME:
                break
            end = following
        if end < 0:
            return
        if 13 <= len(content) and end - start < MAX_FRAME:
            yield content
            start = payload.find(b"\x7e", end + 1)
        else:
            start = end  # two delimiters in a row, or garbage: the second may open a frame


def _unescape(raw: bytes) -> bytes:
    return raw.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


def _frame_size(content: bytes) -> int:
    """Header + body + check code, as the header's properties state."""
    if len(content) < 4:
        return 13
    props = u16(content, 2)
    return _header_size(props) + (props & 0x3FF) + 1


def _header_size(props: int) -> int:
    """12 bytes (2019 edition, bit 14: 17), plus 4 when sub-packaged (bit 13)."""
    return (17 if props & 0x4000 else 12) + (4 if props & 0x2000 else 0)


def parse(payload: bytes) -> list[Match]:
    out: list[Match] = []
    for raw in frames(payload):
        out += _frame(raw)
    return out


def _frame(raw: bytes) -> list[Match]:
    msg_id, props = u16(raw, 0), u16(raw, 2)
    if props & 0x8000:
        return []  # bit 15 is reserved: not a 808 header
    v2019 = bool(props & 0x4000)
    phone = raw[5:15] if v2019 else raw[4:10]
    header = _header_size(props)
    body_len = props & 0x3FF
    body = raw[header : header + body_len] if header + body_len <= len(raw) - 1 else raw[header:-1]
    check_ok = reduce(lambda a, b: a ^ b, raw[:-1], 0) == raw[-1]
    identity = {"sim": bcd(phone).lstrip("0") or "0"}
    evidence = {"message_id": f"0x{msg_id:04x}", "edition": "2019" if v2019 else "2011/2013",
                "checksum_ok": check_ok, "length_ok": header + body_len == len(raw) - 1}
    if msg_id in VIDEO_COMMANDS:
        return _video_command(msg_id, body, identity, evidence)
    if msg_id in downlink.COMMANDS:
        return downlink.jt808_command(msg_id, body, identity, evidence)
    if msg_id not in LOCATION_IDS or props & 0x0400:  # RSA-encrypted bodies cannot be read
        return []
    packet_index = u16(raw, header - 2) if props & 0x2000 else 1
    if msg_id == 0x0801 and packet_index != 1:
        return []  # later packets of a media upload carry only file bytes
    return _locations(msg_id, body, identity, evidence, check_ok)


def _locations(msg_id: int, body: bytes, identity: dict, evidence: dict, check_ok: bool) -> list[Match]:
    if msg_id == 0x0704:
        blocks = list(_batch_items(body))
    elif msg_id in (0x0201, 0x0500):
        blocks = [body[2:30]]
    elif msg_id == 0x0801:
        blocks = [body[8:36]]
    else:
        blocks = [body[:28]]
    positions = [p for p in (_location(b) for b in blocks) if p is not None]
    seen = f"{LOCATION_IDS[msg_id]} 0x{msg_id:04x}"
    matches = [Match("geolocation", "jt808", seen, position_confidence(positions, 0.95, check_ok),
                     positions, identity, evidence)]
    if msg_id == 0x0801 and len(body) >= 8:
        media = MEDIA_TYPES.get(body[4], f"type {body[4]}")
        jpeg = body[36:39] == b"\xff\xd8\xff"
        matches.append(Match("video", "jt808", f"multimedia upload 0x0801 ({media})", 0.9 if jpeg or body[4] != 1 else 0.5,
                             [], identity, {**evidence, "media_type": media, "channel": body[7], "jpeg": jpeg}))
    return matches


def _batch_items(body: bytes):
    count, at = u16(body, 0), 3
    for _ in range(min(count, 64)):
        size = u16(body, at)
        if size < 28 or at + 2 + size > len(body):
            return
        yield body[at + 2 : at + 2 + size]
        at += 2 + size


def _location(block: bytes) -> Position | None:
    if len(block) < 28:
        return None
    status = u32(block, 4)
    lat = u32(block, 8) / 1e6 * (-1 if status & 0x4 else 1)
    lon = u32(block, 12) / 1e6 * (-1 if status & 0x8 else 1)
    return Position(lat, lon, bcd_time(block[22:28]))


def _video_command(msg_id: int, body: bytes, identity: dict, evidence: dict) -> list[Match]:
    """The downlink command naming where video goes: learn the destination before the media."""
    size = body[0] if body else 0
    host = body[1 : 1 + size].decode("ascii", "replace")
    port = u16(body, 1 + size)
    if not host or not host.isprintable():
        return []
    return [Match("video", "jt1078", f"{VIDEO_COMMANDS[msg_id]} 0x{msg_id:04x}", checked(0.9, evidence["checksum_ok"]),
                  [], identity, {**evidence, "video_destination": f"{host}:{port}"})]
