"""NetView: what network detectors see of one parsed packet batch.

Columns per packet (time, flow, direction relative to the vehicle, where the L4 payload is),
and a FlowLookup to describe a flow (addresses, ports, Community ID, names) when a finding
needs it. Built once per batch by the pipeline; detectors share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..net.headers import IPPROTO_UDP, Headers
from ..net.packets import PacketBatch
from ..net.pipeline import NetPipeline


class FlowLookup:
    def __init__(self, pipeline: NetPipeline) -> None:
        self.pipeline = pipeline

    def describe(self, slot: int) -> tuple[dict, list[str]]:
        """The flow as a finding shows it, and the remote side's names."""
        table, recorder = self.pipeline.flows, self.pipeline.recorder
        flow = {k: v for k, v in recorder.describe(table, slot).items() if v is not None}
        remote = flow["orig_h"] if flow.get("direction") == "inbound" else flow["resp_h"]
        names = [entry["name"] for entry in recorder.names_of(table, slot, remote)]
        return flow, names


@dataclass(eq=False)
class NetView:
    data: np.ndarray  # the batch's byte buffer
    ts: np.ndarray  # float64 seconds
    slot: np.ndarray  # flow slot (reused after a flow ends: key state by flow_id)
    flow_id: np.ndarray  # int64, unique per flow
    outbound: np.ndarray  # bool: sent from the vehicle network to outside it
    inbound: np.ndarray  # bool: sent from outside to the vehicle network
    udp: np.ndarray  # bool
    start: np.ndarray  # int64 payload offset in data
    length: np.ndarray  # int64 captured payload bytes
    flows: FlowLookup

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def payload(self, i: int) -> bytes:
        start = int(self.start[i])
        return self.data[start : start + int(self.length[i])].tobytes()

    @staticmethod
    def build(pipeline: NetPipeline, batch: PacketBatch, h: Headers, rows: np.ndarray, slots: np.ndarray,
              is_orig: np.ndarray) -> NetView:
        """Direction: from the vehicle networks; where neither side is inside (captured on the
        uplink, whose own address is public or carrier NAT), the flow's originator is the vehicle."""
        networks = pipeline.networks
        version = h.version[rows]
        src_in = networks.inside(version, h.src[rows])
        dst_in = networks.inside(version, h.dst[rows])
        external = ~src_in & ~dst_in
        local = _multicast_or_broadcast(version, h.dst[rows])  # stays on the segment: never "leaves"
        return NetView(
            data=batch.data,
            ts=batch.ts_ns[rows] / 1e9,
            slot=slots,
            flow_id=pipeline.recorder.flow_ids[slots],
            outbound=((src_in & ~dst_in) | (external & is_orig)) & ~local,
            inbound=(~src_in & dst_in) | (external & ~is_orig),
            udp=h.proto[rows] == IPPROTO_UDP,
            start=h.payload[rows],
            length=h.captured_len[rows],
            flows=FlowLookup(pipeline),
        )


def _multicast_or_broadcast(version: np.ndarray, address: np.ndarray) -> np.ndarray:
    hi, lo = address[:, 0], address[:, 1]
    v4 = (version == 4) & (((lo >> np.uint64(28)) == 0xE) | (lo == 0xFFFFFFFF))
    return v4 | ((version == 6) & ((hi >> np.uint64(56)) == 0xFF))
