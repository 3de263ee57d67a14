"""Layer 2: CAN-to-network taint. The gateway knows where the vehicle is and its VIN from the
CAN bus; an outbound payload that carries those values leaks them, whatever the protocol.

The batch's uplink bytes are joined into buffers (zero gaps between packets and flows) and
every encoding is tested at every offset at once with numpy. TCP is read as its receiver reads
it: the in-order stream reassembly hands out (``NetView.stream_chunks``), each flow's bytes of
the batch after the last bytes it sent before, so a value cut into one-byte segments, sent last
first, or faked by a segment the receiver drops (bad checksum) is read as delivered; UDP, ICMP
and TCP past its reassembly depth as their own payloads (``NetView.own_payload``). Encodings: int32 x1e6 / x1e7 (signed, or
magnitude with a hemisphere flag) and float32 / float64 in both byte orders, the J1939 offset
encoding (x1e-7 - 210), decimal text and NMEA ddmm.mmmm. A hit needs a latitude and a
longitude of the same CAN position, close together in the same packet.

How close a value must be, and to which positions, is computed so that random bytes (ciphertext)
match less than ``taintrate.BUDGET_PER_GB`` (0.001) times per GB (see ``taintscan``): every recent
CAN position is a point, the positions current while the batch's packets left also a segment
to the next sample (the newest by its speed x age), each widened by the encoding's resolution
(text: the digits written, and the CAN signal's own resolution); a lone pair (longitude
adjacent, or up to 12 bytes away) may match the positions the budget affords, the current ones
first; the others need a second pair of the same encoding nearby. Each binary finding names its rule
(``match_rule``) and that rule's expected random matches per GB
(``expected_random_matches_per_gb``); the detector's stats sum what the bytes it searched should
have produced by chance (``expected_random_positions``). Before this, a fixed 0.0005 degree box
around 512 positions with a longitude anywhere within 32 bytes matched encrypted video about
once per 70 MB.

A magnitude encoding (JT/T 808's: hemisphere in status flags elsewhere) matches on absolute
values and is recorded with the signs of the CAN position it matched, never as the bare
magnitude (that would move a vehicle in Peru to Pakistan). Longitudes compare the short way
round, so a vehicle on the antimeridian matches 180 E and 180 W alike.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import native
from ..net.view import NetView
from ..state import VehicleState
from .base import Detector
from .finding import Finding, Position
from .memory import FlowMemory, Repeats, forgotten
from .taintmemo import RuleMemo
from .taintrate import text_rate_per_gb
from .taintscan import Hit, Plan, Segments, segments, text_match
from .wire.text import degrees_minutes

GAP = 8  # zero bytes between joined payloads: no value straddles two packets
TEXT_NEAR = 64
DIGIT = np.zeros(256, bool)
DIGIT[0x30:0x3A] = True
DECIMAL = re.compile(rb"-?\d{1,3}\.\d{4,}")
NMEA_DM = re.compile(rb"(\d{4,5}\.\d{2,}),([NSEW])")
LOOKAHEAD_S = 1.0  # CAN positions read after a packet still bracket what it sent (replay has them)
WINDOW_BEFORE, WINDOW_AFTER = 12, 48  # bytes of text read around a decimal point
MAX_CANDIDATES = 4096  # latitude-like values per buffer and encoding examined (a hostile payload full of them)
STREAM_TAIL = 128  # bytes of a TCP stream kept for the next batch: a pair and its text fit (taintscan.MAX_GAP, TEXT_NEAR)


@dataclass(frozen=True)
class TaintThresholds:
    # the most a position's own change (to the next sample, or the newest's step times its age) may
    # widen what it matches, in degrees of latitude (longitude: over cos(latitude), bounded at 89 deg)
    position_tolerance_deg: float = 0.0005
    history_s: float = 300.0  # positions this old still count (batched uploads send the past)
    vin: bool = True


class Taint(Detector):
    name = "taint"
    sections: ClassVar[dict[str, type]] = {"taint": TaintThresholds}

    def configure(self, thresholds) -> None:
        self.t = thresholds.taint
        self.repeat_s = thresholds.wire.repeat_s
        self.repeats = Repeats(self.repeat_s)  # per (flow_id, encoding)
        self.counts: Counter = Counter()
        self.expected = 0.0  # random position matches the plans predicted for the bytes searched
        self.tails: FlowMemory[tuple[bytes, int]] = FlowMemory(limit=4096)  # flow id -> (last bytes, stream bytes read)
        self.memo = RuleMemo()  # the plan's per-position values, from one batch to the next

    def on_net(self, view: NetView, state: VehicleState) -> list[Finding]:
        raw = np.flatnonzero(view.outbound & view.own_payload() & (view.length >= 8))
        stream_rows, stream_bytes = view.stream_chunks()
        keep = view.outbound[stream_rows]
        stream_rows, stream_bytes = stream_rows[keep], list(itertools.compress(stream_bytes, keep.tolist()))
        if (not len(raw) and not len(stream_rows)) or (not state.vin and not state.series):
            return []
        times = view.ts[np.concatenate([raw, stream_rows])]
        t0, t1 = float(times.min()), float(times.max())
        ts, lats, lons = state.positions(t0 - self.t.history_s, t1 + LOOKAHEAD_S)
        plan = Plan(segments(ts, lats, lons, t0, t1, self.t.position_tolerance_deg), self.memo)
        vin = state.vin if self.t.vin else None
        if not len(plan.seg) and not vin:
            return []
        found: list[Finding] = []
        for chunk in _chunks(view.length[raw]) if len(raw) else ():  # bounded buffers: the encodings cost ~100 bytes per byte
            buf, starts = _join(view, raw[chunk])
            found += self._search(view, buf, _Place(raw[chunk], starts), plan, vin, state)
        for buf, place in self._stream_buffers(view, stream_rows, stream_bytes):
            found += self._search(view, buf, place, plan, vin, state)
        self.counts.update(plan.counts)
        return found

    def _search(self, view: NetView, buf: bytes, place: _Place, plan: Plan, vin, state: VehicleState) -> list[Finding]:
        hits = position_hits(buf, plan)
        if vin:
            hits += _vin_hits(buf, vin)
        self.counts["payload_bytes_searched"] += len(buf)
        self.expected += plan.rate_per_gb() * len(buf) / 1e9
        hits = [hit for hit in hits if place.fresh(hit)]
        return [f for f in (self._finding(view, place, hit, state) for hit in _one_per_packet(hits, place)) if f]

    def _stream_buffers(self, view: NetView, rows: np.ndarray, chunks: list[bytes]):
        """The in-order TCP bytes of the batch, each flow's after the last STREAM_TAIL bytes it
        sent before (a value one segment or batch cut in two is read whole: one byte per segment
        hides nothing), flows joined GAP apart into buffers of about 1 MiB."""
        by_flow: dict[int, list[int]] = {}
        for k, fid in enumerate(view.flow_id[rows].tolist()):
            by_flow.setdefault(fid, []).append(k)
        parts: list[bytes] = []
        place, size = _Place.empty(), 0
        for fid, ks in by_flow.items():
            tail, before = self.tails.get(fid, (b"", 0))
            flow = b"".join([tail, *(chunks[k] for k in ks)])
            lengths = np.array([len(tail) + len(chunks[ks[0]])] + [len(chunks[k]) for k in ks[1:]], np.int64)
            place.add(rows[ks], size + np.concatenate(([0], np.cumsum(lengths)[:-1])), size + len(tail), before - len(tail) - size)
            self.tails.remember(fid, (flow[-STREAM_TAIL:], before + len(flow) - len(tail)))
            parts.append(flow)
            size += len(flow) + GAP
            if size >= 1 << 20:
                yield bytes(GAP).join(parts), place
                parts, place, size = [], _Place.empty(), 0
        if parts:
            yield bytes(GAP).join(parts), place

    def _finding(self, view: NetView, place: _Place, hit, state: VehicleState) -> Finding | None:
        offset, encoding, position = hit.at, hit.encoding, hit.position
        packet = place.packet(hit)
        i = int(place.rows[packet])
        fid, ts = int(view.flow_id[i]), float(view.ts[i])
        if position is None and self.repeats.due((fid, encoding), ts) is None:
            return None  # a VIN repeat is counted; a position is always reported (the log keeps every one)
        flow, names = view.describe(int(i))
        evidence = {"encoding": encoding, **place.where(packet, offset)}
        if position is None:
            evidence["can_signal"] = state.vin_source
            return Finding(ts, "taint.vin", "identity", f"vehicle VIN from CAN in an outbound payload ({encoding})",
                           0.9, flow=flow, names=names, evidence=evidence)
        evidence["can_signal"] = state.position_source()
        evidence["match_rule"] = hit.rule
        evidence["expected_random_matches_per_gb"] = hit.rate_per_gb
        confidence = 0.9 if encoding in ("decimal text", "NMEA ddmm.mmmm") else 0.8
        return Finding(ts, "taint.position", "geolocation",
                       f"vehicle position from CAN in an outbound payload ({encoding})", confidence,
                       flow=flow, names=names, position=position, evidence=evidence)

    def stats(self) -> dict:
        expected = {"expected_random_positions": float(f"{self.expected:.3g}")} if self.expected else {}
        return dict(self.counts + self.repeats.suppressed) | expected | forgotten(stream_tail=self.tails)


def position_hits(buf: bytes, plan: Plan) -> list[Hit]:
    """Every position of the plan's track a buffer carries, binary and text (lab/noise.py runs
    random payload through this)."""
    if not len(plan.seg):
        return []
    return plan.hits(buf) + _text_hits(buf, plan.seg, plan.counts)


class _Place:
    """Where a buffer's bytes came from: the row each stretch starts with. A payload buffer
    (``stream`` None) names a hit's packet by its first byte; a stream buffer by the row that
    brought its last byte, leaves out hits that lie wholly in a flow's tail (read with the
    batch before), and gives offsets in the flow's stream (``stream``: buffer offset -> stream
    offset, per row)."""

    def __init__(self, rows: np.ndarray, starts: np.ndarray, fresh: np.ndarray | None = None,
                 stream: np.ndarray | None = None) -> None:
        self.rows, self.starts, self.fresh_from, self.stream = rows, starts, fresh, stream

    @staticmethod
    def empty() -> _Place:
        return _Place(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def add(self, rows: np.ndarray, starts: np.ndarray, fresh: int, shift: int) -> None:
        self.rows, self.starts = np.concatenate([self.rows, rows]), np.concatenate([self.starts, starts])
        self.fresh_from = np.concatenate([self.fresh_from, np.full(len(rows), fresh, np.int64)])
        self.stream = np.concatenate([self.stream, np.full(len(rows), shift, np.int64)])

    def packet(self, hit) -> int:
        at = hit[0] if self.stream is None else hit[3] - 1
        return int(np.searchsorted(self.starts, at, side="right")) - 1

    def fresh(self, hit) -> bool:
        return self.stream is None or hit[3] > self.fresh_from[self.packet(hit)]

    def where(self, packet: int, offset: int) -> dict:
        if self.stream is None:
            return {"offset": int(offset - self.starts[packet])}
        return {"stream_offset": int(offset + self.stream[packet])}


def _one_per_packet(hits: list, place: _Place) -> list:
    """The first hit of each encoding in each packet (a batched upload of many fixes is one finding
    per packet, with its first position)."""
    seen, out = set(), []
    for hit in sorted(hits, key=lambda h: h[0]):
        key = (place.packet(hit), hit[1])
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def _chunks(lengths: np.ndarray, limit: int = 1 << 20):
    """Slices of consecutive rows whose payloads add up to about ``limit`` bytes."""
    group = (np.cumsum(lengths + GAP) - 1) // limit
    bounds = np.flatnonzero(np.diff(group)) + 1
    edges = np.concatenate(([0], bounds, [len(lengths)]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _join(view: NetView, rows: np.ndarray) -> tuple[bytes, np.ndarray]:
    lengths = view.length[rows] + GAP
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    total = int(lengths.sum())
    index = np.arange(total) - np.repeat(starts, lengths) + np.repeat(view.start[rows], lengths)
    keep = (np.arange(total) - np.repeat(starts, lengths)) < np.repeat(view.length[rows], lengths)
    buf = np.where(keep, view.data[np.where(keep, index, 0)], 0).astype(np.uint8)
    return buf.tobytes(), starts


def _text_windows(buf: bytes) -> list[tuple[int, int]]:
    """Where decimal text can be: around each '.' with a digit before it and two after, merged.
    Ciphertext and binary data hold almost none, so the regular expressions read little of them."""
    core = native.kernels
    if core is not None:
        return _text_windows_native(core, buf)
    b = np.frombuffer(buf, np.uint8)
    if len(b) < 4:
        return []
    dots = np.flatnonzero(b[1:-2] == 0x2E) + 1  # the digits are tested at the dots only (1 byte in 256 of ciphertext)
    digit = DIGIT[b[np.concatenate([dots - 1, dots + 1, dots + 2])]].reshape(3, -1)
    dots = dots[digit.all(0)]
    if not len(dots):
        return []
    starts, ends = np.maximum(dots - WINDOW_BEFORE, 0), np.minimum(dots + WINDOW_AFTER, len(b))
    first = np.flatnonzero(np.concatenate(([True], starts[1:] > ends[:-1])))
    last = np.concatenate((first[1:] - 1, [len(dots) - 1]))
    return list(zip(starts[first].tolist(), ends[last].tolist(), strict=True))


def _text_windows_native(core, buf: bytes) -> list[tuple[int, int]]:
    """As ``_text_windows``, one memchr pass in C (native/src/gw_taintscan.c); a buffer of more
    windows than the first guess (text, or a hostile payload of dots) gets a second pass."""
    room = len(buf) // 4096 + 64
    starts, ends = np.empty(room, np.int64), np.empty(room, np.int64)
    n = core.taint_text_windows(buf, WINDOW_BEFORE, WINDOW_AFTER, starts, ends)
    if n > room:
        starts, ends = np.empty(n, np.int64), np.empty(n, np.int64)
        n = core.taint_text_windows(buf, WINDOW_BEFORE, WINDOW_AFTER, starts, ends)
    return list(zip(starts[:n].tolist(), ends[:n].tolist(), strict=True))


def _text_hits(buf: bytes, seg: Segments, counts: dict | None = None) -> list[Hit]:
    """Decimal text and NMEA, each number with the resolution its digits give it; past
    MAX_CANDIDATES numbers of a kind in one buffer the rest are counted (``text_over_limit``)."""
    windows = _text_windows(buf)
    numbers = _bounded([(m.start(), float(m.group()), 10.0 ** -len(m.group().split(b".")[1]))
                        for at, end in windows for m in DECIMAL.finditer(buf, at, end)], counts)
    out = [Hit(at, "decimal text", position, end, "text", rate)
           for at, position, end, rate in _text_pairs(numbers, numbers, seg)]
    dm = _bounded([(m.start(), m.group(1), m.group(2)) for at, end in windows for m in NMEA_DM.finditer(buf, at, end)], counts)
    minutes = [(at, text, h, 10.0 ** -len(text.split(b".")[1]) / 60) for at, text, h in dm]
    lat_dm = [(at, degrees_minutes(text.decode(), h.decode(), "S", 2), r) for at, text, h, r in minutes if h in (b"N", b"S")]
    lon_dm = [(at, degrees_minutes(text.decode(), h.decode(), "W", 3), r) for at, text, h, r in minutes if h in (b"E", b"W")]
    out += [Hit(at, "NMEA ddmm.mmmm", position, end, "text", rate)
            for at, position, end, rate in _text_pairs(lat_dm, lon_dm, seg)]
    return out


def _bounded(items: list, counts: dict | None) -> list:
    if len(items) > MAX_CANDIDATES and counts is not None:
        counts["text_over_limit"] = counts.get("text_over_limit", 0) + len(items) - MAX_CANDIDATES
    return items[:MAX_CANDIDATES]


def _text_pairs(lat_candidates, lon_candidates, seg: Segments) -> list[tuple[int, Position, int, float]]:
    """Every latitude with a longitude of the same position within TEXT_NEAR bytes, the nearest one
    first (so a pair never reaches into the packet before); the latitude's offset names the packet.
    Each with where the pair ends (past the later number's first character) and the rule's rate."""
    found = []
    lon_at = np.array([at for at, _, _ in lon_candidates], dtype=np.int64)
    low = np.minimum(seg.lat, seg.lat + seg.dlat) - seg.margin - seg.quantum
    high = np.maximum(seg.lat, seg.lat + seg.dlat) + seg.margin + seg.quantum
    rate = text_rate_per_gb(len(seg), TEXT_NEAR)
    for at, lat, r in lat_candidates:
        if not ((lat >= low - r) & (lat <= high + r)).any():
            continue
        near = np.flatnonzero((np.abs(lon_at - at) <= TEXT_NEAR) & (lon_at != at))
        for k in near[np.argsort(np.abs(lon_at[near] - at), kind="stable")].tolist():
            lon, r_lon = lon_candidates[k][1], lon_candidates[k][2]
            if text_match(seg, lat, lon, max(r, r_lon)) is not None:
                found.append((at, Position(lat, lon), max(at, int(lon_at[k])) + 1, rate))
                break
    return found


def _vin_hits(buf: bytes, vin: str) -> list[Hit]:
    """Every place the VIN is (each packet's and each flow's, not only the buffer's first), at most
    MAX_CANDIDATES per encoding."""
    out = []
    for encoding, needle in (("ASCII", vin.encode()), ("UTF-16LE", vin.encode("utf-16-le")),
                             ("hex text", vin.encode().hex().encode())):
        at = buf.find(needle)
        for _ in range(MAX_CANDIDATES):
            if at < 0:
                break
            out.append(Hit(at, encoding, None, at + len(needle)))
            at = buf.find(needle, at + 1)
    return out
