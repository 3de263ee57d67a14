"""JT/T 1078 audio/video stream packets and T/JSATL12 ("Su-biao") attachment file streams,
both opening with the frame header ``30 31 63 64`` ("01cd")."""

from __future__ import annotations

from .match import Match, bcd, each_frame, u16

MAGIC = b"01cd"
VIDEO_PT = {98: "H.264", 99: "H.265", 100: "AVS", 101: "SVAC"}
AUDIO_PT = {6: "G.711A", 7: "G.711U", 8: "G.726", 19: "AAC", 26: "ADPCM", 28: "AMR"}
DATA_TYPES = ("I-frame", "P-frame", "B-frame", "audio", "pass-through")


def parse(payload: bytes) -> list[Match]:
    return each_frame(payload, (MAGIC,), _packet)


def _packet(p: bytes) -> Match | None:
    if len(p) < 30:
        return None
    if p[4] in (0x80, 0x81):
        pt = p[5] & 0x7F
        sim10 = p[8:10] != b"\x00\x00" and len(p) >= 34  # 2019 terminals: BCD[10] SIM
        shift = 4 if sim10 else 0
        kind = p[15 + shift] >> 4
        codec = VIDEO_PT.get(pt) or AUDIO_PT.get(pt) or f"PT {pt}"
        what = DATA_TYPES[kind] if kind < len(DATA_TYPES) else f"type {kind}"
        body_at = 30 + shift - (8 if kind == 4 else 0) - (4 if kind >= 3 else 0)
        body_len = u16(p, body_at - 2)
        known = pt in VIDEO_PT or pt in AUDIO_PT
        return Match("video", "jt1078", f"jt1078 media stream ({codec} {what})", 0.95 if known else 0.7,
                     [], {"sim": bcd(p[8 : 14 + shift]).lstrip("0") or "0"},
                     {"payload_type": pt, "channel": p[14 + shift], "sequence": u16(p, 6),
                      "body_length": body_len, "length_ok": body_at + body_len <= len(p)})
    name = p[4:54].rstrip(b"\x00")
    if name and all(32 <= b < 127 for b in name) and b"." in name:
        return Match("video", "jsatl12", "T/JSATL12 alarm attachment file stream", 0.85, [],
                     {}, {"file_name": name.decode("ascii")})
    return None
