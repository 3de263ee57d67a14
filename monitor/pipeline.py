"""The one place where the stages are wired:

    CAN FrameBatch -> DBC decode -> VehicleState (signal map) -> CAN detectors
    PacketBatch -> NetPipeline (headers, flows, names) -> NetView -> network detectors
                                     findings -> policy verdict -> sink

``Monitor`` takes batches from any source in time order. ``replay`` merges recordings (CAN
logs and captures) by time in slices, so the vehicle state a packet is judged against is the
state the CAN bus showed up to that slice: the same recordings give the same findings.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from .canbus.dbc import load_dbc
from .canbus.decode import decode_batch
from .canbus.frames import FrameBatch
from .canbus.logs import read_log
from .canbus.plan import compile_plan
from .detect import build_detectors
from .detect.base import Detector, DetectorRunner
from .detect.canview import CanView
from .detect.finding import Finding
from .detect.netview import NetView
from .errors import SourceError
from .net.capture import PCAP_MAGICS, PCAPNG_MAGIC, ReplayStats, read_capture
from .net.packets import PacketBatch
from .net.pipeline import NetConfig, NetPipeline
from .policy.decide import Decider
from .policy.model import Config
from .policy.unknown import UnknownDestinations
from .state import SignalMap, VehicleState

SLICE_S = 1.0  # replay interleaves CAN and IP in slices this long


class Monitor:
    def __init__(self, config: Config, sink: Callable[[Finding], None], detectors: list[Detector] | None = None) -> None:
        self.config = config
        self.plan = compile_plan([(load_dbc(path), path) for path in config.dbc])
        self.signal_map = SignalMap(config.signals, self.plan)
        self.state = VehicleState(horizon_s=max(900.0, 2 * config.thresholds.taint.history_s))
        self.runner = DetectorRunner(detectors if detectors is not None else build_detectors(), config.thresholds)
        self.sink = sink
        self.decider = Decider(config.policy)
        self.unknown = UnknownDestinations(self.decider)
        self.counts: Counter = Counter()
        networks = config.vehicle_networks
        self.net = NetPipeline(NetConfig(vehicle_networks=networks), sink=self._flow_finished, observer=self._packets)

    def can_batch(self, batch: FrameBatch) -> None:
        if not len(batch):
            return
        self.counts["can_frames"] += len(batch)
        decoded = decode_batch(self.plan, batch)
        self.counts["can_decode_errors"] += decoded.errors
        self.signal_map.apply(decoded, self.state)
        self._emit(self.runner.observe("can", CanView(batch, decoded, self.plan), self.state))

    def net_batch(self, batch: PacketBatch) -> None:
        self.net.process(batch)

    def finish(self) -> None:
        self.net.finish()
        self._emit(self.runner.finish(self.state))

    def _packets(self, batch, h, rows, slots, is_orig) -> None:
        view = NetView.build(self.net, batch, h, rows, slots, is_orig)
        self._emit(self.runner.observe("net", view, self.state))
        self._emit(self.unknown.observe(view))

    def _flow_finished(self, record: dict) -> None:
        self.counts["flows_finished"] += 1

    def _emit(self, findings: list[Finding]) -> None:
        for finding in findings:
            if finding.verdict is None:
                finding.verdict = self.decider.decide(finding).as_dict()
            self.counts[f"findings_{finding.category}"] += 1
            self.counts[f"verdicts_{finding.verdict['action']}"] += 1
            self.sink(finding)

    def summary(self) -> dict:
        return {"counts": dict(self.counts), "net": self.net.summary(), **self.runner.summary(),
                "rules": dict(sorted(self.decider.counts.items())),
                "vehicle": {"vin": self.state.vin, "signals": sorted(self.state.series),
                            "signal_updates": self.state.updates}}


def sort_recordings(names: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(CAN logs, captures), told apart by content: pcap/pcapng by their magic, anything else
    is a CAN log (candump, ASC, BLF, TRC, MF4 by suffix)."""
    can_logs: list[Path] = []
    captures: list[Path] = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise SourceError(f"{path}: no such recording")
        with path.open("rb") as handle:
            magic = handle.read(4)
        (captures if magic in PCAP_MAGICS or magic == PCAPNG_MAGIC else can_logs).append(path)
    return can_logs, captures


def replay(monitor: Monitor, can_logs: Iterable[Path], captures: Iterable[Path]) -> dict:
    """Run recordings through the monitor in time order; returns per-file read statistics."""
    files: dict[str, dict] = {}
    streams: list[Iterator] = []
    can_logs, captures = list(can_logs), list(captures)
    # Slices only matter when CAN and IP interleave; alone, each source keeps its large batches.
    slice_s = SLICE_S if can_logs and captures else float("inf")
    for path in can_logs:
        files[str(path)] = {"kind": "can", "frames": 0, "malformed": 0, "examples": []}
        streams.append(_can_slices(path, files[str(path)], slice_s))
    for path in captures:
        stats = ReplayStats()
        files[str(path)] = {"kind": "capture", "stats": stats}
        streams.append(_net_slices(path, stats, slice_s))
    for _, kind, _, batch in heapq.merge(*streams, key=lambda item: item[:3]):
        if kind == 0:
            monitor.can_batch(batch)
        else:
            monitor.net_batch(batch)
    monitor.finish()
    for entry in files.values():
        stats = entry.pop("stats", None)
        if stats is not None:
            entry.update(packets=stats.records, damaged=stats.damaged, truncated_file=stats.truncated_file)
    return files


def _can_slices(path: Path, tally: dict, slice_s: float):
    return _sliced(_counted(path, tally), 0, slice_s)


def _net_slices(path: Path, stats: ReplayStats, slice_s: float):
    return _sliced(read_capture(path, stats=stats), 1, slice_s)


def _counted(path: Path, tally: dict) -> Iterator[FrameBatch]:
    for batch, stats in read_log(path):
        tally["frames"] += len(batch)
        tally["malformed"] += stats.malformed
        tally["examples"] += [f"{path}:{line}: {reason}" if line else f"{path}: {reason}" for line, reason in stats.examples]
        yield batch


def _sliced(batches: Iterable, kind: int, slice_s: float):
    """(first time, kind, order, batch) per time slice: heapq.merge keys for the replay."""
    order = 0
    for batch in batches:
        for rows in _slices(batch.timestamp, slice_s):
            order += 1
            yield float(batch.timestamp[rows.start]), kind, order, batch.take(rows)


def _slices(ts: np.ndarray, slice_s: float) -> list[slice]:
    """Row ranges of a time-ordered batch, one per slice_s of time."""
    if not len(ts):
        return []
    if slice_s == float("inf"):
        return [slice(0, len(ts))]
    bucket = np.floor(ts / slice_s)
    edges = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1, [len(ts)]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]
