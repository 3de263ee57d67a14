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
longitude of the same recent CAN position, close together in the same packet.

A magnitude encoding (JT/T 808's: hemisphere in status flags elsewhere) matches on absolute
values and is recorded with the signs of the CAN position it matched, never as the bare
magnitude (that would move a vehicle in Peru to Pakistan). Longitudes compare the short way
round, so a vehicle on the antimeridian matches 180 E and 180 W alike.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..net.view import NetView
from ..state import VehicleState
from .base import Detector
from .finding import Finding, Position
from .geo import lon_delta
from .memory import FlowMemory, Repeats, forgotten
from .wire.text import degrees_minutes

GAP = 8  # zero bytes between joined payloads: no value straddles two packets
BINARY_NEAR = 32  # bytes between a latitude and its longitude
TEXT_NEAR = 64
DECIMAL = re.compile(rb"-?\d{1,3}\.\d{4,}")
NMEA_DM = re.compile(rb"(\d{4,5}\.\d{2,}),([NSEW])")
MAX_POSITIONS = 512
WINDOW_BEFORE, WINDOW_AFTER = 12, 48  # bytes of text read around a decimal point
MAX_CANDIDATES = 4096  # latitude-like values per buffer and encoding examined (a hostile payload full of them)
STREAM_TAIL = 128  # bytes of a TCP stream kept for the next batch: a pair and its text fit (BINARY_NEAR, TEXT_NEAR)


@dataclass(frozen=True)
class TaintThresholds:
    position_tolerance_deg: float = 0.0005  # about 50 m: GNSS jitter between the CAN read and the send
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
        self.tails: FlowMemory[tuple[bytes, int]] = FlowMemory(limit=4096)  # flow id -> (last bytes, stream bytes read)

    def on_net(self, view: NetView, state: VehicleState) -> list[Finding]:
        raw = np.flatnonzero(view.outbound & view.own_payload() & (view.length >= 8))
        stream_rows, stream_bytes = view.stream_chunks()
        keep = view.outbound[stream_rows]
        stream_rows, stream_bytes = stream_rows[keep], list(itertools.compress(stream_bytes, keep.tolist()))
        if (not len(raw) and not len(stream_rows)) or (not state.vin and not state.series):
            return []
        times = view.ts[np.concatenate([raw, stream_rows])]
        _, lats, lons = state.positions(float(times.min()) - self.t.history_s, float(times.max()))
        if len(lats):
            lats, lons = _unique_recent(lats, lons)
        vin = state.vin if self.t.vin else None
        if not len(lats) and not vin:
            return []
        found: list[Finding] = []
        for chunk in _chunks(view.length[raw]) if len(raw) else ():  # bounded buffers: the encodings cost ~100 bytes per byte
            buf, starts = _join(view, raw[chunk])
            found += self._search(view, buf, _Place(raw[chunk], starts), lats, lons, vin, state)
        for buf, place in self._stream_buffers(view, stream_rows, stream_bytes):
            found += self._search(view, buf, place, lats, lons, vin, state)
        return found

    def _search(self, view: NetView, buf: bytes, place: _Place, lats, lons, vin, state: VehicleState) -> list[Finding]:
        hits = []
        if len(lats):
            hits += _binary_hits(buf, lats, lons, self.t.position_tolerance_deg)
            hits += _text_hits(buf, lats, lons, self.t.position_tolerance_deg)
        if vin:
            hits += _vin_hits(buf, vin)
        self.counts["payload_bytes_searched"] += len(buf)
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
        offset, encoding, position, _ = hit
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
        confidence = 0.9 if encoding in ("decimal text", "NMEA ddmm.mmmm") else 0.8
        return Finding(ts, "taint.position", "geolocation",
                       f"vehicle position from CAN in an outbound payload ({encoding})", confidence,
                       flow=flow, names=names, position=position, evidence=evidence)

    def stats(self) -> dict:
        return dict(self.counts + self.repeats.suppressed) | forgotten(stream_tail=self.tails)


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


def _unique_recent(lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most recent distinct positions, at most MAX_POSITIONS (inputs are in time order).
    Not np.unique's sorted order: that would keep the northernmost fixes, not the latest."""
    newest_first = np.round(np.stack([lats, lons], 1), 6)[::-1]
    micro = np.round(newest_first * 1e6).astype(np.int64)  # one integer per pair: a 1-D unique, not a row sort
    key = (micro[:, 0] + 90_000_000) * 400_000_000 + (micro[:, 1] + 180_000_000)
    _, first_seen = np.unique(key, return_index=True)  # each pair's newest occurrence
    keep = newest_first[np.sort(first_seen)[:MAX_POSITIONS]]
    return keep[:, 0], keep[:, 1]


def _words(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint32 at every offset, big- and little-endian."""
    n = len(b) - 3
    w = [b[k : k + n].astype(np.uint32) for k in range(4)]
    return (w[0] << 24) | (w[1] << 16) | (w[2] << 8) | w[3], (w[3] << 24) | (w[2] << 16) | (w[1] << 8) | w[0]


@dataclass(frozen=True)
class Encoding:
    """One binary encoding of a coordinate: the raw words at every offset, how a word becomes
    degrees, and the inverse (degrees to a raw bound), so the range test runs on the raw words
    without converting every offset to float64."""
    name: str
    width: int
    raw: np.ndarray
    to_degrees: Callable[[np.ndarray], np.ndarray]
    to_raw: Callable[[float], float]
    magnitude: bool = False  # hemisphere kept elsewhere: compare absolute values


def _encodings(buf: bytes) -> list[Encoding]:
    b = np.frombuffer(buf + bytes(8), dtype=np.uint8)
    be, le = _words(b)
    out = []
    for order, w in (("big-endian", be), ("little-endian", le)):
        signed = w.view(np.int32)
        out += [Encoding(f"int32 x1e6 {order}", 4, signed, lambda r: r / 1e6, lambda d: d * 1e6),
                Encoding(f"int32 x1e7 {order}", 4, signed, lambda r: r / 1e7, lambda d: d * 1e7),
                Encoding(f"uint32 x1e6 magnitude {order}", 4, w, lambda r: r / 1e6, lambda d: d * 1e6, True),
                Encoding(f"float32 {order}", 4, w.view(np.float32), lambda r: r.astype(np.float64), float)]
    out.append(Encoding("J1939 x1e-7 - 210 little-endian", 4, le, lambda r: r * 1e-7 - 210.0, lambda d: (d + 210.0) * 1e7))
    for order, hi, lo in (("big-endian", be[:-4], be[4:]), ("little-endian", le[4:], le[:-4])):
        words = (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)
        out.append(Encoding(f"float64 {order}", 8, words.view(np.float64), lambda r: r, float))
    return out


def _binary_hits(buf: bytes, lats, lons, tol: float) -> list:
    out = []
    for enc in _encodings(buf):
        want_lat, want_lon = (np.abs(lats), np.abs(lons)) if enc.magnitude else (lats, lons)
        lat_at, lat_values = _near(enc, want_lat, tol)
        if not len(lat_at):
            continue
        lon_at, lon_values = _near(enc, want_lon, tol, wrap=not enc.magnitude)
        values = dict(zip(lat_at.tolist(), lat_values.tolist(), strict=True))
        values.update(zip(lon_at.tolist(), lon_values.tolist(), strict=True))
        for at_lat, at_lon, k in _pairs(lat_at, lon_at, values, want_lat, want_lon, tol, BINARY_NEAR, enc.width):
            lat, lon = values[at_lat], values[at_lon]
            if enc.magnitude:  # the hemisphere is the matched CAN position's: the bytes carry none
                lat, lon = float(np.copysign(lat, lats[k])), float(np.copysign(lon, lons[k]))
            # the latitude's offset names a packet; the pair's end, a stream's segment
            out.append((at_lat, enc.name, Position(lat, lon), max(at_lat, at_lon) + enc.width))
    return out


def _raw_bounds(enc: Encoding, low_deg: float, high_deg: float):
    """The degree range as bounds of the raw words' own type (no float64 copy of the words):
    integers widened by one unit and clipped to the type, floats widened by a thousandth of a degree."""
    low, high = sorted((enc.to_raw(low_deg), enc.to_raw(high_deg)))
    kind = enc.raw.dtype
    if kind.kind in "iu":
        info = np.iinfo(kind)
        low, high = max(int(np.floor(low)) - 1, int(info.min)), min(int(np.ceil(high)) + 1, int(info.max))
        return None if low > high else (kind.type(low), kind.type(high))
    return kind.type(low - 1e-3), kind.type(high + 1e-3)


def _near(enc: Encoding, wanted: np.ndarray, tol: float, wrap: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Offsets whose value lies within ``tol`` of a wanted coordinate, and those values. The
    coarse range test runs on the raw words (a margin of one raw unit absorbs the rounding), one
    range per cluster of wanted values: a track across the antimeridian wants values near +180
    and near -180, and one range from -180 to 180 would admit half of all float32 words.
    ``wrap``: longitudes, compared the short way round (180 E is 180 W)."""
    mask = np.zeros(len(enc.raw), dtype=bool)
    for low, high in _clusters(wanted, tol, wrap):
        bounds = _raw_bounds(enc, low, high)
        if bounds is not None:
            with np.errstate(invalid="ignore"):
                mask |= (enc.raw >= bounds[0]) & (enc.raw <= bounds[1])
    coarse = np.flatnonzero(mask)
    if not len(coarse) or len(coarse) > 100_000:
        return coarse[:0], np.zeros(0)
    values = np.asarray(enc.to_degrees(enc.raw[coarse]), dtype=np.float64)
    differences = lon_delta(wanted[None, :], values[:, None]) if wrap else values[:, None] - wanted[None, :]
    close = (np.abs(differences) <= tol).any(1)
    return coarse[close], values[close]


def _clusters(wanted: np.ndarray, tol: float, wrap: bool, most: int = 4) -> list[tuple[float, float]]:
    """Degree ranges covering the wanted values, split at the widest gaps over a degree (at most
    ``most`` ranges); longitudes at the antimeridian also cover their other spelling."""
    values = np.sort(wanted)
    gaps = np.diff(values)
    cuts = np.sort(np.argsort(gaps)[::-1][: most - 1])
    cuts = cuts[gaps[cuts] > 1.0]
    edges = np.concatenate(([0], cuts + 1, [len(values)]))
    out = [(float(values[a]) - tol, float(values[b - 1]) + tol) for a, b in itertools.pairwise(edges.tolist())]
    if wrap:
        out += [(low + 360.0, high + 360.0) for low, high in out if low < -180.0]
        out += [(low - 360.0, high - 360.0) for low, high in out if high > 180.0]
    return out


def _pairs(lat_at, lon_at, values, lats, lons, tol, near, width) -> list[tuple[int, int, int]]:
    """Every latitude offset with a longitude of the same position within ``near`` bytes (the
    nearest such longitude for each, so a pair never reaches into the packet before): every packet
    of the buffer may leak, not only the first. Each with the index of the (most recent) wanted
    position it matched."""
    found: list[tuple[int, int, int]] = []
    if not len(lon_at):
        return found
    for a in lat_at.tolist()[:MAX_CANDIDATES]:
        close = lon_at[(np.abs(lon_at - a) <= near) & (np.abs(lon_at - a) >= width)]
        for b in close[np.argsort(np.abs(close - a), kind="stable")].tolist():
            both = np.flatnonzero((np.abs(values[a] - lats) <= tol) & (np.abs(lon_delta(lons, values[b])) <= tol))
            if len(both):
                found.append((a, b, int(both[0])))
                break
    return found


def _text_windows(buf: bytes) -> list[tuple[int, int]]:
    """Where decimal text can be: around each '.' with a digit before it and two after, merged.
    Ciphertext and binary data hold almost none, so the regular expressions read little of them."""
    b = np.frombuffer(buf, np.uint8)
    if len(b) < 4:
        return []
    digit = (b >= 0x30) & (b <= 0x39)
    dots = np.flatnonzero(b[1:-2] == 0x2E) + 1
    dots = dots[digit[dots - 1] & digit[dots + 1] & digit[dots + 2]]
    if not len(dots):
        return []
    starts, ends = np.maximum(dots - WINDOW_BEFORE, 0), np.minimum(dots + WINDOW_AFTER, len(b))
    first = np.flatnonzero(np.concatenate(([True], starts[1:] > ends[:-1])))
    last = np.concatenate((first[1:] - 1, [len(dots) - 1]))
    return list(zip(starts[first].tolist(), ends[last].tolist(), strict=True))


def _text_hits(buf: bytes, lats, lons, tol: float) -> list:
    out = []
    windows = _text_windows(buf)
    numbers = [(m.start(), float(m.group())) for at, end in windows
               for m in DECIMAL.finditer(buf, at, end)][:MAX_CANDIDATES]
    out += [(at, "decimal text", position, end) for at, position, end in _text_pairs(numbers, numbers, lats, lons, tol)]
    dm = [(m.start(), m.group(1), m.group(2)) for at, end in windows for m in NMEA_DM.finditer(buf, at, end)][:MAX_CANDIDATES]
    lat_dm = [(at, degrees_minutes(text.decode(), h.decode(), "S", 2)) for at, text, h in dm if h in (b"N", b"S")]
    lon_dm = [(at, degrees_minutes(text.decode(), h.decode(), "W", 3)) for at, text, h in dm if h in (b"E", b"W")]
    out += [(at, "NMEA ddmm.mmmm", position, end) for at, position, end in _text_pairs(lat_dm, lon_dm, lats, lons, tol)]
    return out


def _text_pairs(lat_candidates, lon_candidates, lats, lons, tol) -> list[tuple[int, Position, int]]:
    """Every latitude with a longitude of the same position within TEXT_NEAR bytes, the nearest one
    first (so a pair never reaches into the packet before); the latitude's offset names the packet.
    Each with where the pair ends (past the later number's first character)."""
    found = []
    lon_at = np.array([at for at, _ in lon_candidates], dtype=np.int64)
    for at, lat in lat_candidates:
        lat_ok = np.abs(lats - lat) <= tol
        if not lat_ok.any():
            continue
        near = np.flatnonzero((np.abs(lon_at - at) <= TEXT_NEAR) & (lon_at != at))
        for k in near[np.argsort(np.abs(lon_at[near] - at), kind="stable")].tolist():
            lon = lon_candidates[k][1]
            if (lat_ok & (np.abs(lon_delta(lons, lon)) <= tol)).any():
                found.append((at, Position(lat, lon), max(at, int(lon_at[k])) + 1))
                break
    return found


def _vin_hits(buf: bytes, vin: str) -> list:
    """Every place the VIN is (each packet's and each flow's, not only the buffer's first), at most
    MAX_CANDIDATES per encoding."""
    out = []
    for encoding, needle in (("ASCII", vin.encode()), ("UTF-16LE", vin.encode("utf-16-le")),
                             ("hex text", vin.encode().hex().encode())):
        at = buf.find(needle)
        for _ in range(MAX_CANDIDATES):
            if at < 0:
                break
            out.append((at, encoding, None, at + len(needle)))
            at = buf.find(needle, at + 1)
    return out
