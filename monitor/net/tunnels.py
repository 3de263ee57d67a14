"""Tunnel headers a gateway may carry, recognised for a whole batch at once.

``recognise`` looks at the rows whose IP payload may be a tunnel (IP protocol 4, 41, 47; UDP
to 4789, 6081, 2152) and says, per row, which tunnel it is, its identifier (GRE key, ERSPAN
session, VNI, TEID) and where the inner packet starts and what it is (IP by protocol or by
version nibble, an Ethernet frame, an MPLS stack). headers.py parses that inner packet with
the same code as an outer one, one encapsulation layer per numpy pass.

A header that does not fit its tunnel (a GRE with routing or version 1, VXLAN without the I
flag, a GTP-U message that is not a G-PDU) is not unwrapped: the packet stays a flow of its
outer addresses, as before, so a malformed tunnel never hides the outer conversation.

``TunnelColumns`` keeps, per row, the kind and identifier of every layer and the addresses
of the outermost IP header; ``layers`` turns one row into the flow record's ``tunnel`` list.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .headers import Headers, _Reader

#: Tunnel layers unwrapped per packet; one more is a depth-limit cut (Status.DEPTH_LIMIT).
MAX_TUNNELS = 8
#: GTP-U extension headers followed per layer; a longer chain is a depth-limit cut.
MAX_GTP_EXT = 16
NO_ID = -1

PORT_VXLAN, PORT_GENEVE, PORT_GTPU = 4789, 6081, 2152
GRE_IPV4, GRE_IPV6, GRE_ETHERNET = 0x0800, 0x86DD, 0x6558
GRE_MPLS = (0x8847, 0x8848)
GRE_ERSPAN_2, GRE_ERSPAN_3 = 0x88BE, 0x22EB  # 0x88BE without a sequence number is ERSPAN type I
GTP_GPDU = 0xFF


class Kind(IntEnum):
    NONE = 0
    GRE = 1
    ERSPAN1 = 2
    ERSPAN2 = 3
    ERSPAN3 = 4
    VXLAN = 5
    GENEVE = 6
    IPIP = 7  # IP protocol 4: IPv4 inside IPv4 or IPv6
    SIXIN4 = 8  # IP protocol 41: IPv6 inside IPv4 (or IPv6)
    GTPU = 9


class Inner(IntEnum):
    """What starts where the tunnel header ends."""

    NONE = 0
    IPV4 = 1
    IPV6 = 2
    IP_BY_NIBBLE = 3
    ETHERNET = 4
    MPLS = 5


NAMES = {Kind.GRE: "gre", Kind.ERSPAN1: "erspan1", Kind.ERSPAN2: "erspan2", Kind.ERSPAN3: "erspan3",
         Kind.VXLAN: "vxlan", Kind.GENEVE: "geneve", Kind.IPIP: "ipip", Kind.SIXIN4: "6in4", Kind.GTPU: "gtpu"}
#: The record's name for the identifier of each kind of layer.
ID_NAMES = {Kind.GRE: "key", Kind.ERSPAN1: "session", Kind.ERSPAN2: "session", Kind.ERSPAN3: "session",
            Kind.VXLAN: "vni", Kind.GENEVE: "vni", Kind.GTPU: "teid"}


@dataclass(eq=False)
class Step:
    """One layer of tunnels found in a pass: parallel columns over ``rows``."""

    rows: np.ndarray  # int64 rows of the batch that carry a tunnel here
    kind: np.ndarray  # uint8 Kind
    ident: np.ndarray  # int64 identifier or NO_ID
    start: np.ndarray  # int64 offset of the inner packet
    inner: np.ndarray  # uint8 Inner
    cut: np.ndarray  # bool: the tunnel's own header chain ran past its bound


@dataclass(eq=False)
class TunnelColumns:
    kind: np.ndarray  # uint8 [N, MAX_TUNNELS], outermost layer first
    ident: np.ndarray  # int64 [N, MAX_TUNNELS]
    outer_version: np.ndarray  # uint8 [N]: the outermost IP header of a tunnelled row
    outer_src: np.ndarray  # uint64 [N, 2]
    outer_dst: np.ndarray  # uint64 [N, 2]

    @classmethod
    def empty(cls, n: int) -> TunnelColumns:
        return cls(np.zeros((n, MAX_TUNNELS), np.uint8), np.full((n, MAX_TUNNELS), NO_ID, np.int64),
                   np.zeros(n, np.uint8), np.zeros((n, 2), np.uint64), np.zeros((n, 2), np.uint64))

    def note(self, depth: int, step: Step, h: Headers) -> None:
        """Record a layer; at depth 0 the outer addresses too (before the inner parse replaces them)."""
        self.kind[step.rows, depth] = step.kind
        self.ident[step.rows, depth] = step.ident
        if depth == 0:
            self.outer_version[step.rows] = h.version[step.rows]
            self.outer_src[step.rows] = h.src[step.rows]
            self.outer_dst[step.rows] = h.dst[step.rows]


def layers(t: TunnelColumns, depth: int, row: int) -> list[dict]:
    """The encapsulation path of one row, outermost first, for the flow record."""
    out = []
    for k in range(depth):
        kind = Kind(int(t.kind[row, k]))
        layer: dict = {"type": NAMES[kind]}
        ident = int(t.ident[row, k])
        if ident != NO_ID and kind in ID_NAMES:
            layer[ID_NAMES[kind]] = ident
        out.append(layer)
    if out:
        version = int(t.outer_version[row])
        src, dst = (_text(version, t.outer_src[row]), _text(version, t.outer_dst[row]))
        out[0]["outer"] = f"{src}->{dst}"
    return out


def _text(version: int, pair: np.ndarray) -> str:
    value = (int(pair[0]) << 64) | int(pair[1])
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


# ---------------------------------------------------------------- recognition

def recognise(r: _Reader, h: Headers, rows: np.ndarray) -> Step | None:
    """The tunnels among ``rows`` (parsed IP packets, not fragments), or None."""
    proto = h.proto[rows]
    ip_tunnel = (proto == 4) | (proto == 41) | (proto == 47)
    udp = rows[proto == 17]  # ports are read for UDP rows only: this pass sees every packet
    at = h.payload[udp]  # the L4 header: the transport layer has not moved it yet
    dport, sport = r.u16(at + 2), r.u16(at)
    udp = udp[(dport == PORT_VXLAN) | (dport == PORT_GENEVE) | (dport == PORT_GTPU) | (sport == PORT_GTPU)]
    if not (len(udp) or ip_tunnel.any()):
        return None
    rows = np.concatenate([rows[ip_tunnel], udp])
    proto, at = h.proto[rows], h.payload[rows]
    dport = r.u16(at + 2)
    n = len(rows)
    step = Step(rows, np.zeros(n, np.uint8), np.full(n, NO_ID, np.int64), at.copy(), np.zeros(n, np.uint8),
                np.zeros(n, bool))
    _ip_in_ip(step, proto)
    _gre(r, step, proto == 47, at)
    ip_end = h.l3[rows] + h.ip_bytes[rows]
    header_captured = (at + 8 <= r.end[rows]) & (at + 8 <= ip_end)
    udp = (proto == 17) & header_captured
    _vxlan(r, step, udp & (dport == PORT_VXLAN), at + 8)
    _geneve(r, step, udp & (dport == PORT_GENEVE), at + 8)
    _gtpu(r, step, udp & ~np.isin(dport, (PORT_VXLAN, PORT_GENEVE)), at + 8, r.u16(at + 4) - 8)
    found = step.kind != Kind.NONE
    # A tunnel header that runs past the datagram is no tunnel: the outer flow keeps the packet.
    found &= step.start <= ip_end
    if not found.any():
        return None
    keep = np.flatnonzero(found)
    return Step(step.rows[keep], step.kind[keep], step.ident[keep], step.start[keep], step.inner[keep], step.cut[keep])


def _set(step: Step, where: np.ndarray, kind, start, inner, ident=NO_ID) -> None:
    step.kind[where] = np.broadcast_to(kind, where.shape)[where]
    step.start[where] = np.broadcast_to(start, where.shape)[where]
    step.inner[where] = np.broadcast_to(inner, where.shape)[where]
    step.ident[where] = np.broadcast_to(ident, where.shape)[where]


def _ip_in_ip(step: Step, proto: np.ndarray) -> None:
    _set(step, proto == 4, Kind.IPIP, step.start, Inner.IPV4)
    _set(step, proto == 41, Kind.SIXIN4, step.start, Inner.IPV6)


def _gre(r: _Reader, step: Step, gre: np.ndarray, at: np.ndarray) -> None:
    """RFC 2784/2890 GRE version 0: optional checksum, key and sequence number words.

    Routing (the deprecated RFC 1701 R bit) and version 1 (PPTP) are left as GRE flows.
    """
    if not gre.any():
        return
    flags, ptype = r.u16(at), r.u16(at + 2)
    checksum, key, seq = (flags >> 15) & 1, (flags >> 13) & 1, (flags >> 12) & 1
    plain = gre & ((flags & 0x4007) == 0)
    body = at + 4 + 4 * (checksum + key + seq)
    gre_key = np.where(key == 1, r.u32(at + 4 + 4 * checksum), NO_ID)
    _set(step, plain & (ptype == GRE_IPV4), Kind.GRE, body, Inner.IPV4, gre_key)
    _set(step, plain & (ptype == GRE_IPV6), Kind.GRE, body, Inner.IPV6, gre_key)
    _set(step, plain & (ptype == GRE_ETHERNET), Kind.GRE, body, Inner.ETHERNET, gre_key)
    _set(step, plain & np.isin(ptype, GRE_MPLS), Kind.GRE, body, Inner.MPLS, gre_key)
    session = r.u16(body + 2) & 0x3FF
    erspan = plain & (ptype == GRE_ERSPAN_2)
    # Type II has a sequence number and an 8-byte header of version 1; type I has neither.
    _set(step, erspan & (seq == 0), Kind.ERSPAN1, body, Inner.ETHERNET)
    _set(step, erspan & (seq == 1) & ((r.u8(body) >> 4) == 1), Kind.ERSPAN2, body + 8, Inner.ETHERNET, session)
    # Type III: a 12-byte header of version 2, an 8-byte platform subheader when O is set; the
    # frame type (FT) says Ethernet (0) or IP (2).
    erspan3 = plain & (ptype == GRE_ERSPAN_3) & ((r.u8(body) >> 4) == 2)
    frame_type = (r.u8(body + 10) >> 2) & 0x1F
    start = body + 12 + 8 * (r.u8(body + 11) & 1)
    _set(step, erspan3 & (frame_type == 0), Kind.ERSPAN3, start, Inner.ETHERNET, session)
    _set(step, erspan3 & (frame_type == 2), Kind.ERSPAN3, start, Inner.IP_BY_NIBBLE, session)


def _vxlan(r: _Reader, step: Step, vxlan: np.ndarray, at: np.ndarray) -> None:
    """RFC 7348: the I flag says the VNI is valid; an Ethernet frame follows the 8 bytes."""
    valid = vxlan & ((r.u8(at) & 0x08) != 0)
    _set(step, valid, Kind.VXLAN, at + 8, Inner.ETHERNET, r.u32(at + 4) >> 8)


def _geneve(r: _Reader, step: Step, geneve: np.ndarray, at: np.ndarray) -> None:
    """RFC 8926: version 0, options of (first byte & 63) words, then the protocol type's payload."""
    first, ptype = r.u8(at), r.u16(at + 2)
    valid = geneve & ((first >> 6) == 0)
    start = at + 8 + (first & 0x3F) * 4
    vni = r.u32(at + 4) >> 8
    _set(step, valid & (ptype == GRE_ETHERNET), Kind.GENEVE, start, Inner.ETHERNET, vni)
    _set(step, valid & (ptype == GRE_IPV4), Kind.GENEVE, start, Inner.IPV4, vni)
    _set(step, valid & (ptype == GRE_IPV6), Kind.GENEVE, start, Inner.IPV6, vni)


def _gtpu(r: _Reader, step: Step, maybe: np.ndarray, at: np.ndarray, udp_payload: np.ndarray) -> None:
    """3GPP TS 29.281: version 1, protocol type GTP; only a G-PDU (0xFF) carries a user packet.

    Echo, error indication and end marker messages stay flows of the outer UDP. The length
    field must match the UDP payload, so an unrelated UDP flow from port 2152 is not read as one.
    """
    first = r.u8(at)
    gtp = maybe & ((first >> 5) == 1) & ((first & 0x10) != 0) & (r.u8(at + 1) == GTP_GPDU)
    gtp &= r.u16(at + 2) + 8 == udp_payload
    if not gtp.any():
        return
    optional = (first & 0x07) != 0  # E, S or PN: sequence, N-PDU number and next extension type follow
    cursor = at + np.where(optional, 12, 8)
    following = np.where((first & 0x04) != 0, r.u8(at + 11), 0)
    broken = np.zeros(len(at), bool)
    for _ in range(MAX_GTP_EXT):
        chained = gtp & (following != 0) & ~broken
        if not chained.any():
            break
        length = r.u8(cursor) * 4  # in 4-octet units, this length byte and the next-type byte included
        broken |= chained & (length == 0)
        moving = chained & (length > 0)
        following = np.where(moving, r.u8(cursor + length - 1), following)
        cursor = np.where(moving, cursor + length, cursor)
    cut = gtp & (following != 0) & ~broken
    valid = gtp & ~broken
    _set(step, valid, Kind.GTPU, cursor, Inner.IP_BY_NIBBLE, r.u32(at + 4))
    step.cut |= cut
