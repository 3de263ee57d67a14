"""NetView: what the net stage returns for one parsed packet batch, and what network detectors
see of it.

Columns per packet (time, flow, direction relative to the vehicle, where the L4 payload is),
the reassembled TCP bytes each segment brought into order (``stream(i)``: detectors read TCP
through this, never the raw segments),
and ``describe(i)``: the packet's flow as a finding shows it (addresses, ports, Community ID,
direction) with the remote side's names. A view is valid while its batch is processed: flow
slots are reused after a flow ends, so detectors key their state by ``flow_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .app.inspect import DnsMessage
from .direction import VehicleNetworks, sent_by_vehicle
from .headers import IPPROTO_TCP, IPPROTO_UDP, Headers
from .packets import PacketBatch

#: slot -> (the flow as a finding shows it, the remote side's names)
Describe = Callable[[int], tuple[dict, list[str]]]


@dataclass(eq=False)
class NetView:
    data: np.ndarray  # the batch's byte buffer
    ts: np.ndarray  # float64 seconds
    slot: np.ndarray  # flow slot (reused after a flow ends: key state by flow_id)
    flow_id: np.ndarray  # int64, unique per flow
    outbound: np.ndarray  # bool: sent by the vehicle side to outside the vehicle
    inbound: np.ndarray  # bool: sent from outside to the vehicle side
    udp: np.ndarray  # bool
    start: np.ndarray  # int64 payload offset in data
    length: np.ndarray  # int64 captured payload bytes
    describe_slot: Describe
    seq: np.ndarray  # uint32 TCP sequence numbers (0 for UDP): where a segment continues a stream
    chunks: dict[int, bytes] = field(default_factory=dict)  # row -> TCP bytes it brought into order
    tcp_flags: np.ndarray | None = None  # uint8 (0 for UDP)
    past_depth: np.ndarray | None = None  # bool: TCP rows past their stream's reassembly depth
    tcp: np.ndarray | None = None  # bool (None: every row not UDP is taken for TCP)
    finished_flows: list[dict] = field(default_factory=list)  # flow records that ended in this batch
    dns_messages: list[DnsMessage] = field(default_factory=list)  # read in this batch, in order

    def stream(self, i: int) -> bytes:
        """The bytes TCP row i brought into its sender's in-order stream (reassembly.py): b"" for a
        retransmission, a segment waiting for a gap or one the receiver drops; several segments'
        bytes when it filled a gap; the segment itself past the stream's reassembly depth."""
        if self.past_depth is not None and self.past_depth[i]:
            return self.payload(i)  # past the reassembly depth the segments stand as they come
        return self.chunks.get(i, b"")

    def own_payload(self) -> np.ndarray:
        """Rows whose own payload is what a reader takes (UDP, ICMP, TCP past its stream's
        reassembly depth); every other TCP row is read through stream(i), never as a segment."""
        tcp = self.tcp if self.tcp is not None else ~self.udp
        return ~tcp if self.past_depth is None else ~tcp | self.past_depth

    def stream_chunks(self) -> tuple[np.ndarray, list[bytes]]:
        """TCP rows that brought bytes into order (short of the depth), in row order, and those bytes."""
        rows = np.sort(np.fromiter(self.chunks, np.int64, len(self.chunks)))
        return rows, [self.chunks[i] for i in rows.tolist()]

    def stream_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows that brought TCP bytes into order, and the first of those bytes for each."""
        rows = np.fromiter(self.chunks, np.int64, len(self.chunks))
        first = np.fromiter((c[0] for c in self.chunks.values()), np.uint8, len(self.chunks))
        if self.past_depth is not None and self.past_depth.any():
            past = np.flatnonzero(self.past_depth)
            rows, first = np.concatenate([rows, past]), np.concatenate([first, self.data[self.start[past]]])
        return rows, first

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def payload(self, i: int) -> bytes:
        start = int(self.start[i])
        return self.data[start : start + int(self.length[i])].tobytes()

    def describe(self, i: int) -> tuple[dict, list[str]]:
        """Row i's flow as a finding shows it, and the remote side's names."""
        return self.describe_slot(int(self.slot[i]))

    @staticmethod
    def build(networks: VehicleNetworks, flow_ids: np.ndarray, describe: Describe, batch: PacketBatch,
              h: Headers, rows: np.ndarray, slots: np.ndarray, is_orig: np.ndarray,
              chunks: dict[int, bytes] | None = None, past_depth: np.ndarray | None = None) -> NetView:
        version = h.version[rows]
        outbound, inbound = sent_by_vehicle(networks.inside(version, h.src[rows]),
                                            networks.inside(version, h.dst[rows]), is_orig)
        local = _multicast_or_broadcast(version, h.dst[rows])  # stays on the segment: never "leaves"
        return NetView(
            data=batch.data,
            ts=batch.ts_ns[rows] / 1e9,
            slot=slots,
            flow_id=flow_ids[slots],
            outbound=outbound & ~local,
            inbound=inbound,
            udp=h.proto[rows] == IPPROTO_UDP,
            start=h.payload[rows],
            length=h.captured_len[rows],
            describe_slot=describe,
            seq=h.tcp_seq[rows],
            chunks=chunks or {},
            tcp_flags=h.tcp_flags[rows],
            past_depth=past_depth,
            tcp=h.proto[rows] == IPPROTO_TCP,
        )


def _multicast_or_broadcast(version: np.ndarray, address: np.ndarray) -> np.ndarray:
    hi, lo = address[:, 0], address[:, 1]
    v4 = (version == 4) & (((lo >> np.uint64(28)) == 0xE) | (lo == 0xFFFFFFFF))
    return v4 | ((version == 6) & ((hi >> np.uint64(56)) == 0xFF))
