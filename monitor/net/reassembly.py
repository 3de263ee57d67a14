"""TCP stream reassembly: per flow and sender, the in-order bytes the receiver's TCP delivers.

Parsers (TLS, HTTP, DNS over TCP, the wire signatures) read what this hands out, never raw
segments, so the tricks an evader plays with segments (one byte each, sent last first, a
decoy far ahead, an insertion with a bad checksum, data in the SYN) reach them as the
receiver would see the bytes. Modelled on Suricata's ``stream.reassembly`` and the
target-based policies of Novak and Sturges (2007).

- Order: sequence numbers are compared modulo 2^32 (the nearest reading), so a stream may
  wrap; offsets inside a stream are plain integers.
- Start: a sender's SYN fixes its first byte at ISN+1, and data carried in the SYN (TCP Fast
  Open) is that first byte on. Without a SYN (picked up mid-stream) the first data segment is
  a tentative base: its bytes are held, not handed out, until ``confirm`` contiguous bytes
  follow it; until then a segment before it (within the window) becomes the base, and one
  more than ``window`` away from it on either side replaces it (counted
  ``midstream_rebased``), so a 1-byte decoy 2^31-1 ahead cannot become the base.
- After that, a segment starting more than ``window`` past the in-order end is not kept
  (``beyond_window``). Bytes already handed out are final for every policy, as they are for
  the receiver, which never takes back what it delivered (``retransmitted``).
- Overlaps among held (out-of-order) segments follow the target ``policy``; for an old held
  segment [os, oe) and a new one [ns, ne), on the bytes they share:
    first:  the old bytes stay.                 last:  the new bytes win.
    bsd:    the new bytes win when ns < os.
    linux:  the new bytes win when ns < os, or ns == os and ne > oe (default).
  A conflicting overlap (different bytes) is counted ``overlap_conflicts`` in every policy.
- Gaps: bytes the capture lost never come, so a hole that has had later bytes waiting
  behind it for ``gap_timeout_s`` (packet time), or with a sender's held bytes at a cap, is
  skipped: the stream goes on at the first held byte (``gaps_skipped``); the bytes of the
  hole, if they come after all, are then behind the stream (``retransmitted``). An evader
  who delays a segment past the timeout can hide it; the receiver would still wait.
- Checksum: a segment whose TCP checksum is wrong is dropped by the receiver, so it is left
  out (``bad_checksum``). ``checksum`` = verify (strict), ignore (no check), or auto (the
  default), which decides per sender: its segments with a bad checksum wait aside until one
  of its segments (a SYN or a bare ACK counts) has a good checksum, and are then dropped; a
  sender whose first ``unreliable_after`` checked segments are all bad is one whose
  checksums the capture cannot show (a live capture of what the capturing host sends, when
  the NIC fills the checksum in; anonymised traces) and its segments are taken
  (``checksum_unreliable_senders``); once at least 10 senders are, and more than have shown a
  good one (``checksum_reliable_senders``), the capture is taken as one whose checksums mean
  nothing (as Suricata's checksum-checks auto does) and a new sender is decided at its first
  bad checksum. Under auto a checksum field of 0 or of the bare
  pseudo-header sum, which is what the kernel leaves when the NIC fills the checksum in
  (locally sent packets on a live capture, TSO segments), is taken (``checksum_offloaded``);
  verify drops those too, so an evader who crafts that value is caught only under verify.
  An insertion (a bad-checksum segment, then the real one)
  is thus dropped as the receiver drops it, as soon as the real one arrives. A segment cut by
  the snap length, or whose TCP header cannot be found, cannot be checked and is taken
  (``checksum_unverifiable``).
- Memory: ``depth`` in-order bytes per sender are reassembled (``depth_reached``); after
  that its segments are passed on as they come (``past_depth`` rows: no reordering, no
  checks, no Python per packet), so a telematics connection that lasts for hours is still
  read; held out-of-order bytes are capped per sender (``flow_memcap``,
  ``max_segments``) and in all (``memcap``); a segment over a cap is not held
  (``flow_memcap_refused``, ``memcap_refused``); at most ``max_streams`` senders are followed,
  the least recently active forgotten (``streams_evicted``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import native
from . import streamwalk

MOD = 1 << 32
HALF = 1 << 31
SYN = 0x02
UNKNOWN, RELIABLE, UNRELIABLE = 0, 1, 2
#: Checksum verdicts as the compiled core gives them per row (FALLBACK: the Python decides).
VERDICTS = {0: None, 1: "good", 2: "bad", 3: "offloaded"}
FALLBACK = 4
UNRELIABLE_CAPTURE = 10  # senders without a good checksum before a capture counts as one that has none
PURGE_EVERY = 256  # batches between sweeps for the senders of ended flows
POLICIES = ("first", "last", "bsd", "linux")
CHECKSUM_MODES = ("auto", "verify", "ignore")


@dataclass(frozen=True)
class StreamConfig:
    policy: Literal["first", "last", "bsd", "linux"] = "linux"
    checksum: Literal["auto", "verify", "ignore"] = "auto"
    depth: int = 1 << 20  # in-order bytes handed out per sender
    window: int = 1 << 20  # how far past the in-order end a segment may be held
    flow_memcap: int = 256 << 10  # out-of-order bytes held per sender
    memcap: int = 64 << 20  # out-of-order bytes held in all
    max_segments: int = 1024  # out-of-order pieces held per sender
    gap_timeout_s: float = 10.0  # a hole in the stream older than this is skipped (capture loss)
    max_streams: int = 65_536
    confirm: int = 16  # contiguous bytes that confirm a mid-stream base
    unreliable_after: int = 2  # checksum auto: bad checksums in a row, none good, before trusting none

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"stream.policy must be one of {', '.join(POLICIES)}, not {self.policy!r}")
        if self.checksum not in CHECKSUM_MODES:
            raise ValueError(f"stream.checksum must be one of {', '.join(CHECKSUM_MODES)}, not {self.checksum!r}")


def new_wins(policy: str, ns: int, ne: int, os_: int, oe: int) -> bool:
    """Whether a new held segment [ns, ne) overwrites an old one [os_, oe) where they overlap."""
    if policy == "last":
        return True
    if policy == "bsd":
        return ns < os_
    if policy == "linux":
        return ns < os_ or (ns == os_ and ne > oe)
    return False  # first


class Memory:
    """Out-of-order bytes held by every stream of one table, against ``memcap``."""

    __slots__ = ("cap", "used")

    def __init__(self, cap: int) -> None:
        self.cap, self.used = cap, 0


class Sender:
    """One direction of one flow: what its receiver has in order, and what waits for a gap."""

    __slots__ = ("anchor", "aside", "bad", "base", "confirmed", "delivered", "held", "memory", "next", "pieces",
                 "verdict", "waiting_since")

    def __init__(self, memory: Memory) -> None:
        self.anchor = -1  # sequence number of offset 0; -1 until the first segment or SYN
        self.next = 0  # offset of the first byte not yet in order
        self.base = 0  # offset of the first byte (tentative until confirmed)
        self.confirmed = False
        self.delivered = 0  # bytes handed out
        self.held = 0  # bytes in pieces
        self.pieces: list[list] = []  # [start, end, segment start, segment end, bytes], sorted, disjoint
        self.memory = memory
        self.waiting_since = 0  # ns: when the oldest hole began to hold bytes back
        self.verdict = UNKNOWN  # checksum auto: what this sender's checksums are worth
        self.bad = 0
        self.aside: list[tuple[int, bytes]] = []  # bad-checksum segments waiting for the verdict

    def __del__(self) -> None:
        # A dropped stream gives its held bytes back to the table's memcap (CPython frees at once).
        self.memory.used -= self.held

    def syn(self, seq: int) -> None:
        """The sender's SYN: its first data byte is ISN+1."""
        if self.confirmed and self.anchor == (seq + 1) % MOD:
            return  # a retransmitted SYN
        if self.anchor < 0 or not self.delivered:
            self._reset((seq + 1) % MOD)
            self.confirmed = True

    def _reset(self, anchor: int) -> None:
        self.memory.used -= self.held
        self.anchor, self.next, self.base, self.held, self.pieces = anchor, 0, 0, 0, []

    def offset(self, seq: int) -> int:
        """seq as an offset: the reading nearest to the in-order end (wrap-around)."""
        d = (seq - self.anchor - self.next) % MOD
        return self.next + (d - MOD if d >= HALF else d)

    def add(self, seq: int, payload: bytes, config: StreamConfig, stats: Counter, ts_ns: int = 0) -> bytes:
        """Take a segment (sent at ts_ns); returns the bytes it brought into order (b"" for none)."""
        if self.anchor < 0:
            self._reset(seq)
        start = self.offset(seq)
        if not self.confirmed:
            start = self._midstream(start, seq, config, stats)
        end = start + len(payload)
        skipped = b"" if start <= self.next else self._skip_gap(config, stats, ts_ns, len(payload))
        if end <= self.next:
            stats["retransmitted"] += 1
            return skipped
        if start - self.next > config.window:
            stats["beyond_window"] += 1
            return skipped
        if start < self.next:  # what the receiver has in order stays as it is
            payload, start = payload[self.next - start :], self.next
        if start == self.next and self.confirmed and not self.pieces:  # the common case: next in order
            payload = payload[: max(config.depth - self.delivered, 0)]
            if len(payload) < end - start:
                stats["depth_reached"] += 1
            self.next, self.delivered = end, self.delivered + len(payload)
            return skipped + payload
        if not self.pieces:
            self.waiting_since = ts_ns
        self._hold(start, end, payload, config, stats)
        return skipped + self._drain(config, stats)

    def _skip_gap(self, config: StreamConfig, stats: Counter, ts_ns: int, size: int) -> bytes:
        """Skip the hole before the first held piece when it is old or the caps are reached (the
        new segment does not fill it)."""
        if not self.pieces or not self.confirmed:
            return b""
        old = ts_ns - self.waiting_since > config.gap_timeout_s * 1e9
        full = len(self.pieces) >= config.max_segments or self.held + size > config.flow_memcap
        if not (old or full or self.memory.used + size > self.memory.cap):
            return b""
        stats["gaps_skipped"] += 1
        self.next = self.pieces[0][0]
        self.waiting_since = ts_ns
        return self._drain(config, stats)

    def _midstream(self, start: int, seq: int, config: StreamConfig, stats: Counter) -> int:
        if abs(start - self.base) > config.window or abs(start - self.next) > config.window:
            stats["midstream_rebased"] += 1
            self._reset(seq)
            return 0
        if start < self.base:
            self.base = self.next = start
        return start

    def _hold(self, ns: int, ne: int, data: bytes, config: StreamConfig, stats: Counter) -> None:
        keep = [(ns, ne)]  # parts of the new segment that survive the policy
        pieces: list[list] = []
        for piece in self.pieces:
            os_, oe = piece[0], piece[1]
            if oe <= ns or os_ >= ne:
                pieces.append(piece)
                continue
            lo, hi = max(os_, ns), min(oe, ne)
            if piece[4][lo - os_ : hi - os_] != data[lo - ns : hi - ns]:
                stats["overlap_conflicts"] += 1
            if new_wins(config.policy, ns, ne, piece[2], piece[3]):
                pieces += [p for p in (_cut(piece, os_, lo), _cut(piece, hi, oe)) if p]
            else:
                pieces.append(piece)
                keep = [part for a, b in keep for part in ((a, min(b, lo)), (max(a, hi), b)) if part[0] < part[1]]
        added = [[a, b, ns, ne, data[a - ns : b - ns]] for a, b in keep]
        size = sum(b - a for a, b in keep) - (self.held - sum(p[1] - p[0] for p in pieces))
        at_front = ns <= self.next and self.confirmed  # drained at once: no cap applies
        if not at_front and (len(pieces) + len(added) > config.max_segments or self.held + size > config.flow_memcap):
            stats["flow_memcap_refused"] += 1
            return
        if not at_front and self.memory.used + size > self.memory.cap:
            stats["memcap_refused"] += 1
            return
        self.pieces = sorted(pieces + added, key=lambda p: p[0])
        self.held += size
        self.memory.used += size

    def _drain(self, config: StreamConfig, stats: Counter) -> bytes:
        if not self.confirmed:
            run = self.next
            for piece in self.pieces:
                if piece[0] != run:
                    break
                run = piece[1]
            if run - self.base < config.confirm:
                return b""
            self.confirmed = True
        out = bytearray()
        while self.pieces and self.pieces[0][0] <= self.next:
            piece = self.pieces.pop(0)
            out += piece[4][self.next - piece[0] :]
            self.next = max(self.next, piece[1])
            self.held -= piece[1] - piece[0]
            self.memory.used -= piece[1] - piece[0]
        room = config.depth - self.delivered
        if len(out) > room:
            stats["depth_reached"] += 1
            del out[max(room, 0) :]
        self.delivered += len(out)
        return bytes(out)


def _cut(piece: list, a: int, b: int) -> list | None:
    if a >= b:
        return None
    return [a, b, piece[2], piece[3], piece[4][a - piece[0] : b - piece[0]]]


# ---------------------------------------------------------------- checksums

def tcp_header_start(data: np.ndarray, l3: int, version: int, payload: int) -> int:
    """Where the TCP header starts (-1 when it cannot be told: IPv6 extension headers whose
    TCP data offset reads two ways)."""
    if version == 4:
        return l3 + (int(data[l3]) & 0xF) * 4
    if int(data[l3 + 6]) == 6:
        return l3 + 40
    found = [payload - 4 * k for k in range(5, 16) if payload - 4 * k >= l3 + 40 and int(data[payload - 4 * k + 12]) >> 4 == k]
    return found[0] if len(found) == 1 else -1


def checksum_state(data: np.ndarray, l3: int, version: int, tcp: int, ip_end: int) -> str:
    """"good", "bad", or "offloaded" (0 or the bare pseudo-header sum, as checksum offload leaves it).

    A ones'-complement sum of 16-bit words is the number they spell modulo 0xFFFF (2^16 is 1
    modulo 0xFFFF), so one big-integer remainder sums a whole segment."""
    length = ip_end - tcp
    addresses = data[l3 + 12 : l3 + 20] if version == 4 else data[l3 + 8 : l3 + 40]
    pseudo = int.from_bytes(addresses.tobytes(), "big") % 0xFFFF + 6 + length
    segment = data[tcp:ip_end].tobytes() + b"\0" * (length & 1)
    if (pseudo + int.from_bytes(segment, "big")) % 0xFFFF == 0:
        return "good"
    field = (segment[16] << 8) | segment[17]
    return "offloaded" if field == 0 or field == (pseudo % 0xFFFF or 0xFFFF) else "bad"


# ---------------------------------------------------------------- the table

class StreamTable:
    """Every followed sender of a pipeline, keyed by (flow id, source port, source address).

    Keyed by the sender, not by the flow's orig side, so a flow turned round by the app layer
    keeps its streams. A sender that reached ``depth`` is forgotten and its later rows are
    skipped without Python (a per-slot bit, reset with the slot's next flow)."""

    def __init__(self, config: StreamConfig | None = None) -> None:
        self.config = config or StreamConfig()
        self.memory = Memory(self.config.memcap)
        self.senders: dict[tuple, Sender] = {}
        self.waiting: set[int] = set()  # flow ids with a sender that holds segments aside
        self.slots: dict[int, int] = {}  # flow id -> its slot, to tell when the flow has ended
        self.batches = 0
        self.stats: Counter = Counter()
        self.done_fid = np.zeros(1024, np.int64)
        self.done_bits = np.zeros(1024, np.uint8)

    def new_sender(self) -> Sender:
        """A sender's state for the native walk (streamwalk.py), which does not import this module."""
        return Sender(self.memory)

    def process(self, data: np.ndarray, h, rows: np.ndarray, slots: np.ndarray, is_orig: np.ndarray,
                flow_ids: np.ndarray, ts_ns: np.ndarray | None = None) -> tuple[dict[int, bytes], np.ndarray]:
        """The in-order bytes each row (an index into rows) brought (rows bringing none are
        absent), and which rows are past their sender's depth (their payload stands as it is)."""
        fids = flow_ids[slots]
        self._grow(int(slots.max()) + 1 if len(slots) else 0)
        waiting = np.isin(fids, np.fromiter(self.waiting, np.int64, len(self.waiting)))
        side = np.where(is_orig, 1, 2).astype(np.uint8)
        done = (self.done_fid[slots] == fids) & ((self.done_bits[slots] & side) != 0)
        flags = h.tcp_flags[rows]
        # A sender waiting for a checksum verdict has its bare ACKs checked too.
        wanted = (h.proto[rows] == 6) & ((h.captured_len[rows] > 0) | ((flags & SYN) != 0) | waiting) & ~done
        chunks: dict[int, bytes] = {}
        idx = np.flatnonzero(wanted)
        r = rows[idx]
        times = ts_ns[idx] if ts_ns is not None else np.zeros(len(idx), np.int64)
        codes = self._verdicts(data, h, r)
        columns = (idx, fids[idx], slots[idx], h.sport[r], h.src[r, 1], h.src[r, 0], h.tcp_seq[r], flags[idx], times,
                   codes)
        past = done.copy()
        core = native.kernels
        if core is None or not streamwalk.walk(self, core, data, h, rows, side, past, chunks, columns):
            for values in zip(*(c.tolist() for c in columns)):
                self._row(data, h, rows, side, past, chunks, *values)
        return chunks, past & (h.proto[rows] == 6) & (h.captured_len[rows] > 0)

    def _row(self, data, h, rows, side, past, chunks, i: int, fid: int, slot: int, *segment) -> bool:
        """One wanted row (i: its index into rows); whether it reached its sender."""
        if self.done_fid[slot] == fid and self.done_bits[slot] & side[i]:
            past[i] = True  # its sender reached the depth earlier in this batch
            return False
        self.slots[fid] = slot
        chunk, finished = self._segment(data, h, int(rows[i]), fid, *segment)
        if chunk:
            chunks[i] = chunk
        if finished:
            bits = self.done_bits[slot] if self.done_fid[slot] == fid else 0
            self.done_fid[slot], self.done_bits[slot] = fid, bits | side[i]
        return True

    def _verdicts(self, data: np.ndarray, h, r: np.ndarray) -> np.ndarray:
        """Each row's checksum verdict from the compiled core (VERDICTS), or FALLBACK for all
        (the numpy reference, or no checks at all)."""
        core = native.kernels
        codes = np.full(len(r), FALLBACK, np.uint8)
        if core is None or self.config.checksum == "ignore" or not len(r) or data.dtype != np.uint8:
            return codes
        i64 = np.int64
        columns = (h.l3[r].astype(i64), h.version[r].astype(np.uint8), h.payload[r].astype(i64),
                   h.payload_len[r].astype(i64), h.captured_len[r].astype(i64), h.ip_bytes[r].astype(i64))
        core.streams_checksums(np.ascontiguousarray(data), *columns, codes)
        return codes

    def _segment(self, data: np.ndarray, h, row: int, fid: int, sport: int, lo: int, hi: int, seq: int,
                 flags: int, ts: int, code: int = FALLBACK) -> tuple[bytes, bool]:
        """One row: the bytes it brought into order, and whether its sender reached depth."""
        key = (fid, sport, lo, hi)
        sender = self.senders.pop(key, None) or self._new()
        self.senders[key] = sender  # most recently active last
        if flags & SYN:
            sender.syn(seq)
            seq = (seq + 1) % MOD  # data in a SYN starts after the SYN's own sequence number
        start, size = int(h.payload[row]), int(h.captured_len[row])
        payload = data[start : start + size].tobytes()
        segments = self._checked(data, h, row, sender, fid, seq, payload, code)
        chunk = b"".join(sender.add(s, p, self.config, self.stats, ts) for s, p in segments if p)
        if sender.delivered >= self.config.depth:
            del self.senders[key]
            return chunk, True
        return chunk, False

    def purge(self, live: dict[int, int]) -> None:
        """Every PURGE_EVERY batches (or when half the memcap is held), forget the senders of
        flows that ended; ``live``: slot -> flow id of the flows open now."""
        self.batches += 1
        if self.batches % PURGE_EVERY and self.memory.used <= self.memory.cap // 2:
            return
        ended = {fid for fid, slot in self.slots.items() if live.get(slot) != fid}
        for key in [key for key in self.senders if key[0] in ended]:
            del self.senders[key]
        for fid in ended:
            del self.slots[fid]
        self.waiting -= ended

    def _new(self) -> Sender:
        if len(self.senders) >= self.config.max_streams:
            del self.senders[next(iter(self.senders))]
            self.stats["streams_evicted"] += 1
        return Sender(self.memory)

    def _checked(self, data, h, row: int, sender: Sender, fid: int, seq: int, payload: bytes,
                 code: int = FALLBACK) -> list[tuple[int, bytes]]:
        """The segments reassembly may take now: this one if its checksum passes (or cannot be
        told), and under auto the ones held aside once the sender's verdict is in."""
        mode = self.config.checksum
        skip = mode == "ignore" or (mode == "auto" and sender.verdict == UNRELIABLE)
        good = None if skip else self._checksum(data, h, row, code)
        if good == "offloaded" and mode == "auto":
            self.stats["checksum_offloaded"] += 1
            return [(seq, payload)]
        good = good == "good" if isinstance(good, str) else good
        if good is None or good or (mode == "auto" and sender.verdict == UNRELIABLE):
            if good and sender.verdict == UNKNOWN:
                sender.verdict = RELIABLE
                self.stats["checksum_reliable_senders"] += 1
                self.stats["bad_checksum"] += len(sender.aside)
                sender.aside = []
                self.waiting.discard(fid)
            return [(seq, payload)]
        if mode == "verify" or sender.verdict == RELIABLE:
            self.stats["bad_checksum"] += 1
            return []
        if self._capture_unreliable():
            sender.bad = self.config.unreliable_after  # decided at once, as for the capture
        else:
            sender.bad += 1
        sender.aside.append((seq, payload))
        if len(sender.aside) > self.config.max_segments:  # bounded: the oldest goes
            sender.aside.pop(0)
            self.stats["bad_checksum"] += 1
        self.waiting.add(fid)
        if sender.bad < self.config.unreliable_after:
            return []
        sender.verdict = UNRELIABLE
        self.stats["checksum_unreliable_senders"] += 1
        self.waiting.discard(fid)
        segments, sender.aside = sender.aside, []
        return segments

    def _capture_unreliable(self) -> bool:
        """Most senders so far had no good checksum: the capture's checksums mean nothing."""
        bad = self.stats["checksum_unreliable_senders"]
        return bad >= UNRELIABLE_CAPTURE and bad > self.stats["checksum_reliable_senders"]

    def _checksum(self, data: np.ndarray, h, row: int, code: int = FALLBACK) -> str | None:
        """checksum_state of the row; None when it cannot be told. code: the compiled core's
        verdict for it, if it gave one."""
        if code != FALLBACK:
            if code == 0:
                self.stats["checksum_unverifiable"] += 1
            return VERDICTS[code]
        if h.captured_len[row] < h.payload_len[row]:
            self.stats["checksum_unverifiable"] += 1
            return None
        l3, version = int(h.l3[row]), int(h.version[row])
        tcp = tcp_header_start(data, l3, version, int(h.payload[row]))
        if tcp < 0:
            self.stats["checksum_unverifiable"] += 1
            return None
        return checksum_state(data, l3, version, tcp, l3 + int(h.ip_bytes[row]))

    def _grow(self, size: int) -> None:
        if size > len(self.done_fid):
            grow = max(size, 2 * len(self.done_fid)) - len(self.done_fid)
            self.done_fid = np.concatenate([self.done_fid, np.zeros(grow, np.int64)])
            self.done_bits = np.concatenate([self.done_bits, np.zeros(grow, np.uint8)])

    def summary(self) -> dict:
        return {**self.stats, "held_bytes": self.memory.used, "senders": len(self.senders)}
