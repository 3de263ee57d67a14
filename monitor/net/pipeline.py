"""The IP pipeline, wired in one place: PacketBatch -> headers -> (fragments) -> flows ->
application parsers -> finished flow records.

``NetPipeline.process`` takes batches from any source (pcap replay, live capture) in time
order; ``finish`` ends the input. Finished flow records go to the sink (a list by default).
Every packet is accounted for in NetStats: parsed into a flow, waiting in or completed by
fragment reassembly, or counted under the reason it could not be parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .app.inspect import AppInspector
from .direction import VehicleNetworks
from .flowrecord import FlowRecorder
from .flows import FlowConfig, FlowTable
from .fragments import Reassembler
from .headers import Headers, Status, parse_headers
from .names import NameCache
from .packets import PacketBatch, concat


@dataclass
class NetStats:
    packets: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def count(self, status: np.ndarray) -> None:
        self.packets += len(status)
        counts = np.bincount(status, minlength=len(Status))
        for code, n in enumerate(counts.tolist()):
            if n:
                label = Status(code).label
                self.by_status[label] = self.by_status.get(label, 0) + n


@dataclass
class NetConfig:
    vehicle_networks: Iterable[str] | None = None
    flows: FlowConfig = field(default_factory=FlowConfig)
    keep_events: bool = False  # keep AppEvents (DNS, TLS, HTTP, QUIC) for inspection/tests
    strict_length: bool = False  # drop datagrams the snap length cut, as Suricata does


#: Called with every parsed batch after flow accounting: (batch, headers, rows, slots, is_orig).
Observer = Callable[[PacketBatch, Headers, np.ndarray, np.ndarray, np.ndarray], None]


class NetPipeline:
    def __init__(self, config: NetConfig | None = None, sink: Callable[[dict], None] | None = None,
                 observer: Observer | None = None) -> None:
        self.config = config or NetConfig()
        networks = VehicleNetworks(self.config.vehicle_networks) if self.config.vehicle_networks is not None else VehicleNetworks()
        self.networks = networks
        self.observer = observer
        self.names = NameCache()
        self.recorder = FlowRecorder(networks, self.names, sink)
        self.flows = FlowTable(self.config.flows, self.recorder)
        self.inspector = AppInspector(self.recorder, self.flows, keep_events=self.config.keep_events)
        self.fragments = Reassembler()
        self.stats = NetStats()

    def process(self, batch: PacketBatch) -> None:
        if len(batch) == 0:
            return
        h = parse_headers(batch, self.config.strict_length)
        self.stats.count(h.status)
        fragment_rows = np.flatnonzero(h.status == Status.FRAGMENT)
        whole = self.fragments.add(batch, h, fragment_rows) if len(fragment_rows) else None
        if whole is not None:
            # Reassembled datagrams join the batch at the time their last fragment arrived.
            batch = concat(batch, whole)
            h = parse_headers(batch, self.config.strict_length)
        rows = np.flatnonzero(h.status == Status.OK)
        if whole is not None:
            rows = rows[np.argsort(batch.ts_ns[rows], kind="stable")]
        self._account(batch, h, rows)
        self.flows.expire(int(batch.ts_ns.max()))

    def _account(self, batch: PacketBatch, h: Headers, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        slots, is_orig = self.flows.update(h, rows, batch.ts_ns[rows])
        self.inspector.inspect(batch, h, rows, slots, is_orig)
        if self.observer is not None:
            self.observer(batch, h, rows, slots, is_orig)

    def finish(self) -> None:
        self.fragments.flush()
        self.flows.flush()

    def drain(self) -> list[dict]:
        """Flow records finished so far (when no sink was given)."""
        return self.recorder.drain()

    def summary(self) -> dict:
        frag = self.fragments.stats
        return {
            "packets": self.stats.packets,
            "packets_by_status": dict(self.stats.by_status),
            "flows": {"created": self.flows.stats.created, "finished": self.flows.stats.finished,
                      "evicted": self.flows.stats.evicted, "end_reasons": dict(self.flows.stats.reasons)},
            "fragments": dict(frag.__dict__),
            "app": dict(self.inspector.stats.counts),
            "names": {"addresses": len(self.names.entries), "evicted": self.names.evicted},
        }
