"""Layer 3: behaviour of flows whose payload cannot be read, against the vehicle's state.

* video-like: uplink bitrate above ``min_kbps`` (over ``window_s``) sustained for
  ``min_duration_s``; more confident while a camera signal is active;
* beacon-like: small uploads at a regular period (median interval, coefficient of variation);
  flows of NTP and DNS requests are not judged (periodic by design);
* mapping-like: uplink bytes per km driven, and their correlation with the distance driven
  per window, from the CAN odometer or speed.

Per-flow figures are aggregated per batch with numpy (bytes per flow and second, bursts per
flow); Python touches each active flow once per batch.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..net.view import NetView
from ..state import CAMERA, LIDAR, VehicleState
from .base import Detector
from .finding import Destination, Finding
from .memory import FlowMemory, Repeats, forgotten

MAX_BURSTS = 64
MAX_WINDOWS = 720
#: A packet this much older than the newest one seen for an activity means the clock stepped
#: back (a recording spliced from two, a GNSS time fix): its time-keyed state starts over.
CLOCK_SLACK_S = 60.0


@dataclass
class Activity:
    flow_id: int | tuple  # a flow id, or ("destination", address) for the flows to one destination
    slot: int
    seconds: dict = field(default_factory=dict)  # second -> bytes, the last window_s + 1 seconds only
    run_start: float | None = None  # first second of the current above-threshold run
    run_bytes: int = 0
    burst: list = field(default_factory=list)  # [start, last, bytes] of the open burst
    bursts: deque = field(default_factory=lambda: deque(maxlen=MAX_BURSTS))  # (start, bytes)
    windows: dict = field(default_factory=dict)  # window index -> bytes
    distances: dict = field(default_factory=dict)  # window index -> km (cached)
    destination: str | None = None  # the remote address (flow activities)
    flows: set = field(default_factory=set)  # contributing flow ids (destination activities)
    explained: set = field(default_factory=set)  # detectors a single flow to it already fired
    service: str = ""  # "ntp" or "dns": a flow of the network's own plumbing, not judged
    up_bytes: int = 0  # payload bytes sent and received (a download's requests are no beacon)
    down_bytes: int = 0
    newest_s: float = float("-inf")

    def clock_went_back(self, ts: np.ndarray) -> tuple[bool, int]:
        """(stepped back, first usable row): when the clock stepped back, from an earlier batch or
        inside this one, the time-keyed state starts over with the rows after the last step."""
        steps = np.flatnonzero(np.diff(ts) < -CLOCK_SLACK_S)
        start = int(steps[-1]) + 1 if len(steps) else 0
        back = bool(len(steps)) or float(ts.min()) < self.newest_s - CLOCK_SLACK_S
        if back:
            self.seconds.clear()
            self.run_start, self.run_bytes, self.burst = None, 0, []
            self.bursts.clear()
            self.windows.clear()
            self.distances.clear()
            self.newest_s = float("-inf")
        self.newest_s = max(self.newest_s, float(ts[start:].max()))
        return back, start


def infrastructure(payload: bytes, udp: bool, port: int | None) -> str:
    """"ntp" for an NTP request to port 123 (mode 1 or 3, version 1-4, 48 bytes or 68/72 with a
    MAC), "dns" for a DNS query (QR clear, one question) to port 53, else ""."""
    if udp and port == 123 and len(payload) in (48, 68, 72) and payload[0] & 7 in (1, 3) and 1 <= (payload[0] >> 3) & 7 <= 4:
        return "ntp"
    head = payload if udp else payload[2:]  # DNS over TCP has a length prefix
    if port == 53 and len(head) >= 12 and not head[2] & 0x80 and head[4:6] == b"\x00\x01":
        return "dns"
    return ""


MAX_DESTINATIONS = 4096


@dataclass(frozen=True)
class VideoThresholds:
    min_kbps: float = 250.0  # sub-streams run from tens to hundreds of kbit/s, main streams Mbit/s
    window_s: float = 5.0
    min_duration_s: float = 20.0
    camera_bonus: float = 0.3  # added confidence while a camera signal is active


@dataclass(frozen=True)
class BeaconThresholds:
    min_uploads: int = 6
    max_upload_bytes: int = 4096
    min_period_s: float = 1.0
    max_period_s: float = 900.0
    max_jitter: float = 0.2  # coefficient of variation of the intervals
    gap_s: float = 0.5  # uploads closer than this are one burst
    max_down_ratio: float = 8.0  # received bytes beyond this many times those sent: a download's requests


@dataclass(frozen=True)
class MappingThresholds:
    min_km: float = 0.3
    min_bytes_per_km: float = 8000.0  # semantic map harvesting runs near 10 KB/km
    min_correlation: float = 0.5  # between per-window upload bytes and distance driven
    window_s: float = 10.0
    min_speed_kmh: float = 3.0
    # At a steady speed the correlation is undefined; then uploads in most moving windows,
    # none (or few) while standing, and a volume per km below video's is mapping-like too.
    min_moving_coverage: float = 0.8
    max_standing_share: float = 0.2
    max_steady_bytes_per_km: float = 500_000.0


class Behaviour(Detector):
    name = "behaviour"
    sections: ClassVar[dict[str, type]] = {"video": VideoThresholds, "beacon": BeaconThresholds, "mapping": MappingThresholds}

    def configure(self, thresholds) -> None:
        self.video, self.beacon, self.mapping = thresholds.video, thresholds.beacon, thresholds.mapping
        self.repeats = Repeats(max(thresholds.wire.repeat_s, 60.0))  # per (flow_id, kind)
        self.flows: FlowMemory[Activity] = FlowMemory()
        # Summed per destination too: an upload spread over many connections, or a UDP beacon
        # whose period outlasts the flow table's idle timeout (a new flow per packet).
        self.destinations: OrderedDict[str, Activity] = OrderedDict()
        self.counts: Counter = Counter()

    def on_net(self, view: NetView, state: VehicleState) -> list[Finding]:
        received = self._received(view)
        rows = np.flatnonzero(view.outbound & (view.length > 0))
        for fid in set(received) - set(view.flow_id[rows].tolist()):  # flows only receiving in this batch
            self._add_received(self.flows.get(fid), received[fid])
        if not len(rows):
            return []
        fids = view.flow_id[rows]
        order = np.argsort(fids, kind="stable")
        rows, fids = rows[order], fids[order]
        bounds = np.flatnonzero(np.diff(fids)) + 1
        found: list[Finding] = []
        for group in np.split(rows, bounds):
            fid = int(view.flow_id[group[0]])
            act = self.flows.get(fid) or self.flows.remember(fid, self._new_activity(view, fid, int(group[0])))
            act.slot = int(view.slot[group[-1]])
            self._add_received(act, received.get(fid, 0))
            if act.service:
                continue
            ts, sizes = view.ts[group], view.length[group]
            back, start = act.clock_went_back(ts)
            if back:
                self.counts["clock_went_back"] += 1
                ts, sizes = ts[start:], sizes[start:]
            act.up_bytes += int(sizes.sum())
            own = self._video(view, act, ts, sizes, state) + self._beacon(view, act, ts, sizes)
            own += self._mapping(view, act, ts, sizes, state)
            found += own + self._per_destination(view, act, ts, sizes, state, {f.detector for f in own})
        return found

    @staticmethod
    def _received(view: NetView) -> dict[int, int]:
        """Payload bytes each flow received in this batch: a beacon's answers are small."""
        rows = np.flatnonzero(view.inbound & (view.length > 0))
        fids, inverse = np.unique(view.flow_id[rows], return_inverse=True)
        return dict(zip(fids.tolist(), np.bincount(inverse, weights=view.length[rows]).astype(int).tolist()))

    def _add_received(self, act: Activity | None, n: int) -> None:
        if act is None or not n:
            return
        act.down_bytes += n
        dest = self.destinations.get(act.destination) if act.destination else None
        if dest is not None:
            dest.down_bytes += n

    def _new_activity(self, view: NetView, fid: int, row: int) -> Activity:
        act = Activity(fid, int(view.slot[row]))
        act.service = infrastructure(view.payload(row), bool(view.udp[row]), view.describe_slot(act.slot)[0].get("resp_p"))
        if act.service:  # periodic small requests by design; taint and the signatures still read every byte
            self.counts[f"{act.service}_flows_not_judged"] += 1
        return act

    def _per_destination(self, view, act: Activity, ts, sizes, state, flow_found: set[str]) -> list[Finding]:
        """The same video, beacon and mapping judgement over the flows to the flow's destination, from the
        second flow on (a single flow is judged on its own; the first flow's data before the
        second appears is not added)."""
        if act.destination is None:
            flow, _ = view.describe_slot(act.slot)
            act.destination = Destination.of_flow(flow, ()).address or "?"
        dest = self.destinations.get(act.destination)
        if dest is None:
            dest = self.destinations[act.destination] = Activity(("destination", act.destination), act.slot)
            while len(self.destinations) > MAX_DESTINATIONS:
                self.destinations.popitem(last=False)
                self.counts["destinations_forgotten"] += 1
        self.destinations.move_to_end(act.destination)
        back, start = dest.clock_went_back(ts)
        if back:
            self.counts["clock_went_back"] += 1
            ts, sizes = ts[start:], sizes[start:]
        dest.slot = act.slot
        dest.up_bytes += int(sizes.sum())
        dest.flows.add(act.flow_id)
        dest.explained |= flow_found  # a single flow already showed it: the sum adds nothing
        if len(dest.flows) < 2:
            return []
        judged = self._video(view, dest, ts, sizes, state) + self._beacon(view, dest, ts, sizes)
        found = [f for f in judged + self._mapping(view, dest, ts, sizes, state) if f.detector not in dest.explained]
        for finding in found:
            finding.evidence.update(aggregated_over="destination", flows=len(dest.flows))
        return found

    # ------------------------------------------------------------------ video

    def _video(self, view, act: Activity, ts, sizes, state) -> list[Finding]:
        t = self.video
        secs, per_sec = np.unique(np.floor(ts), return_inverse=True)
        byte_sums = np.bincount(per_sec, weights=sizes)
        # One entry per second, however many flows add to it (a destination's activity takes every
        # flow to it: a list of per-flow entries grew with the flows and was summed on each).
        for sec, sec_bytes in zip(secs.tolist(), byte_sums.tolist()):
            act.seconds[sec] = act.seconds.get(sec, 0) + sec_bytes
        for old in [s for s in act.seconds if s <= secs[-1] - t.window_s - 1]:
            del act.seconds[old]
        need = t.min_kbps * 1000 / 8 * t.window_s
        for sec, sec_bytes in zip(secs.tolist(), byte_sums.tolist()):
            in_window = sum(b for s, b in act.seconds.items() if sec - t.window_s < s <= sec)
            if in_window < need:
                act.run_start = None
            elif act.run_start is None:  # the run starts with the data of the window that crossed the threshold
                act.run_start = min(s for s, b in act.seconds.items() if sec - t.window_s < s <= sec and b > 0)
                act.run_bytes = int(in_window)
            else:
                act.run_bytes += int(sec_bytes)
        if act.run_start is None:
            return []
        duration = float(secs[-1]) + 1 - act.run_start
        if duration < t.min_duration_s or not self._due(act, "video", float(ts[-1])):
            return []
        camera = state.active(CAMERA, float(ts[-1]))
        kbps = act.run_bytes * 8 / 1000 / duration
        evidence = {"uplink_kbps": round(kbps, 1), "duration_s": round(duration, 1),
                    "threshold_kbps": t.min_kbps, "camera_active": camera, "lidar_active": state.active(LIDAR, float(ts[-1]))}
        return [self._finding(view, act, float(ts[-1]), "video", "video", "sustained uplink bitrate (video-like)",
                              0.5 + (t.camera_bonus if camera else 0.0), evidence)]

    # ------------------------------------------------------------------ beacon

    def _beacon(self, view, act: Activity, ts, sizes) -> list[Finding]:
        t = self.beacon
        gaps = np.diff(ts) >= t.gap_s
        starts = np.concatenate(([0], np.flatnonzero(gaps) + 1))
        sums = np.add.reduceat(sizes, starts)
        for start, size in zip(ts[starts].tolist(), sums.tolist()):
            if act.burst and start - act.burst[1] < t.gap_s:
                act.burst[2] += size
            else:
                if act.burst:
                    act.bursts.append((act.burst[0], act.burst[2]))
                act.burst = [start, start, size]
        act.burst[1] = float(ts[-1])
        if len(act.bursts) < t.min_uploads:
            return []
        bursts = sorted(act.bursts)  # a destination's bursts come flow by flow, not in time order
        starts_, sizes_ = np.array([b[0] for b in bursts]), np.array([b[1] for b in bursts])
        starts_, sizes_ = starts_[-t.min_uploads * 4 :], sizes_[-t.min_uploads * 4 :]
        intervals = np.diff(starts_)
        period = float(np.median(intervals))
        jitter = float(np.std(intervals) / period) if period > 0 else np.inf
        small = bool((sizes_ <= t.max_upload_bytes).all())
        if not (small and t.min_period_s <= period <= t.max_period_s and jitter <= t.max_jitter):
            return []
        if act.down_bytes > t.max_down_ratio * max(act.up_bytes, 1):
            self.counts["beacon_like_downloads_not_flagged"] += 1
            return []
        if not self._due(act, "beacon", float(ts[-1])):
            return []
        evidence = {"period_s": round(period, 3), "jitter": round(jitter, 4), "uploads": len(starts_),
                    "mean_upload_bytes": round(float(sizes_.mean()), 1)}
        confidence = 0.5 + 0.3 * (1 - jitter / t.max_jitter) if t.max_jitter else 0.5
        return [self._finding(view, act, float(ts[-1]), "beacon", "geolocation", "periodic small uploads (location-beacon-like)",
                              confidence, evidence)]

    # ------------------------------------------------------------------ mapping

    def _mapping(self, view, act: Activity, ts, sizes, state: VehicleState) -> list[Finding]:
        t = self.mapping
        index = np.floor(ts / t.window_s).astype(np.int64)
        uniq, inverse = np.unique(index, return_inverse=True)
        for w, b in zip(uniq.tolist(), np.bincount(inverse, weights=sizes).tolist()):
            act.windows[w] = act.windows.get(w, 0) + b
        if len(act.windows) > MAX_WINDOWS:
            for old in sorted(act.windows)[: len(act.windows) - MAX_WINDOWS]:
                act.windows.pop(old)
                act.distances.pop(old, None)
        current = int(uniq[-1])
        first = max(min(act.windows), current - MAX_WINDOWS)
        spans = range(first, current)  # complete windows only; quiet ones count as zero bytes
        if len(spans) < 3:
            return []
        distance = np.array([self._distance(act, w, state) for w in spans])
        volume = np.array([act.windows.get(w, 0) for w in spans], dtype=float)
        known = ~np.isnan(distance)
        km = float(distance[known].sum())
        moving = distance[known] * 3600 / t.window_s >= t.min_speed_kmh
        if km < t.min_km or moving.sum() < 3:
            return []
        per_km = float(volume[known].sum() / km)
        corr = _correlation(volume[known], distance[known])
        uploading = volume[known] > 0
        coverage = float(uploading[moving].mean())
        standing_share = float(uploading[~moving].mean()) if (~moving).any() else 0.0
        steady = (coverage >= t.min_moving_coverage and standing_share <= t.max_standing_share
                  and per_km <= t.max_steady_bytes_per_km)
        judged_by = "correlation" if corr >= t.min_correlation else "uploads while moving" if steady else None
        if per_km < t.min_bytes_per_km or judged_by is None or not self._due(act, "mapping", float(ts[-1])):
            return []
        evidence = {"bytes_per_km": round(per_km, 1), "km": round(km, 3), "correlation": round(corr, 3),
                    "moving_windows_with_uploads": round(coverage, 3), "standing_windows_with_uploads": round(standing_share, 3),
                    "judged_by": judged_by, "windows": int(known.sum()), "window_s": t.window_s}
        confidence = 0.4 + 0.4 * corr if judged_by == "correlation" else 0.4 + 0.3 * coverage * (1 - standing_share)
        return [self._finding(view, act, float(ts[-1]), "mapping", "mapping",
                              "upload volume grows with distance driven (mapping-like)", confidence, evidence)]

    def _distance(self, act: Activity, w: int, state: VehicleState) -> float:
        if w not in act.distances:
            km = state.distance_km(w * self.mapping.window_s, (w + 1) * self.mapping.window_s)
            act.distances[w] = np.nan if km is None else km
        return act.distances[w]

    # ------------------------------------------------------------------ shared

    def _due(self, act: Activity, kind: str, ts: float) -> bool:
        return self.repeats.due((act.flow_id, kind), ts, f"{kind}_suppressed_repeats") is not None

    def _finding(self, view: NetView, act: Activity, ts: float, kind: str, category: str, seen: str,
                 confidence: float, evidence: dict) -> Finding:
        flow, names = view.describe_slot(act.slot)
        return Finding(ts, f"behaviour.{kind}", category, seen, confidence, flow=flow, names=names, evidence=evidence)

    def stats(self) -> dict:
        return {**(self.counts + self.repeats.suppressed), **forgotten(activity=self.flows)}


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
