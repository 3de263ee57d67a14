"""Layer 1: wire signatures of known formats in plaintext payloads (see wire/).

Vectorized selection first: only payloads whose first byte can open a known format reach
Python, and a flow that has shown nothing after ``max_scan_packets`` payloads stops being
scanned (counted). TCP is read as reassembled (``view.stream``), never as raw segments, so
a frame split into one-byte segments sent out of order is read whole. A message start that
did not match is held (16 KiB at most) and grows with the stream's next bytes; it is scanned
again only when the held bytes have doubled since its last scan, or (within RESCAN_BUDGET
bytes per message) when the sender marks a write boundary (PSH) or the new bytes end a line
or a 0x7E frame. A held message thus costs at most 2x its length plus 16 KiB in rescans,
whatever the segmentation (one full rescan per segment made a 16 KB head cost 11 rescans at
1,400 bytes a segment and 16,000 at one byte). UDP flows are also followed for RTP (one SSRC, sequential numbers) and
WebRTC (STUN, then DTLS on the same flow). Uplink payloads count; downlink ones only for the
commands that send video somewhere (JT/T 1078 0x9101/0x9201/0x9206/0x9208).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..net.view import NetView
from .base import Detector
from .finding import Finding
from .memory import FlowMemory, Repeats, forgotten
from .wire.match import Match
from .wire.scan import FIRST_BYTES, scan_payload

MAX_HELD_BYTES = 16_384  # a message start held for the stream's next bytes: at most this long
RESCAN_BUDGET = MAX_HELD_BYTES  # bytes one held message may cost in rescans on a hint
MESSAGE_ENDS = frozenset(b"\n\x7e")  # the last byte of text lines, HTTP heads and 0x7E-framed reports
PSH = 0x08
UDP_FIRST = np.zeros(256, dtype=bool)
UDP_FIRST[[0x00, 0x01, 0x16]] = True  # STUN, DTLS
UDP_FIRST[0x80:0xC0] = True  # RTP/SRTP
RTP_VIDEO_PT = set(range(96, 128)) | {26, 32, 33, 34}  # dynamic, JPEG, MPV, MP2T, H.263
VIDEO_RTP_MIN_BYTES = 400  # mean packet size below which an RTP stream without video NAL units is audio
H264_TYPES = {1: "non-IDR slice", 5: "IDR slice", 7: "SPS", 8: "PPS", 24: "STAP-A", 28: "FU-A"}
H265_TYPES = {1: "slice", 19: "IDR", 20: "IDR", 21: "CRA", 32: "VPS", 33: "SPS", 34: "PPS", 48: "AP", 49: "FU"}


@dataclass(frozen=True)
class WireThresholds:
    repeat_s: float = 60.0  # findings without a position: one per flow and signature per this long; the rest counted
    max_scan_packets: int = 64  # payloads scanned per flow after its last match before giving up
    rtp_min_packets: int = 10  # packets of one SSRC with sequential numbers before calling a flow RTP


class WireSignatures(Detector):
    name = "wire"
    sections: ClassVar[dict[str, type]] = {"wire": WireThresholds}

    def configure(self, thresholds) -> None:
        self.t = thresholds.wire
        self.budget: FlowMemory[int] = FlowMemory()
        self.udp: FlowMemory[dict] = FlowMemory()
        self.repeats = Repeats(self.t.repeat_s)  # per (flow_id, protocol, seen)
        self.counts: Counter = Counter()
        self.parser_errors: Counter = Counter()
        self.pending: FlowMemory[_Held] = FlowMemory(limit=4096)  # (flow, outbound) -> a held message start

    def on_net(self, view: NetView, state) -> list[Finding]:
        has = view.length > 0
        first = view.data[np.where(has, view.start, 0)]
        wanted = has & view.udp & (view.outbound | view.inbound) & (FIRST_BYTES[first] | UDP_FIRST[first])
        # TCP rows that brought in-order bytes opening a message or continuing a held one
        rows, opening = view.stream_rows()
        if len(rows):
            flows = np.union1d(view.flow_id[rows[FIRST_BYTES[opening]]], np.fromiter({k[0] for k in self.pending}, np.int64))
            wanted[rows[np.isin(view.flow_id[rows], flows)]] = True
            wanted &= view.outbound | view.inbound
        found: list[Finding] = []
        described: dict[int, tuple[dict, list[str]]] = {}
        for i in np.flatnonzero(wanted).tolist():
            fid = int(view.flow_id[i])
            left = self.budget.get(fid, self.t.max_scan_packets)
            if left <= 0:
                self.counts["payloads_not_scanned_budget"] += 1
                continue
            payload, matches = self._scan(view, i, fid)
            if payload is None:
                continue
            if view.udp[i]:
                matches += self._udp_media(fid, payload)
            # Downlinks count too where they tell where video goes or control the vehicle.
            matches = [m for m in matches if view.outbound[i] or "video_destination" in m.evidence or m.category == "remote"]
            self.budget.remember(fid, self.t.max_scan_packets if matches else left - 1)
            for match in matches:
                # A decoded position is never held back: the alert log keeps every one (episodes).
                if not match.positions and self._throttled(fid, match, float(view.ts[i])):
                    continue
                slot = int(view.slot[i])
                if slot not in described:
                    described[slot] = view.describe_slot(slot)
                found.append(self._finding(match, float(view.ts[i]), *described[slot]))
        return found

    def _scan(self, view: NetView, i: int, fid: int) -> tuple[bytes | None, list[Match]]:
        """Scan row ``i``: a UDP payload, or the in-order TCP bytes it brought, after the message
        start held for its direction (a JSON body or telematics frame split by TCP) when that is
        due, and on their own where they open a message. Returns what was scanned last (None:
        nothing) and the matches; an unmatched TCP message start is held."""
        if view.udp[i]:
            payload = view.payload(i)
            self.counts["payloads_scanned"] += 1
            self.counts["bytes_scanned"] += len(payload)
            return payload, scan_payload(payload, self.parser_errors)
        chunk, key = view.stream(i), (fid, bool(view.outbound[i]))
        scanned, matches = self._continue(key, chunk, bool(view.tcp_flags[i] & PSH) if view.tcp_flags is not None else False)
        if matches or not FIRST_BYTES[chunk[0]]:
            return scanned, matches
        self.counts["payloads_scanned"] += 1
        self.counts["bytes_scanned"] += len(chunk)
        matches = scan_payload(chunk, self.parser_errors)
        if matches:
            self.pending.pop(key, None)  # a message of its own: what was held before it was not one we know
        elif key in self.pending:
            pass  # the held start goes on growing with these bytes
        elif len(chunk) <= MAX_HELD_BYTES:
            self.pending.remember(key, _Held(bytearray(chunk), len(chunk)))
        else:
            self.counts["held_too_long"] += 1
        return chunk, matches

    def _continue(self, key: tuple, chunk: bytes, psh: bool) -> tuple[bytes | None, list[Match]]:
        """Add the stream's next bytes to the message start held for key; scan it when due."""
        held = self.pending.get(key)
        if held is None:
            return None, []
        held.data += chunk
        if len(held.data) > MAX_HELD_BYTES:
            self.counts["held_too_long"] += 1
            del self.pending[key]
            return None, []
        if not self._due(held, psh or chunk[-1] in MESSAGE_ENDS):
            return None, []
        self.counts["held_rescans"] += 1
        payload = bytes(held.data)
        self.counts["bytes_scanned"] += len(payload)
        held.scanned = len(payload)
        matches = scan_payload(payload, self.parser_errors)
        if matches:
            del self.pending[key]
        return payload, matches

    def _due(self, held: _Held, hinted: bool) -> bool:
        if len(held.data) >= 2 * held.scanned:  # doubling: the rescans of one message sum to 2x its size
            return True
        if hinted and held.spent + len(held.data) <= RESCAN_BUDGET:
            held.spent += len(held.data)
            return True
        if hinted:
            self.counts["held_rescans_over_budget"] += 1
        return False

    def _throttled(self, fid: int, match: Match, ts: float) -> bool:
        repeats = self.repeats.due((fid, match.protocol, match.seen), ts)
        if repeats is None:
            return True
        match.evidence["repeats_since_last"] = repeats
        return False

    def _finding(self, match: Match, ts: float, flow: dict, names: list[str]) -> Finding:
        position = next((p for p in match.positions if p.plausible), match.positions[0] if match.positions else None)
        evidence = {**match.evidence, "protocol": match.protocol}
        if match.identity:
            evidence["identity"] = match.identity
        return Finding(ts, f"wire.{match.protocol}", match.category, match.seen, match.confidence,
                       flow=flow, names=names, position=position, evidence=evidence,
                       track=list(match.positions) if len(match.positions) > 1 else [])

    def _udp_media(self, fid: int, p: bytes) -> list[Match]:
        st = self.udp.get(fid) or self.udp.remember(fid, {"count": 0})
        if st.get("done") or len(p) < 12:
            return []
        if p[0] in (0, 1) and p[4:8] == b"\x21\x12\xa4\x42":
            st["stun"] = True
        elif p[0] == 0x16 and p[1:3] in (b"\xfe\xfd", b"\xfe\xff"):
            if st.get("stun"):
                st["done"] = True
                return [Match("video", "webrtc", "WebRTC media session (STUN, then DTLS-SRTP)", 0.55)]
        elif p[0] & 0xC0 == 0x80:
            return self._rtp(st, p)
        return []

    def _rtp(self, st: dict, p: bytes) -> list[Match]:
        pt, seq, ssrc = p[1] & 0x7F, int.from_bytes(p[2:4], "big"), p[8:12]
        if pt not in RTP_VIDEO_PT:
            return []
        step = (seq - st.get("seq", seq - 1)) & 0xFFFF
        st["count"] = st["count"] + 1 if ssrc == st.get("ssrc") and 1 <= step <= 16 else 1
        st["ssrc"], st["seq"] = ssrc, seq
        header = 12 + 4 * (p[0] & 0x0F)
        if p[0] & 0x10 and len(p) >= header + 4:  # header extension
            header += 4 + 4 * int.from_bytes(p[header + 2 : header + 4], "big")
        if header < len(p):
            st.setdefault("nal", Counter())[p[header]] += 1
        st["bytes"] = st.get("bytes", 0) + len(p)
        if st["count"] < self.t.rtp_min_packets:
            return []
        st["done"] = True
        codec, confidence = _codec(st.get("nal", Counter()))
        if not codec and st["bytes"] / st["count"] < VIDEO_RTP_MIN_BYTES:
            self.counts["rtp_audio_like_flows"] += 1  # small packets, no video NAL units: a voice stream
            return []
        srtp = " (SRTP: payload encrypted)" if st.get("stun") else ""
        return [Match("video", "rtp", f"RTP stream, payload type {pt}{codec}{srtp}", confidence,
                      evidence={"payload_type": pt, "ssrc": ssrc.hex(), "packets": st["count"]})]

    def stats(self) -> dict:
        counts = {**(self.counts + self.repeats.suppressed),
                  **forgotten(scan_budget=self.budget, udp=self.udp, held_streams=self.pending)}
        return {**counts, "parser_errors": dict(self.parser_errors)} if counts else {}


@dataclass
class _Held:
    """An unmatched message start, the length it had when last scanned, and the bytes its
    rescans on a hint have cost."""

    data: bytearray
    scanned: int
    spent: int = 0


def _codec(first_bytes: Counter) -> tuple[str, float]:
    """H.264 or H.265 from the first payload byte of the packets seen, if they look like NAL units."""
    total = sum(first_bytes.values()) or 1
    h264 = sum(n for b, n in first_bytes.items() if not b & 0x80 and (b & 0x1F) in H264_TYPES)
    h265 = sum(n for b, n in first_bytes.items() if not b & 0x80 and ((b >> 1) & 0x3F) in H265_TYPES)
    if h264 >= 0.8 * total and any((b & 0x1F) in (5, 7, 28) for b in first_bytes):
        return ", H.264 NAL units", 0.85
    if h265 >= 0.8 * total:
        return ", H.265 NAL units", 0.8
    return "", 0.6
