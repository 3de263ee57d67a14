"""Vectorized L2-L4 header parsing of a whole PacketBatch.

Each step is a handful of numpy gathers over every packet at once: link layer (Ethernet with
any stack of 802.1Q/802.1ad tags, MPLS, PPPoE; Linux SLL and SLL2; BSD NULL/loopback; raw
IP), then IPv4 or IPv6 with its extension-header chain, then TCP/UDP/ICMP. Nothing loops per
packet. A packet that cannot be parsed keeps a Status code saying why; nothing is dropped
without being counted.

Tunnels (GRE and ERSPAN, VXLAN, Geneve, IP-in-IP, 6in4, GTP-U: see tunnels.py) are unwrapped
one encapsulation layer per pass: each pass parses the inner link and IP headers of only the
rows that still carry a tunnel, so the loop runs over layers, never over packets, and the
flow is keyed on the innermost 5-tuple. Every chain an evader can stretch has a bound (VLAN
tags, MPLS labels, IPv6 extension headers, GTP-U extension headers, tunnel layers); a packet
past one is not guessed at but counted as Status.DEPTH_LIMIT.

With the native core (monitor/native/src/gw_headers.c) the same rules run in C, one row at a
time, straight into the same columns; this numpy code is the reference it is tested against
(tests/native/test_headers_equivalence.py) and the fallback without the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .. import native
from . import tunnels
from .packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    LINKTYPE_RAW_ALIASES,
    PacketBatch,
)

ETH_IPV4, ETH_IPV6, ETH_RAW_GUESS = 0x0800, 0x86DD, 0xFFFF
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100, 0x9200)
MPLS_TYPES = (0x8847, 0x8848)
PPPOE_SESSION = 0x8864
PPPOE_MPLS = 0x8847  # what PPP protocol 0x0281 (MPLS unicast) maps to
#: Bounds of the chains a packet may stack (real networks use 2 tags, 3-4 labels, 2-3 extension
#: headers); a packet past one is counted as Status.DEPTH_LIMIT.
MAX_TAGS, MAX_MPLS, MAX_EXT = 16, 16, 16
MAX_TUNNELS = tunnels.MAX_TUNNELS
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 = 1, 6, 17, 58
IPV6_EXT = (0, 43, 60, 51, 135, 139, 140)  # hop-by-hop, routing, dest opts, AH, mobility, HIP, shim6
IPV6_FRAG = 44


class Status(IntEnum):
    OK = 0
    NOT_IP = 1  # ARP, LLDP, ...: counted, not a flow
    UNSUPPORTED_LINK = 2
    TRUNCATED = 3  # a header (or the IP length) runs past the captured or wire bytes
    BAD_IP = 4  # version, header length or total length field impossible
    FRAGMENT = 5  # part of a fragmented datagram: goes to the reassembler
    DEPTH_LIMIT = 6  # more tags, labels, extension headers or tunnel layers than the bounds above

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(eq=False)
class Headers:
    """Parsed header columns, one row per packet of the batch they came from."""

    status: np.ndarray  # uint8 Status
    vlan: np.ndarray  # uint32: outer VLAN id << 12 | inner VLAN id (0 without tags)
    l3: np.ndarray  # int64 offset of the IP header in batch.data
    version: np.ndarray  # uint8 4 or 6
    proto: np.ndarray  # uint8 upper-layer protocol after IPv6 extension headers
    src: np.ndarray  # uint64 [N, 2] address as (high, low) 64-bit halves; IPv4 in the low half
    dst: np.ndarray  # uint64 [N, 2]
    ip_bytes: np.ndarray  # int64 IP-level length (header + payload) as the packet claims
    sport: np.ndarray  # uint16; ICMP type for ICMP
    dport: np.ndarray  # uint16; ICMP code for ICMP
    tcp_flags: np.ndarray  # uint8
    tcp_seq: np.ndarray  # uint32
    payload: np.ndarray  # int64 offset of the L4 payload in batch.data
    payload_len: np.ndarray  # int64 L4 payload bytes the headers claim
    captured_len: np.ndarray  # int64 of those, how many were captured
    frag_id: np.ndarray  # uint32 IPv4 identification / IPv6 fragment id
    frag_offset: np.ndarray  # int64 byte offset of a fragment
    frag_more: np.ndarray  # bool more-fragments flag
    depth: np.ndarray  # uint8 tunnel layers unwrapped (0: the packet as captured)
    tunnel: tunnels.TunnelColumns | None = None  # the layers of tunnelled rows; None when none was

    def layers(self, row: int) -> list[dict]:
        """Row's encapsulation path, outermost first ([] for a packet in no tunnel)."""
        if self.tunnel is None or not self.depth[row]:
            return []
        return tunnels.layers(self.tunnel, int(self.depth[row]), row)

    def __len__(self) -> int:
        return int(self.status.shape[0])


class _Reader:
    """Big-endian gathers at per-packet offsets, clipped to the buffer, masked by the packet end."""

    def __init__(self, batch: PacketBatch) -> None:
        self.data = batch.data
        self.last = batch.data.size - 1
        self.end = batch.offset + batch.caplen

    def u8(self, at: np.ndarray) -> np.ndarray:
        return self.data[np.minimum(at, self.last)].astype(np.int64)

    def u16(self, at: np.ndarray) -> np.ndarray:
        return (self.u8(at) << 8) | self.u8(at + 1)

    def u32(self, at: np.ndarray) -> np.ndarray:
        return (self.u16(at) << 16) | self.u16(at + 2)

    def u64(self, at: np.ndarray) -> np.ndarray:
        return (self.u32(at).astype(np.uint64) << np.uint64(32)) | self.u32(at + 4).astype(np.uint64)


def parse_headers(batch: PacketBatch, strict_length: bool = False) -> Headers:
    """Parse every packet of the batch.

    A packet whose snap length cut it short still counts with the IP length its header
    claims, as long as the wire length confirms it. ``strict_length`` instead treats any IP
    datagram not captured whole as truncated, which is what Suricata does.
    """
    core = native.kernels
    if core is not None and batch.data.size:
        return _parse_native(core, batch, strict_length)
    n = len(batch)
    r = _Reader(batch)
    status = np.zeros(n, dtype=np.uint8)
    l3, ethertype, vlan = _link_layer(batch, r, status)
    h = _empty(n, status, vlan, l3)
    wire_end = batch.offset + (batch.caplen if strict_length else batch.wirelen)
    rows = np.flatnonzero(status == Status.OK)
    kinds = ethertype[rows]
    for depth in range(MAX_TUNNELS + 1):
        _ip_layer(r, h, rows, kinds, wire_end)
        step = tunnels.recognise(r, h, rows[h.status[rows] == Status.OK])
        if step is None:
            break
        if depth == MAX_TUNNELS:
            h.status[step.rows] = Status.DEPTH_LIMIT
            break
        rows, kinds = _unwrap(r, h, step, depth)
    _transport_layer(r, h)
    return h


def _parse_native(core, batch: PacketBatch, strict_length: bool) -> Headers:
    """parse_headers in C (monitor/native/src/gw_headers.c): every column of every row in one
    pass. The tunnel columns are made (and the pass run again to fill them) only for a batch
    where a tunnel was found, as the numpy code makes them only then."""
    n = len(batch)
    h = Headers(
        status=np.empty(n, np.uint8), vlan=np.empty(n, np.uint32), l3=np.empty(n, np.int64),
        version=np.empty(n, np.uint8), proto=np.empty(n, np.uint8), src=np.empty((n, 2), np.uint64),
        dst=np.empty((n, 2), np.uint64), ip_bytes=np.empty(n, np.int64), sport=np.empty(n, np.uint16),
        dport=np.empty(n, np.uint16), tcp_flags=np.empty(n, np.uint8), tcp_seq=np.empty(n, np.uint32),
        payload=np.empty(n, np.int64), payload_len=np.empty(n, np.int64), captured_len=np.empty(n, np.int64),
        frag_id=np.empty(n, np.uint32), frag_offset=np.empty(n, np.int64), frag_more=np.empty(n, bool),
        depth=np.empty(n, np.uint8),
    )
    columns = (h.status, h.vlan, h.l3, h.version, h.proto, h.src, h.dst, h.ip_bytes, h.sport, h.dport, h.tcp_flags,
               h.tcp_seq, h.payload, h.payload_len, h.captured_len, h.frag_id, h.frag_offset,
               h.frag_more.view(np.uint8), h.depth)
    inputs = (batch.data, _contiguous(batch.offset, np.int64), _contiguous(batch.caplen, np.int32),
              _contiguous(batch.wirelen, np.int32), _contiguous(batch.linktype, np.uint16), strict_length)
    if core.headers_parse(*inputs, *columns):
        t = h.tunnel = tunnels.TunnelColumns.empty(n)
        core.headers_parse(*inputs, *columns, t.kind, t.ident, t.outer_version, t.outer_src, t.outer_dst)
    return h


def _contiguous(column: np.ndarray, dtype) -> np.ndarray:
    """A batch column as the C reads it (batches split by take() may hold strided views)."""
    return np.ascontiguousarray(column, dtype=dtype)


def _unwrap(r: _Reader, h: Headers, step: tunnels.Step, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Record one tunnel layer and parse the inner link layer: (rows now at an inner IP header, ethertypes)."""
    if h.tunnel is None:
        h.tunnel = tunnels.TunnelColumns.empty(len(h))
    h.tunnel.note(depth, step, h)
    h.depth[step.rows] = depth + 1
    h.status[step.rows[step.cut]] = Status.DEPTH_LIMIT
    rows, start, inner = step.rows[~step.cut], step.start[~step.cut], step.inner[~step.cut]
    l3, ethertype = start.copy(), np.zeros(len(rows), np.int64)
    ethertype[inner == tunnels.Inner.IPV4] = ETH_IPV4
    ethertype[inner == tunnels.Inner.IPV6] = ETH_IPV6
    guess = inner == tunnels.Inner.IP_BY_NIBBLE
    ethertype[guess] = _by_version_nibble(r, start[guess])
    cut = np.zeros(len(rows), bool)
    eth = inner == tunnels.Inner.ETHERNET
    if eth.any():
        l3[eth], ethertype[eth], _vlan, cut[eth] = _ethernet(r, start[eth])
    mpls = inner == tunnels.Inner.MPLS
    if mpls.any():
        l3[mpls], ethertype[mpls], cut[mpls] = _mpls(r, start[mpls], np.ones(int(mpls.sum()), bool))
    status = _link_status(r, rows, l3, ethertype, cut)
    h.status[rows] = status
    h.l3[rows] = l3
    h.src[rows] = h.dst[rows] = 0  # an inner IPv4 header fills only the low halves
    ok = status == Status.OK
    return rows[ok], ethertype[ok]


def _link_status(r: _Reader, rows: np.ndarray, l3: np.ndarray, ethertype: np.ndarray, cut: np.ndarray) -> np.ndarray:
    status = np.full(len(rows), Status.OK, np.uint8)
    status[(ethertype != ETH_IPV4) & (ethertype != ETH_IPV6)] = Status.NOT_IP
    status[l3 > r.end[rows]] = Status.TRUNCATED
    status[cut] = Status.DEPTH_LIMIT
    return status


def _empty(n: int, status, vlan, l3) -> Headers:
    z64 = np.zeros(n, dtype=np.int64)
    return Headers(
        status=status, vlan=vlan, l3=l3, version=np.zeros(n, np.uint8), proto=np.zeros(n, np.uint8),
        src=np.zeros((n, 2), np.uint64), dst=np.zeros((n, 2), np.uint64), ip_bytes=z64.copy(),
        sport=np.zeros(n, np.uint16), dport=np.zeros(n, np.uint16), tcp_flags=np.zeros(n, np.uint8),
        tcp_seq=np.zeros(n, np.uint32), payload=z64.copy(), payload_len=z64.copy(), captured_len=z64.copy(),
        frag_id=np.zeros(n, np.uint32), frag_offset=z64.copy(), frag_more=np.zeros(n, bool),
        depth=np.zeros(n, np.uint8),
    )


# ---------------------------------------------------------------- link layer

def _link_layer(batch: PacketBatch, r: _Reader, status: np.ndarray):
    n = len(batch)
    l3 = batch.offset.copy()
    ethertype = np.zeros(n, dtype=np.int64)
    vlan = np.zeros(n, dtype=np.uint32)
    cut = np.zeros(n, dtype=bool)
    linktypes: np.ndarray = np.unique(batch.linktype)
    for linktype in linktypes:
        mine = np.flatnonzero(batch.linktype == linktype) if len(linktypes) > 1 else slice(None)
        start = batch.offset[mine]
        lt = int(linktype)
        if lt == LINKTYPE_ETHERNET:
            l3[mine], ethertype[mine], vlan[mine], cut[mine] = _ethernet(r, start)
        elif lt == LINKTYPE_LINUX_SLL:
            l3[mine], ethertype[mine] = start + 16, r.u16(start + 14)
        elif lt == LINKTYPE_LINUX_SLL2:
            l3[mine], ethertype[mine] = start + 20, r.u16(start)
        elif lt in (LINKTYPE_NULL, LINKTYPE_LOOP):
            l3[mine], ethertype[mine] = start + 4, _bsd_family(r, start)
        elif lt in (LINKTYPE_RAW, *LINKTYPE_RAW_ALIASES):
            l3[mine], ethertype[mine] = start, ETH_RAW_GUESS
        elif lt == LINKTYPE_IPV4:
            l3[mine], ethertype[mine] = start, ETH_IPV4
        elif lt == LINKTYPE_IPV6:
            l3[mine], ethertype[mine] = start, ETH_IPV6
        else:
            status[mine] = Status.UNSUPPORTED_LINK
    guess = ethertype == ETH_RAW_GUESS
    if guess.any():
        ethertype[guess] = _by_version_nibble(r, l3[guess])
    ok = status == Status.OK  # whole-column masks: every packet passes here
    status[ok & (ethertype != ETH_IPV4) & (ethertype != ETH_IPV6)] = Status.NOT_IP
    status[ok & (l3 > r.end)] = Status.TRUNCATED
    status[ok & cut] = Status.DEPTH_LIMIT
    return l3, ethertype, vlan


def _ethernet(r: _Reader, start: np.ndarray):
    """(payload offset, ethertype, VLAN ids, cut) of Ethernet frames: tags, PPPoE, MPLS."""
    at = start + 12
    ethertype = r.u16(at)
    vlan = np.zeros(len(start), dtype=np.uint32)
    for _ in range(MAX_TAGS):
        tagged = np.isin(ethertype, VLAN_TPIDS)
        if not tagged.any():
            break
        tag = r.u16(at + 2) & 0xFFF
        vlan = np.where(tagged & (vlan < 4096), (vlan << 12) | tag.astype(np.uint32), vlan)
        at = np.where(tagged, at + 4, at)
        ethertype = np.where(tagged, r.u16(at), ethertype)
    cut = np.isin(ethertype, VLAN_TPIDS)
    at = at + 2  # past the final ethertype: at = start of the payload
    pppoe = ethertype == PPPOE_SESSION
    if pppoe.any():
        at, ethertype = _pppoe(r, at, ethertype, pppoe)
    mpls = np.isin(ethertype, MPLS_TYPES)
    if mpls.any():
        at, inner, mpls_cut = _mpls(r, at, mpls)
        ethertype = np.where(mpls, inner, ethertype)
        cut |= mpls_cut
    return at, ethertype, vlan, cut


def _pppoe(r: _Reader, at, ethertype, pppoe):
    """A PPPoE session header (6 bytes), then the PPP protocol field: one byte when its value is
    odd (protocol-field compression, RFC 1661 6.5: 0x21 is IPv4), two bytes otherwise."""
    first = r.u8(at + 6)
    compressed = (first & 1) == 1
    ppp = np.where(compressed, first, r.u16(at + 6))
    inner = np.select([ppp == 0x21, ppp == 0x57, ppp == 0x281], [ETH_IPV4, ETH_IPV6, PPPOE_MPLS], 0)
    return np.where(pppoe, at + 6 + np.where(compressed, 1, 2), at), np.where(pppoe, inner, ethertype)


def _mpls(r: _Reader, at, mpls):
    """Pop labels to the bottom of the stack; the payload's IP version nibble names it.

    Returns (offset, ethertype, cut): rows with more than MAX_MPLS labels are cut."""
    inside = mpls.copy()
    for _ in range(MAX_MPLS):
        bottom = (r.u8(at + 2) & 1).astype(bool)
        at = np.where(inside, at + 4, at)
        inside &= ~bottom
        if not inside.any():
            break
    ethertype = np.where(mpls, _by_version_nibble(r, at), 0)
    return at, ethertype, inside


def _bsd_family(r: _Reader, start: np.ndarray) -> np.ndarray:
    """NULL link type: the AF_ value in host byte order (of the capturing host), so try both."""
    first, last = r.u8(start), r.u8(start + 3)
    family = np.maximum(first, last)
    return np.select([family == 2, np.isin(family, (10, 24, 28, 30))], [ETH_IPV4, ETH_IPV6], 0)


def _by_version_nibble(r: _Reader, at: np.ndarray) -> np.ndarray:
    nibble = r.u8(at) >> 4
    return np.select([nibble == 4, nibble == 6], [ETH_IPV4, ETH_IPV6], 0)


# ---------------------------------------------------------------- IP layer

def _ip_layer(r: _Reader, h: Headers, rows: np.ndarray, ethertype: np.ndarray, wire_end: np.ndarray) -> None:
    """Parse the IP header at h.l3 of the given rows (an outer one, or the inner one of a tunnel)."""
    v4, v6 = rows[ethertype == ETH_IPV4], rows[ethertype == ETH_IPV6]
    if len(v4):
        _ipv4(r, h, v4, wire_end[v4])
    if len(v6):
        _ipv6(r, h, v6, wire_end[v6])


def _ipv4(r: _Reader, h: Headers, rows: np.ndarray, wire_end: np.ndarray) -> None:
    at = h.l3[rows]
    first = r.u8(at)
    ihl = (first & 0xF) * 4
    total = r.u16(at + 2)
    flags_frag = r.u16(at + 6)
    h.version[rows] = 4
    h.proto[rows] = r.u8(at + 9)
    h.src[rows, 1] = r.u32(at + 12).astype(np.uint64)
    h.dst[rows, 1] = r.u32(at + 16).astype(np.uint64)
    h.ip_bytes[rows] = total
    h.frag_id[rows] = r.u16(at + 4)
    h.frag_offset[rows] = (flags_frag & 0x1FFF) * 8
    h.frag_more[rows] = (flags_frag & 0x2000) != 0
    h.payload[rows] = at + ihl  # the L4 header, until _transport_layer moves it past that
    h.payload_len[rows] = total - ihl
    bad = ((first >> 4) != 4) | (ihl < 20) | (total < ihl)
    truncated = ~bad & ((at + ihl > r.end[rows]) | (at + total > wire_end))
    _set_status(h, rows, bad, truncated)


def _ipv6(r: _Reader, h: Headers, rows: np.ndarray, wire_end: np.ndarray) -> None:
    at = h.l3[rows]
    total = 40 + r.u16(at + 4)
    h.version[rows] = 6
    h.src[rows, 0], h.src[rows, 1] = r.u64(at + 8), r.u64(at + 16)
    h.dst[rows, 0], h.dst[rows, 1] = r.u64(at + 24), r.u64(at + 32)
    h.ip_bytes[rows] = total
    nh, cursor = r.u8(at + 6), at + 40
    frag_off = np.zeros(len(rows), dtype=np.int64)
    frag_more = np.zeros(len(rows), dtype=bool)
    frag_id = np.zeros(len(rows), dtype=np.int64)
    is_frag = np.zeros(len(rows), dtype=bool)
    end = r.end[rows]
    for _ in range(MAX_EXT):
        # After a fragment header the bytes belong to the fragmentable part: stop there. Past
        # the captured bytes there is nothing to follow (the row is truncated below).
        ext = np.isin(nh, IPV6_EXT) & ~is_frag & (cursor < end)
        frag = (nh == IPV6_FRAG) & ~is_frag & (cursor < end)
        if not (ext.any() or frag.any()):
            break
        word = r.u16(cursor + 2)
        frag_off = np.where(frag, word & 0xFFF8, frag_off)
        frag_more = np.where(frag, (word & 1) != 0, frag_more)
        frag_id = np.where(frag, r.u32(cursor + 4), frag_id)
        is_frag |= frag
        length = np.where(nh == 51, (r.u8(cursor + 1) + 2) * 4, (r.u8(cursor + 1) + 1) * 8)
        length = np.where(frag, 8, length)
        moving = ext | frag
        nh = np.where(moving, r.u8(cursor), nh)
        cursor = np.where(moving, cursor + length, cursor)
    h.proto[rows] = nh
    h.payload[rows] = cursor
    h.payload_len[rows] = at + total - cursor
    h.frag_id[rows] = frag_id
    h.frag_offset[rows] = np.where(is_frag, frag_off, 0)
    # An atomic fragment (offset 0, no more) is a whole datagram: parse it as one.
    h.frag_more[rows] = frag_more
    bad = ((r.u8(at) >> 4) != 6) | (cursor > at + total)
    chain = (np.isin(nh, IPV6_EXT) | (nh == IPV6_FRAG)) & ~is_frag
    truncated = ~bad & ((at + 40 > end) | (at + total > wire_end) | (cursor > end) | (chain & (cursor >= end)))
    # Still inside the chain after MAX_EXT headers: counted as cut rather than guessed at.
    cut = ~bad & ~truncated & chain
    _set_status(h, rows, bad, truncated, cut)


def _set_status(h: Headers, rows, bad, truncated, cut=None) -> None:
    h.status[rows[bad]] = Status.BAD_IP
    h.status[rows[truncated]] = Status.TRUNCATED
    if cut is not None:
        h.status[rows[cut]] = Status.DEPTH_LIMIT
        truncated = truncated | cut
    fragment = ~bad & ~truncated & (h.frag_more[rows] | (h.frag_offset[rows] > 0))
    h.status[rows[fragment]] = Status.FRAGMENT


# ---------------------------------------------------------------- transport layer

def _transport_layer(r: _Reader, h: Headers) -> None:
    ok = h.status == Status.OK
    tcp = np.flatnonzero(ok & (h.proto == IPPROTO_TCP))
    udp = np.flatnonzero(ok & (h.proto == IPPROTO_UDP))
    icmp = np.flatnonzero(ok & ((h.proto == IPPROTO_ICMP) | (h.proto == IPPROTO_ICMPV6)))
    ip_end = h.l3 + h.ip_bytes
    if len(tcp):
        at = h.payload[tcp]
        h.sport[tcp], h.dport[tcp] = r.u16(at), r.u16(at + 2)
        h.tcp_seq[tcp] = r.u32(at + 4)
        h.tcp_flags[tcp] = r.u8(at + 13)
        offset = (r.u8(at + 12) >> 4) * 4
        _set_payload(r, h, tcp, at + offset, ip_end[tcp], (offset < 20) | (at + offset > ip_end[tcp]))
    if len(udp):
        at = h.payload[udp]
        h.sport[udp], h.dport[udp] = r.u16(at), r.u16(at + 2)
        udp_end = np.minimum(at + r.u16(at + 4), ip_end[udp])
        _set_payload(r, h, udp, at + 8, udp_end, at + 8 > ip_end[udp])
    if len(icmp):
        at = h.payload[icmp]
        h.sport[icmp], h.dport[icmp] = r.u8(at), r.u8(at + 1)
        _set_payload(r, h, icmp, at + 4, ip_end[icmp], at + 4 > ip_end[icmp])
    other = np.flatnonzero(ok & ~np.isin(h.proto, (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6)))
    h.captured_len[other] = np.clip(np.minimum(ip_end[other], r.end[other]) - h.payload[other], 0, None)


def _set_payload(r: _Reader, h: Headers, rows, start, end, malformed) -> None:
    h.payload[rows] = start
    h.payload_len[rows] = np.maximum(end - start, 0)
    h.captured_len[rows] = np.clip(np.minimum(end, r.end[rows]) - start, 0, None)
    header_missing = start > r.end[rows]
    h.status[rows[malformed | header_missing]] = Status.TRUNCATED
