"""The one place where the stages are wired, for replay and live alike:

    sources (threads) -> Timeline (bounded lanes, merged by time) -> Monitor:
      CAN FrameBatch -> DBC decode -> VehicleState (signal map) -> CAN detectors
      PacketBatch -> NetPipeline (headers, flows, names) -> NetView -> network detectors
                                     findings -> policy verdict -> Sinks (enforcement, stats, alert log)
      the NetView's finished flows and DNS messages -> Sinks (flow log, DNS log)

``run`` drives a Monitor from a Timeline until its sources end or it is stopped. ``replay``
builds the timeline from recordings (CAN logs and captures, cut into time slices so CAN and IP
interleave), the daemon from live buses and interfaces: the same objects otherwise, so the
same recordings give the same findings, live or replayed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .alerts.dnslog import asker_first
from .alerts.log import AlertLog
from .canbus.decode import decode_batch
from .canbus.frames import FrameBatch
from .canbus.plan import DecodePlan
from .config.load import load_config as _load_config
from .config.model import Config
from .detect import build_detectors, threshold_sections
from .detect.base import Detector, DetectorRunner
from .detect.canview import CanView
from .detect.finding import Destination, Finding
from .detect.unknown import UnknownDestinations
from .net.capture import CaptureSource
from .net.flows import FlowConfig
from .net.packets import PacketBatch
from .net.pipeline import NetConfig, NetPipeline
from .net.view import DnsMessage
from .policy import regulatory
from .policy.decide import Decider
from .recordings import recording_sources
from .source import Source
from .state import VehicleState, apply_signals
from .timeline import Timeline

SLICE_S = 1.0  # replay interleaves CAN and IP in slices this long


def load_config(path: str | Path | None = None) -> Config:
    """A configuration file with the registered detectors' threshold sections."""
    return _load_config(path, threshold_sections())


def with_vehicle_networks(config: Config, cidrs: list[str] | None) -> Config:
    """The configuration with other in-vehicle networks (``--vehicle-net``), checked."""
    if not cidrs:
        return config
    from .net.direction import VehicleNetworks

    VehicleNetworks(cidrs)  # a ConfigError naming the bad CIDR
    return dataclasses.replace(config, vehicle_networks=tuple(cidrs))


@dataclass(frozen=True)
class Sinks:
    """Where the Monitor's outputs go, handed to it once. ``alerts`` (the alert log) gets every
    decided finding, the data time (to close quiet episodes) and the vehicle's state (its VIN);
    ``flows`` every finished flow record with its destination's place; ``dns`` every DNS message
    with its flow seen from the asker; ``enforcement`` a decided finding before the alert log (the
    daemon's Enforcer cuts a blocked destination off and notes it in the evidence); ``stats`` every
    decided finding, for the caller's own counts (replay's tally, policy test's table)."""

    alerts: AlertLog | None = None
    flows: Callable[[dict], None] | None = None
    dns: Callable[[dict, int, object], None] | None = None
    enforcement: Callable[[Finding], None] | None = None
    stats: Callable[[Finding], None] | None = None

    @classmethod
    def of_log(cls, log: AlertLog, **others) -> Sinks:
        """The alert log's findings, flows and DNS messages, with ``others`` (enforcement, stats)."""
        return cls(alerts=log, flows=log.flow_finished, dns=log.dns, **others)


class Monitor:
    def __init__(self, config: Config, sinks: Sinks = Sinks(), detectors: list[Detector] | None = None) -> None:
        self.sinks = sinks
        self.counts: Counter = Counter()
        self.state = VehicleState(horizon_s=max(900.0, 2 * config.thresholds.taint.history_s))
        if sinks.alerts is not None:
            sinks.alerts.follow(self.state)
        flows = FlowConfig(max_flows=config.sources.max_flows)
        self.net = NetPipeline(NetConfig(vehicle_networks=config.vehicle_networks, flows=flows, stream=config.stream,
                                       flows_in_view=True))
        self._take(config, detectors)

    def configure(self, config: Config, detectors: list[Detector] | None = None) -> None:
        """Take a new configuration (a reload): decode plans, signal map, policy and detectors
        are swapped; the vehicle state, the flows and the counts stay. Detector state starts
        afresh. The in-vehicle networks are read at start only."""
        runner_stats, rule_counts = self.runner.stats, self.decider.counts
        self._take(config, detectors)
        self.runner.stats, self.decider.counts = runner_stats, rule_counts

    def _take(self, config: Config, detectors: list[Detector] | None) -> None:
        assert config.plan is not None and config.signal_map is not None, "a Config from load_config"
        self.config, self.plan, self.signal_map = config, config.plan, config.signal_map
        self.decider = Decider(config.policy)
        chosen = detectors if detectors is not None else build_detectors()
        if self.decider.watches_unknown:
            chosen = [*chosen, UnknownDestinations(self.decider.decide_unknown)]
        self.runner = DetectorRunner(chosen, config.thresholds)

    def can_batch(self, batch: FrameBatch) -> None:
        if not len(batch):
            return
        self.counts["can_frames"] += len(batch)
        for plan, part in self._by_plan(batch):
            decoded = decode_batch(plan, part)
            self.counts["can_decode_errors"] += decoded.errors
            apply_signals(self.signal_map, decoded, self.state)
            self._emit(self.runner.on_can(CanView(part, decoded, plan), self.state))
        self._tick(float(batch.timestamp[-1]))

    def _by_plan(self, batch: FrameBatch) -> list[tuple[DecodePlan, FrameBatch]]:
        """Buses with DBCs of their own decode with their plan; the rest with the common one."""
        plans: dict[str, DecodePlan] = self.config.bus_plans
        default = self.plan
        if not plans or not any(name in plans for name in batch.channel_names):
            return [(default, batch)]
        out = []
        for code, name in enumerate(batch.channel_names):
            rows = np.flatnonzero(batch.channel == code)
            if len(rows):
                out.append((plans.get(name, default), batch.take(rows)))
        return out

    def net_batch(self, batch: PacketBatch) -> None:
        view = self.net.process(batch)
        # Flows that ended and DNS messages read go out before the batch's findings, as they came.
        self._flows_finished(view.finished_flows if view is not None else self.net.drain())
        if view is not None:
            self._dns(view.dns_messages)
            found = self.runner.on_net(view, self.state)
            self.state.note_remote(found)  # on one timeline: CAN frames after it can name it
            self._emit(found)
        if len(batch):
            self._tick(float(batch.ts_ns[-1]) / 1e9)

    def _tick(self, now: float) -> None:
        if self.sinks.alerts is not None:
            self.sinks.alerts.tick(now)

    def _dns(self, messages: list[DnsMessage]) -> None:
        if self.sinks.dns is None:
            return
        for flow, ts_ns, message in messages:
            self.sinks.dns(asker_first(flow, self.net.networks.direction), ts_ns, message)

    def finish(self) -> None:
        self._flows_finished(self.net.finish())
        self._emit(self.runner.finish(self.state))

    def _flows_finished(self, records: list[dict]) -> None:
        self.counts["flows_finished"] += len(records)
        if self.sinks.flows is None:
            return
        for record in records:
            record.update(self._place(Destination.of_flow(record, ()).address))
            self.sinks.flows(record)

    def _place(self, address: str | None) -> dict:
        """The destination's country and where that came from (cached per address)."""
        return self.decider.countries.place(address).as_dict() if address else {}

    def _emit(self, findings: list[Finding]) -> None:
        for finding in findings:
            if finding.verdict is None:
                finding.verdict = self.decider.decide(finding)
            destination = Destination.of(finding)
            if destination is not None and finding.flow is not None:
                finding.flow.update(self._place(destination.address))
            finding.regulatory = regulatory.tags(finding, self.state, self.config.alerts.vehicle_country)
            self.counts[f"findings_{finding.category}"] += 1
            self.counts[f"verdicts_{finding.action}"] += 1
            for sink in (self.sinks.enforcement, self.sinks.stats):
                if sink is not None:
                    sink(finding)
            if self.sinks.alerts is not None:
                self.sinks.alerts.finding(finding)

    def summary(self) -> dict:
        return {"counts": dict(self.counts), "net": self.net.summary(), **self.runner.summary(),
                "rules": dict(sorted(self.decider.counts.items())),
                "vehicle": {"vin": self.state.vin, "signals": sorted(self.state.series),
                            "signal_updates": self.state.updates}}


def run(monitor: Monitor, timeline: Timeline, tick: Callable[[], None] | None = None,
        dispatched: Callable[[Source, object], None] | None = None) -> None:
    """Feed the monitor from the timeline in time order until every source has ended (after
    ``timeline.stop()`` too: what was delivered is drained first), then finish it. ``tick``
    runs between batches and at least every half second (watchdog, stats, reload)."""
    try:
        while True:
            try:
                item = timeline.get(timeout=0.5)
            except EOFError:
                break
            if item is not None:
                source, batch = item
                if source.kind == "can":
                    monitor.can_batch(batch)
                else:
                    monitor.net_batch(batch)
                if dispatched is not None:
                    dispatched(source, batch)
            if tick is not None:
                tick()
    finally:
        timeline.stop()
    monitor.finish()


def replay(monitor: Monitor, can_logs: Iterable[Path], captures: Iterable[Path], can_offset_s: float = 0.0) -> dict:
    """Run recordings through the monitor in time order; returns per-file read statistics."""
    can_logs, captures = list(can_logs), list(captures)
    # Slices only matter when CAN and IP interleave; alone, each source keeps its large batches.
    slice_s = SLICE_S if can_logs and captures else float("inf")
    sources = recording_sources(can_logs, captures, slice_s, can_offset_s)
    run(monitor, Timeline(sources).start())
    return {source.name: recording_stats(source) for source in sources}


def recording_stats(source: Source) -> dict:
    span = {"first_ts": source.stats.extra.get("first_ts"), "last_ts": source.stats.extra.get("last_ts")}
    if isinstance(source, CaptureSource) and source.kind == "ip":
        return {"kind": "capture", "packets": source.replay.records, "damaged": source.replay.damaged,
                "bad_times": source.replay.bad_times,
                "truncated_file": source.replay.truncated_file, **span}
    return {"kind": "can", "frames": source.stats.items, "malformed": source.stats.extra["malformed"],
            "examples": source.stats.extra["examples"], **span}


def time_mismatch(files: dict) -> str | None:
    """Why CAN and IP recordings cannot be judged together: their times do not overlap (a log
    with relative times, another clock). Taint and behaviour need the CAN state of a packet's time."""
    spans = {kind: [(e["first_ts"], e["last_ts"]) for e in files.values() if e["kind"] == kind and e["first_ts"] is not None]
             for kind in ("can", "capture")}
    if not spans["can"] or not spans["capture"]:
        return None
    can = (min(a for a, _ in spans["can"]), max(b for _, b in spans["can"]))
    ip = (min(a for a, _ in spans["capture"]), max(b for _, b in spans["capture"]))
    if can[0] <= ip[1] and ip[0] <= can[1]:
        return None
    return (f"the CAN logs ({_utc(can[0])} to {_utc(can[1])}) and the captures ({_utc(ip[0])} to {_utc(ip[1])}) "
            f"do not overlap in time: packets are judged without the vehicle's state; --can-time-offset "
            f"{ip[0] - can[0]:.3f} would align their starts")


def _utc(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
