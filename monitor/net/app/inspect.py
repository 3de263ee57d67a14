"""Application-layer inspection of the few packets that name a flow's destination.

Selection is vectorized: from a parsed batch, only DNS packets (port 53), the first client
bytes of undecided TCP flows, client QUIC long-header datagrams, request starts in HTTP
flows and the continuation of a cut-off ClientHello or request head reach Python. A flow's
mode (in FlowRecorder.mode) moves NEW -> TLS/HTTP/QUIC -> DONE or IGNORE, so a bulk transfer
stops costing anything after its first segments.

TCP is read as the receiver reads it: the rows' ``chunks`` are the in-order bytes each segment
brought (net/reassembly.py), and a flow's head is built from those, never from raw segments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ... import native
from ..flowrecord import DONE, HTTP, HTTP_PENDING, IGNORE, NEW, QUIC, TLS, FlowRecorder
from ..flows import SYN, FlowTable
from ..headers import IPPROTO_TCP, IPPROTO_UDP, Headers
from ..packets import PacketBatch
from . import dns, gquic, h2, http, quic, tls
from .streams import MAX_HEAD, Head

log = logging.getLogger(__name__)

DNS_PORT = 53
NEW_BUDGET = 4  # client payload segments to look at before giving up on naming a TCP flow
QUIC_BUDGET = 8
QUIC_VERSIONS = tuple(quic.SALTS)
# What the C prefilter tests against (src/gw_apps.h gw_apps_rules), from the same constants.
_RULES = (NEW, TLS, HTTP, HTTP_PENDING, QUIC, IPPROTO_TCP, IPPROTO_UDP, SYN, DNS_PORT)
_QUIC_VERSIONS = np.array(QUIC_VERSIONS, np.uint32)
_METHOD_PREFIXES = np.array(http.METHOD_PREFIXES, np.uint32)


@dataclass
class InspectStats:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


@dataclass
class AppEvent:
    """One application-layer observation, for consumers that want more than flow records."""

    kind: str  # dns_query, dns_answer, tls_client_hello, http_request, quic_client_hello, gquic_client_hello
    slot: int
    community_id: str | None
    ts_ns: int
    detail: object


class DnsMessage(NamedTuple):
    flow: dict  # who talks to whom, when the message was read
    ts_ns: int
    message: dns.Message


class AppInspector:
    def __init__(self, recorder: FlowRecorder, flows: FlowTable, keep_events: bool = False) -> None:
        self.recorder = recorder
        self.flows = flows
        self.stats = InspectStats()
        self.keep_events = keep_events
        self.events: list[AppEvent] = []
        self.budget: dict[int, int] = {}
        self.swapped: set[int] = set()  # flows whose direction was corrected in the current batch
        self.dns_messages: list[DnsMessage] = []  # read since the net stage last took them (the DNS log's)

    def inspect(self, batch: PacketBatch, h: Headers, rows: np.ndarray, slots: np.ndarray, is_orig: np.ndarray,
                chunks: dict[int, bytes], past_depth: np.ndarray | None = None) -> None:
        """``chunks``: index into rows -> the in-order TCP bytes that row brought; ``past_depth``:
        TCP rows past their stream's reassembly depth, read as they come."""
        picked, kinds = self._select(batch, h, rows, slots, is_orig, chunks, past_depth)
        data = batch.data
        self.swapped.clear()
        for i, kind in zip(picked.tolist(), kinds.tolist()):
            row = int(rows[i])
            if i in chunks:
                payload = chunks[i]
            else:
                start = int(h.payload[row])
                payload = data[start : start + int(h.captured_len[row])].tobytes()
            slot, ts = int(slots[i]), int(batch.ts_ns[row])
            orig = bool(is_orig[i]) != (slot in self.swapped)
            if kind == 1:
                self._dns(slot, orig, ts, payload, h.proto[row] == IPPROTO_TCP)
            elif kind == 2:
                self._quic(slot, ts, payload)
            elif kind == 4:
                self._gquic(slot, ts, payload)
            elif orig or self._client_found_late(slot, payload):
                self._tcp(slot, ts, payload)

    def _select(self, batch, h, rows, slots, is_orig, chunks, past_depth):
        """Indexes (into rows) of packets worth Python's time, and which handler takes each."""
        core = native.kernels
        if core is not None:
            selected = self._select_native(core, batch, h, rows, slots, is_orig, chunks, past_depth)
            if selected is not None:
                return selected
        return self._select_numpy(batch, h, rows, slots, is_orig, chunks, past_depth)

    def _select_native(self, core, batch, h, rows, slots, is_orig, chunks, past_depth):
        """The same selection in one C pass (src/gw_apps.c); None where the columns are not of
        the types it reads (the numpy code then decides)."""
        mode, flags = self.recorder.mode, self.flows.flags
        masks = [is_orig] if past_depth is None else [is_orig, past_depth]
        if any(m.dtype != np.bool_ for m in masks) or mode.dtype != np.uint8 or flags.dtype != np.uint8 \
                or flags.ndim != 2 or batch.data.dtype != np.uint8 or not flags.flags.c_contiguous:
            return None
        as_u8 = lambda m: np.ascontiguousarray(m).view(np.uint8)  # bool masks as bytes
        return core.apps_select(
            np.ascontiguousarray(batch.data), np.ascontiguousarray(h.proto, np.uint8),
            np.ascontiguousarray(h.captured_len, np.int64), np.ascontiguousarray(h.payload, np.int64),
            np.ascontiguousarray(h.sport, np.uint16), np.ascontiguousarray(h.dport, np.uint16),
            np.ascontiguousarray(rows, np.int64), np.ascontiguousarray(slots, np.int64), as_u8(is_orig), chunks,
            None if past_depth is None else as_u8(past_depth), np.ascontiguousarray(mode), flags, _RULES,
            _QUIC_VERSIONS, _METHOD_PREFIXES)

    def _select_numpy(self, batch, h, rows, slots, is_orig, chunks, past_depth):
        proto = h.proto[rows]
        has = h.captured_len[rows] > 0
        in_order = np.zeros(len(rows), dtype=bool)
        in_order[list(chunks)] = True
        if past_depth is not None:
            in_order |= past_depth
        tcp, udp = in_order & (proto == IPPROTO_TCP), has & (proto == IPPROTO_UDP)
        is_dns = (tcp | udp) & ((h.sport[rows] == DNS_PORT) | (h.dport[rows] == DNS_PORT))
        mode = self.recorder.mode[slots]
        first = batch.data[np.minimum(h.payload[rows], batch.data.size - 5)[:, None] + np.arange(5)].astype(np.int64)
        client = is_orig & ~is_dns
        is_quic = udp & client & ((first[:, 0] & 0xC0) == 0xC0) & ((mode == NEW) | (mode == QUIC))
        is_quic &= np.isin((first[:, 1] << 24) | (first[:, 2] << 16) | (first[:, 3] << 8) | first[:, 4], QUIC_VERSIONS)
        # Google QUIC: public flags with the version bit, version "Q0.." after an 8-byte CID.
        gq = batch.data[np.minimum(h.payload[rows] + 9, batch.data.size - 2)[:, None] + np.arange(2)]
        is_gquic = udp & client & gquic.maybe_gquic(first, gq)
        is_gquic &= (mode == NEW) | (mode == QUIC)
        wanted_tcp = (mode == NEW) | (mode == TLS) | (mode == HTTP_PENDING)
        wanted_tcp |= (mode == HTTP) & http.may_start_request(first)
        # Bytes that came in order with another row than their own segment (a gap filled, a
        # checksum verdict) do not start where the row's payload does: look at them too.
        moved = np.zeros(len(rows), dtype=bool)
        if chunks:
            at = np.fromiter(chunks, np.int64, len(chunks))
            sizes = np.fromiter((len(c) for c in chunks.values()), np.int64, len(chunks))
            moved[at] = sizes != h.captured_len[rows[at]]
        wanted_tcp |= (mode == HTTP) & moved
        # A flow picked up mid-stream (no SYN from its first sender) may have been started by
        # the server: its responder's first payload is looked at too.
        midstream = ~is_orig & ~is_dns & (mode == NEW) & ((self.flows.flags[slots, 0] & SYN) == 0)
        is_tcp = tcp & (client | midstream) & wanted_tcp
        picked = np.flatnonzero(is_dns | is_quic | is_gquic | is_tcp)
        kinds = np.select([is_dns[picked], is_quic[picked], is_gquic[picked]], [1, 2, 4], 3)
        return picked, kinds

    def _event(self, kind: str, slot: int, ts: int, detail: object) -> None:
        if self.keep_events:
            self.events.append(AppEvent(kind, slot, self.recorder.community_of(self.flows, slot), ts, detail))

    def _client_found_late(self, slot: int, payload: bytes) -> bool:
        """A mid-stream flow's responder sent a ClientHello or a request: it is the client."""
        if self.recorder.mode[slot] != NEW or slot in self.swapped:
            return False
        if not (tls.looks_like_client_hello(payload[:6]) or http.starts_request(payload)):
            return False
        self.flows.swap_direction(slot)
        self.recorder.app_state.pop(slot, None)
        self.swapped.add(slot)
        self.stats.add("midstream_direction_corrected")
        return True

    # -------------------------------------------------------------- DNS

    def _dns(self, slot: int, orig: bool, ts: int, payload: bytes, over_tcp: bool) -> None:
        self.recorder.set_app(slot, "dns")
        if not over_tcp:
            self._dns_message(slot, ts, payload)
            return
        heads = self.recorder.app_state.get(slot)
        if not isinstance(heads, dict):  # a slot's state may be another parser's (a slot taken over within a batch)
            heads = self.recorder.app_state[slot] = {}
        buf = heads.setdefault(orig, Head())
        buf.take(payload)
        while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
            size = int.from_bytes(buf[:2], "big")
            self._dns_message(slot, ts, bytes(buf[2 : 2 + size]))
            del buf[: 2 + size]

    def _dns_message(self, slot: int, ts: int, payload: bytes) -> None:
        try:
            message = dns.parse_message(payload)
        except dns.DnsError as error:
            self.stats.add("dns_malformed")
            log.debug("flow %s: malformed DNS message: %s", self.recorder.community_of(self.flows, slot), error)
            return
        self.stats.add("dns_responses" if message.is_response else "dns_queries")
        if message.is_response:
            self.recorder.name_cache.learn(message, ts)
        # The flow as it is now: a later packet of the batch may still turn its direction round.
        flow = {k: v for k, v in self.recorder.describe(self.flows, slot).items() if v is not None}
        self.dns_messages.append(DnsMessage(flow, ts, message))
        self._event("dns_answer" if message.is_response else "dns_query", slot, ts, message)

    # -------------------------------------------------------------- TCP: TLS and HTTP

    def _tcp(self, slot: int, ts: int, chunk: bytes) -> None:
        rec = self.recorder
        mode = rec.mode[slot]
        if mode in (DONE, IGNORE):
            return
        if mode == HTTP:
            self._http(slot, ts, chunk, fresh=True)
            return
        buf = rec.app_state.get(slot)
        if not isinstance(buf, Head):
            buf = rec.app_state[slot] = Head()
        buf.take(chunk)
        head = bytes(buf)
        if mode == HTTP_PENDING:
            self._http(slot, ts, head, fresh=False)
        elif tls.looks_like_client_hello(head[:6]) or mode == TLS:
            self._tls(slot, ts, head)
        elif len(head) >= 6 and http.starts_request(head):
            rec.set_app(slot, http.protocol_of(head))
            self._http(slot, ts, head, fresh=False)
        elif len(head) < 16:
            return  # too short to tell yet: wait for more (bytes one per segment cost no budget)
        elif self.flows.flags[slot, 0] & SYN:
            self._stop(slot, IGNORE)  # the client's first bytes are neither TLS nor HTTP
        elif self._spend(slot):
            # Mid-stream: these may be the server's bytes; wait for the other side's.
            rec.app_state.pop(slot, None)

    def _spend(self, slot: int) -> bool:
        left = self.budget.get(slot, NEW_BUDGET) - 1
        self.budget[slot] = left
        if left <= 0:
            self._stop(slot, IGNORE)
        return left > 0

    def _stop(self, slot: int, mode: int) -> None:
        self.recorder.mode[slot] = mode
        self.recorder.app_state.pop(slot, None)
        self.budget.pop(slot, None)

    def _tls(self, slot: int, ts: int, head: bytes) -> None:
        self.recorder.mode[slot] = TLS
        try:
            hello = tls.client_hello_from_records(head)
        except tls.NeedMore:
            if len(head) >= MAX_HEAD:
                self.stats.add("tls_hello_too_long")
                self._stop(slot, IGNORE)
            return
        except tls.NotTls:
            self.stats.add("tls_malformed")
            self._stop(slot, IGNORE)
            return
        self.stats.add("tls_client_hellos")
        self.recorder.set_app(slot, "tls")
        if hello.sni:
            self.recorder.learn_name(slot, hello.sni, "tls_sni")
        self._event("tls_client_hello", slot, ts, hello)
        self._stop(slot, DONE)

    def _http(self, slot: int, ts: int, data: bytes, fresh: bool) -> None:
        rec = self.recorder
        if fresh:  # in-order bytes starting a new request in a known HTTP flow
            rec.app_state[slot] = Head(http.MAX_HEAD)
            rec.app_state[slot].take(data)
            data = bytes(rec.app_state[slot])
        if h2.starts_preface(data):  # prior knowledge, or the client's side after an h2c upgrade
            self._h2(slot, ts, data)
            return
        requests, used = http.parse_requests(data)
        for request in requests:
            self.stats.add("http_requests")
            host = http.host_of(request)
            if host:
                rec.learn_name(slot, host, "http_host")
            self._event("http_request", slot, ts, request)
        remainder = data[used:]
        if remainder and http.starts_request(remainder) and len(remainder) < http.MAX_HEAD:
            buf = rec.app_state.get(slot)
            if isinstance(buf, Head):  # keep only the unfinished head, continue with the next bytes
                del buf[: len(buf) - len(remainder)]
            rec.mode[slot] = HTTP_PENDING
            return
        rec.app_state.pop(slot, None)
        rec.mode[slot] = HTTP

    def _h2(self, slot: int, ts: int, data: bytes) -> None:
        """HTTP/2 in clear text: the first request's :authority is the name, learned as http_host."""
        try:
            request = h2.first_request(data)
        except h2.NeedMore:
            buf = self.recorder.app_state.get(slot)
            if isinstance(buf, Head) and not buf.full:
                self.recorder.mode[slot] = HTTP_PENDING  # the head keeps the bytes until HEADERS come
                return
            self.stats.add("h2_headers_not_found")
        except h2.H2Error as error:
            self.stats.add("h2_malformed")
            log.debug("flow %s: unreadable HTTP/2: %s", self.recorder.community_of(self.flows, slot), error)
        else:
            self.stats.add("h2_requests")
            self.recorder.set_app(slot, "http2")
            host = h2.host_of(request)
            if host:
                self.recorder.learn_name(slot, host, "http_host")
            self._event("h2_request", slot, ts, request)
        self._stop(slot, DONE)

    # -------------------------------------------------------------- QUIC

    def _quic(self, slot: int, ts: int, datagram: bytes) -> None:
        rec = self.recorder
        if rec.mode[slot] not in (NEW, QUIC):
            return
        state = rec.app_state.get(slot)
        if not isinstance(state, _QuicState):
            state = rec.app_state[slot] = _QuicState()
        rec.mode[slot] = QUIC
        rec.set_app(slot, "quic")
        try:
            packets = quic.initial_packets(datagram, state.dcids)
            for packet in packets:
                if packet.dcid not in state.dcids:
                    state.dcids.append(packet.dcid)
                for offset, chunk in quic.crypto_frames(packet.frames_payload):
                    hello = state.crypto.add(offset, chunk)
                    if hello is not None:
                        self._quic_named(slot, ts, hello)
                        return
        except (quic.QuicError, tls.NotTls) as error:
            self.stats.add("quic_malformed")
            log.debug("flow %s: unreadable QUIC Initial: %s", rec.community_of(self.flows, slot), error)
        state.seen += 1
        if state.seen >= QUIC_BUDGET:
            self._stop(slot, IGNORE)

    def _gquic(self, slot: int, ts: int, datagram: bytes) -> None:
        rec = self.recorder
        if rec.mode[slot] not in (NEW, QUIC) or not gquic.looks_like_gquic(datagram):
            return
        rec.mode[slot] = QUIC
        rec.set_app(slot, "gquic")
        hello = gquic.client_hello(datagram)
        if hello is None:
            self._spend(slot)
            return
        self._quic_named(slot, ts, hello, "gquic_client_hello")

    def _quic_named(self, slot: int, ts: int, hello: tls.ClientHello | gquic.GquicHello, kind: str = "quic_client_hello") -> None:
        self.stats.add("quic_client_hellos")
        if hello.sni:
            self.recorder.learn_name(slot, hello.sni, "quic_sni")
        self._event(kind, slot, ts, hello)
        self._stop(slot, DONE)


@dataclass
class _QuicState:
    crypto: quic.CryptoAssembler = field(default_factory=quic.CryptoAssembler)
    dcids: list[bytes] = field(default_factory=list)
    seen: int = 0
