"""Video, image and mapping data by their container magic, at the start of a payload, an HTTP
body or part, or an MQTT payload; plus the push protocols RTSP (ANNOUNCE/RECORD) and RTMP
(publish), and Teltonika DualCam file transfers."""

from __future__ import annotations

import re

from .match import Match, u16

#: (magic, offset, what, category, confidence)
MAGICS = (
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM", "video", 0.9),
    (b"ftyp", 4, "MP4 (ftyp)", "video", 0.85),
    (b"styp", 4, "fragmented MP4 segment (styp)", "video", 0.9),
    (b"moof", 4, "fragmented MP4 (moof)", "video", 0.9),
    (b"FLV\x01", 0, "FLV", "video", 0.9),
    (b"#EXTM3U", 0, "HLS playlist", "video", 0.6),
    (b"\x00\x00\x00\x01\x67", 0, "H.264 Annex-B stream (SPS)", "video", 0.85),
    (b"\x00\x00\x00\x01\x40\x01", 0, "H.265 Annex-B stream (VPS)", "video", 0.85),
    (b"\xff\xd8\xff", 0, "JPEG image", "video", 0.7),
    (b"# .PCD", 0, "PCD point cloud", "mapping", 0.95),
    (b"VERSION 0.7\nFIELDS", 0, "PCD point cloud", "mapping", 0.95),
    (b"LASF", 0, "LAS/LAZ point cloud", "mapping", 0.9),
    (b"ply\n", 0, "PLY point cloud/mesh", "mapping", 0.85),
    (b"ply\r\n", 0, "PLY point cloud/mesh", "mapping", 0.85),
    (b"DRACO", 0, "Draco point cloud/mesh", "mapping", 0.9),
    (b"\x89MCAP0\r\n", 0, "MCAP log (ROS 2/Foxglove)", "mapping", 0.95),
    (b"#ROSBAG V2.0\n", 0, "ROS 1 bag", "mapping", 0.95),
    (b"SQLite format 3\x00", 0, "SQLite database (ROS 2 bag?)", "mapping", 0.4),
)
TS_PACKET = 188
RTSP_PUSH = re.compile(rb"^(ANNOUNCE|RECORD) (rtsps?://\S+) RTSP/\d\.\d")
RTPMAP = re.compile(rb"a=rtpmap:\d+ ([A-Za-z0-9.\-]+)/")
RTMP_PUBLISH = b"\x02\x00\x07publish"


def containers(data: bytes, where: str) -> list[Match]:
    """Container and file formats starting at data[0]."""
    for magic, offset, what, category, confidence in MAGICS:
        if data[offset : offset + len(magic)] == magic:
            return [Match(category, "file", what, confidence, evidence={"found_in": where})]
    if (len(data) > 2 * TS_PACKET and data[0] == data[TS_PACKET] == data[2 * TS_PACKET] == 0x47
            and not data[:8].isascii()):  # "GET /..." also starts with 0x47
        return [Match("video", "file", "MPEG transport stream", 0.8, evidence={"found_in": where})]
    return []


def rtsp(payload: bytes) -> list[Match]:
    m = RTSP_PUSH.match(payload)
    if not m:
        return []
    codecs = sorted({c.decode("ascii", "replace") for c in RTPMAP.findall(payload)})
    video = b"m=video" in payload or m.group(1) == b"RECORD"
    return [Match("video", "rtsp", f"RTSP {m.group(1).decode()} (push)", 0.9 if video else 0.6,
                  evidence={"url": m.group(2).decode("ascii", "replace"), "codecs": codecs})]


def rtmp(payload: bytes) -> list[Match]:
    at = payload.find(RTMP_PUBLISH)
    if at >= 0:
        name = payload[at + 10 + 3 : at + 10 + 3 + u16(payload, at + 11)] if payload[at + 10:at + 11] == b"\x02" else b""
        return [Match("video", "rtmp", "RTMP publish", 0.95,
                      evidence={"stream": name.decode("ascii", "replace")} if name else {})]
    # C0+C1 is 1537 bytes, more than one segment at a 1460 MSS: the first segment is enough.
    if payload[:1] == b"\x03" and len(payload) >= 1200 and payload[5:9] == b"\x00\x00\x00\x00":
        return [Match("video", "rtmp", "RTMP handshake (C0+C1)", 0.5)]
    return []


def dualcam(payload: bytes) -> list[Match]:
    """Teltonika DualCam: init 0000 + u16 protocol + u64 IMEI + u32 settings; data 0004 + u16 len."""
    command = u16(payload, 0)
    if command == 0x0000 and len(payload) == 16:
        imei = str(int.from_bytes(payload[4:12], "big"))
        if len(imei) == 15:
            return [Match("video", "dualcam", "Teltonika DualCam file transfer (init)", 0.8, identity={"imei": imei})]
    if command == 0x0004 and payload[4:7] == b"\xff\xd8\xff":
        return [Match("video", "dualcam", "Teltonika DualCam image data", 0.9)]
    return []
