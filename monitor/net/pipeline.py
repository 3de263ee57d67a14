"""The IP pipeline, wired in one place: PacketBatch -> headers -> (fragments) -> flows ->
TCP reassembly (reassembly.py) -> application parsers -> finished flow records.

``NetPipeline.process`` takes batches from any source (pcap replay, live capture) in time
order and returns a NetView of the parsed packets for the detectors (None when no packet of
the batch parsed), with the DNS messages read in it and (``flows_in_view``) the flow records
that finished; ``finish`` ends the input. Otherwise finished records wait for ``drain`` or go to
the sink given (the flows command's writer) as they finish.
Every packet is accounted for in NetStats: parsed into a flow, waiting in or completed by
fragment reassembly, or counted under the reason it could not be parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .app.inspect import AppInspector
from .direction import VehicleNetworks, remote_side
from .flowrecord import FlowRecorder
from .flows import FlowConfig, FlowTable
from .fragments import Reassembler
from .headers import Status, parse_headers
from .names import NameCache
from .packets import PacketBatch, concat
from .reassembly import StreamConfig, StreamTable
from .view import NetView


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
    stream: StreamConfig = field(default_factory=StreamConfig)
    flows_in_view: bool = False  # finished flow records go out in each NetView (the Monitor), not kept for drain()


class NetPipeline:
    def __init__(self, config: NetConfig | None = None, sink: Callable[[dict], None] | None = None) -> None:
        self.config = config or NetConfig()
        networks = VehicleNetworks(self.config.vehicle_networks) if self.config.vehicle_networks is not None else VehicleNetworks()
        self.networks = networks
        self._expire_ns: int | None = None  # the last batch's time: flows idle since then end next
        self.names = NameCache()
        self.recorder = FlowRecorder(networks, self.names, sink)
        self.flows = FlowTable(self.config.flows, self.recorder)
        self.inspector = AppInspector(self.recorder, self.flows, keep_events=self.config.keep_events)
        self.fragments = Reassembler()
        self.streams = StreamTable(self.config.stream)
        self.stats = NetStats()

    def process(self, batch: PacketBatch) -> NetView | None:
        if len(batch) == 0:
            return None
        # Expiry waits for the next batch, so the slots of the view returned last stayed valid
        # while the detectors looked at it.
        if self._expire_ns is not None:
            self.flows.expire(self._expire_ns)
        self.streams.purge(self.recorder.flow_id)
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
        self._expire_ns = int(batch.ts_ns.max())
        if len(rows) == 0:
            return None
        slots, is_orig = self.flows.update(h, rows, batch.ts_ns[rows])
        self.recorder.note_tunnels(h, rows, slots)
        chunks, past_depth = self.streams.process(batch.data, h, rows, slots, is_orig, self.recorder.flow_ids,
                                                  batch.ts_ns[rows])
        self.inspector.inspect(batch, h, rows, slots, is_orig, chunks, past_depth)
        view = NetView.build(self.networks, self.recorder.flow_ids, self.describe, batch, h, rows, slots, is_orig,
                             chunks, past_depth)
        view.finished_flows = self.drain() if self.config.flows_in_view else []
        view.dns_messages = self.inspector.dns_messages
        self.inspector.dns_messages = []
        return view

    def describe(self, slot: int) -> tuple[dict, list[str]]:
        """A live flow as a finding shows it, and the remote side's names."""
        flow = {k: v for k, v in self.recorder.describe(self.flows, slot).items() if v is not None}
        remote = flow[f"{remote_side(flow.get('direction'))}_h"]
        entries = self.recorder.names_of(self.flows, slot, remote)
        if entries:
            flow["names"] = entries  # with how each was learned
        return flow, [entry["name"] for entry in entries]

    def finish(self) -> list[dict]:
        """End the input: every flow finishes; returns their records with ``flows_in_view``."""
        self.fragments.flush()
        self.flows.flush()
        return self.drain() if self.config.flows_in_view else []

    def drain(self) -> list[dict]:
        """Flow records finished so far and not yet returned (when no sink was given): a batch
        none of whose packets parsed returns no view, and its expired flows wait here."""
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
            "streams": self.streams.summary(),
            "names": {"addresses": len(self.names.entries), "evicted": self.names.evicted,
                      "names_forgotten": self.names.names_forgotten, "cname_chains_cut": self.names.chains_cut},
        }


def limits_hit(net: dict) -> list[str]:
    """Every table bound the network side reached (a summary() of NetPipeline), with its count."""
    frag, names = net["fragments"], net["names"]
    hits = {"flows evicted from a full flow table": net["flows"]["evicted"],
            "addresses evicted from the DNS name cache": names["evicted"],
            "names forgotten past the per-address cap": names.get("names_forgotten", 0),
            "CNAME chains cut": names.get("cname_chains_cut", 0),
            "fragment datagrams evicted": frag.get("evicted", 0), "invalid fragment datagrams": frag.get("invalid", 0)}
    streams = net.get("streams", {})
    hits.update({f"TCP segments not held ({what})": streams.get(what, 0)
                 for what in ("memcap_refused", "flow_memcap_refused", "beyond_window")})
    hits["TCP streams cut at the reassembly depth"] = streams.get("depth_reached", 0)
    hits["TCP streams forgotten (too many followed)"] = streams.get("streams_evicted", 0)
    return [f"{what} {n}" for what, n in hits.items() if n]
