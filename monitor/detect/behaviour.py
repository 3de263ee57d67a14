"""Layer 3: behaviour of flows whose payload cannot be read, against the vehicle's state.

* video-like: uplink bitrate above ``min_kbps`` (over ``window_s``) sustained for
  ``min_duration_s``; more confident while a camera signal is active;
* beacon-like (``beacon.py``): small uploads at a regular period, flagged after five periods or
  a minute; flows of NTP and DNS requests are not judged (periodic by design);
* mapping-like (``mapping.py``): an upload volume that follows the distance driven, at any speed.

Beacon and mapping read a flow's uploads as bursts (``uploads.py``: connection set-up, such as a
TLS ClientHello or a QUIC Initial, is not an upload). A mapping upload at a steady speed is also
periodic in time, so the two are judged together and a destination gets at most one of them:
a beacon is held back while the uploads look mapping-like, and the first of the two to fire on a
destination keeps it (the other is counted, not reported).

Everything is judged per flow and, from its second flow on, summed per destination (an upload
over many connections, a UDP beacon slower than the flow timeout). Per-flow figures are
aggregated per batch with numpy; Python touches each active flow once per batch.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..net.view import NetView
from ..state import CAMERA, LIDAR, VehicleState
from . import beacon, mapping
from .base import Detector
from .beacon import BeaconThresholds
from .finding import Destination, Finding
from .mapping import MappingThresholds, Motion
from .memory import FlowMemory, Repeats, forgotten
from .uploads import Bursts, record_tail, setup_rows

#: A packet this much older than the newest one seen for an activity means the clock stepped
#: back (a recording spliced from two, a GNSS time fix): its time-keyed state starts over.
CLOCK_SLACK_S = 60.0
MAX_DESTINATIONS = 4096
EXCLUSIVE = ("beacon", "mapping")  # one destination, one of these


@dataclass
class Activity:
    flow_id: int | tuple  # a flow id, or ("destination", address) for the flows to one destination
    slot: int
    bursts: Bursts
    seconds: dict = field(default_factory=dict)  # second -> bytes, the last window_s + 1 seconds only
    run_start: float | None = None  # first second of the current above-threshold run
    run_bytes: int = 0
    destination: str | None = None  # the remote address
    flows: set = field(default_factory=set)  # contributing flow ids (destination activities)
    explained: set = field(default_factory=set)  # detectors a single flow to it already fired
    service: str = ""  # "ntp" or "dns": a flow of the network's own plumbing, not judged
    up_bytes: int = 0  # payload bytes sent and received (a download's requests are no beacon)
    down_bytes: int = 0
    tls_tail: int = 0  # bytes of a set-up record still to come in later segments
    newest_s: float = float("-inf")

    def clock_went_back(self, ts: np.ndarray) -> tuple[bool, int]:
        """(stepped back, first usable row): when the clock stepped back, from an earlier batch or
        inside this one, the time-keyed state starts over with the rows after the last step."""
        steps = np.flatnonzero(np.diff(ts) < -CLOCK_SLACK_S)
        start = int(steps[-1]) + 1 if len(steps) else 0
        back = bool(len(steps)) or float(ts.min()) < self.newest_s - CLOCK_SLACK_S
        if back:
            self.seconds.clear()
            self.run_start, self.run_bytes = None, 0
            self.bursts.clear()
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


@dataclass(frozen=True)
class VideoThresholds:
    min_kbps: float = 250.0  # sub-streams run from tens to hundreds of kbit/s, main streams Mbit/s
    window_s: float = 5.0
    min_duration_s: float = 20.0
    camera_bonus: float = 0.3  # added confidence while a camera signal is active


class Behaviour(Detector):
    name = "behaviour"
    sections: ClassVar[dict[str, type]] = {"video": VideoThresholds, "beacon": BeaconThresholds, "mapping": MappingThresholds}

    def configure(self, thresholds) -> None:
        self.video, self.beacon, self.mapping = thresholds.video, thresholds.beacon, thresholds.mapping
        self.repeats = Repeats(max(thresholds.wire.repeat_s, 60.0))  # per (flow_id, kind)
        self.flows: FlowMemory[Activity] = FlowMemory()
        self.destinations: OrderedDict[str, Activity] = OrderedDict()
        self.kind_of: OrderedDict[str, str] = OrderedDict()  # destination -> beacon or mapping, the first that fired
        self.motion = Motion(self.mapping.horizon_s)
        self.counts: Counter = Counter()

    def on_net(self, view: NetView, state: VehicleState) -> list[Finding]:
        received = self._received(view)
        rows = np.flatnonzero(view.outbound & (view.length > 0))
        for fid in set(received) - set(view.flow_id[rows].tolist()):  # flows only receiving in this batch
            self._add_received(self.flows.get(fid), received[fid])
        if not len(rows):
            return []
        setup = setup_rows(view, rows)
        fids = view.flow_id[rows]
        order = np.argsort(fids, kind="stable")
        rows, fids, setup = rows[order], fids[order], setup[order]
        bounds = np.flatnonzero(np.diff(fids)) + 1
        found: list[Finding] = []
        per_destination: dict[str, list] = {}
        for group, opening in zip(np.split(rows, bounds), np.split(setup, bounds)):
            fid = int(view.flow_id[group[0]])
            act = self.flows.get(fid) or self.flows.remember(fid, self._new_activity(view, fid, int(group[0])))
            act.slot = int(view.slot[group[-1]])
            self._add_received(act, received.get(fid, 0))
            if act.service:
                continue
            opening = self._follow_setup(view, act, group, opening)
            ts, sizes = view.ts[group], view.length[group]
            back, start = act.clock_went_back(ts)
            if back:
                self.counts["clock_went_back"] += 1
                ts, sizes, opening = ts[start:], sizes[start:], opening[start:]
            act.up_bytes += int(sizes.sum())
            act.bursts.seen(ts)
            own = self._video(view, act, ts, sizes, state) + self._uploads(view, act, ts[~opening], sizes[~opening], state)
            found += own
            per_destination.setdefault(act.destination, []).append((act, ts, sizes, opening, {f.detector for f in own}))
        for address, parts in per_destination.items():
            found += self._per_destination(view, address, parts, state)
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
        act = Activity(fid, int(view.slot[row]), Bursts(self.beacon.gap_s, self.mapping.max_burst_s))
        flow, _ = view.describe_slot(act.slot)
        act.destination = Destination.of_flow(flow, ()).address or "?"
        act.service = infrastructure(view.payload(row), bool(view.udp[row]), flow.get("resp_p"))
        if act.service:  # periodic small requests by design; taint and the signatures still read every byte
            self.counts[f"{act.service}_flows_not_judged"] += 1
        return act

    def _follow_setup(self, view: NetView, act: Activity, group: np.ndarray, opening: np.ndarray) -> np.ndarray:
        """The set-up rows of a TCP flow, with the segments that carry the rest of a set-up record
        (a ClientHello larger than a segment)."""
        self.counts["setup_packets_not_uploads"] += int(opening.sum())
        if not (act.tls_tail or opening.any()) or view.udp[group[0]]:
            return opening
        opening = opening.copy()
        for k, row in enumerate(group.tolist()):
            if act.tls_tail > 0 and not opening[k]:
                opening[k], act.tls_tail = True, max(0, act.tls_tail - int(view.length[row]))
                self.counts["setup_packets_not_uploads"] += 1
            elif opening[k]:
                act.tls_tail = record_tail(view, row)
        return opening

    def _per_destination(self, view, address: str, parts: list, state) -> list[Finding]:
        """The same judgement over the flows to one destination, from the second flow on (a single
        flow is judged on its own). The first flow's uploads count once the second appears; its
        bitrate for video does not."""
        dest = self.destinations.get(address)
        if dest is None:
            dest = self.destinations[address] = Activity(("destination", address), parts[-1][0].slot,
                                                         Bursts(self.beacon.gap_s, self.mapping.max_burst_s), destination=address)
            while len(self.destinations) > MAX_DESTINATIONS:
                self.destinations.popitem(last=False)
                self.counts["destinations_forgotten"] += 1
        self.destinations.move_to_end(address)
        ts, sizes, opening = (np.concatenate([p[k] for p in parts]) for k in (1, 2, 3))
        order = np.argsort(ts, kind="stable")  # the flows' rows interleave in time
        ts, sizes, opening = ts[order], sizes[order], opening[order]
        back, start = dest.clock_went_back(ts)
        if back:
            self.counts["clock_went_back"] += 1
            ts, sizes, opening = ts[start:], sizes[start:], opening[start:]
        dest.slot = parts[-1][0].slot
        dest.up_bytes += int(sizes.sum())
        dest.bursts.seen(ts)
        for act, *_, flow_found in parts:
            dest.flows.add(act.flow_id)
            dest.explained |= flow_found  # a single flow already showed it: the sum adds nothing
        if len(dest.flows) < 2:  # its uploads are kept: a connection per upload has one upload per flow
            if (~opening).any():
                dest.bursts.add(ts[~opening], sizes[~opening])
            return []
        judged = self._video(view, dest, ts, sizes, state) + self._uploads(view, dest, ts[~opening], sizes[~opening], state)
        found = [f for f in judged if f.detector not in dest.explained]
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

    # ------------------------------------------------------------------ beacon and mapping

    def _uploads(self, view, act: Activity, ts, sizes, state: VehicleState) -> list[Finding]:
        """Beacon and mapping, judged as each upload starts (not on every packet of one): a batch
        that brings several uploads is judged at each, so a finding has the time it became true."""
        new = act.bursts.add(ts, sizes) if len(ts) else 0
        if not new:
            return []
        starts, volumes = act.bursts.uploads()  # each judgement keeps its own horizon
        for end in range(max(len(starts) - new + 1, 2), len(starts) + 1):
            now = float(ts[-1]) if end == len(starts) else float(starts[end - 1])
            found = self._judge(view, act, starts[:end], volumes[:end], state, now)
            if found:
                return found
        return []

    def _judge(self, view, act: Activity, starts, volumes, state: VehicleState, now: float) -> list[Finding]:
        self.motion.refresh(state, now)
        judged = mapping.judge(starts, volumes, self.motion, now, self.mapping)
        found = []
        if judged is not None and judged.mapping_like:
            found += self._exclusive(view, act, now, "mapping", "mapping", "upload volume follows the distance driven (mapping-like)",
                                     0.5 + 0.3 * judged.evidence["moving_windows_with_uploads"], judged.evidence)
        evidence = beacon.judge(starts, volumes, self.beacon, act.bursts.opened)
        if evidence is None:
            return found
        if act.down_bytes > self.beacon.max_down_ratio * max(act.up_bytes, 1):
            self.counts["beacon_like_downloads_not_flagged"] += 1
        elif judged is not None and judged.mapping_like:
            self.counts["beacon_like_uploads_judged_mapping"] += 1
        elif judged is not None and judged.ambiguous and now - act.bursts.opened < self.beacon.max_ambiguous_s:
            self.counts["beacon_like_uploads_waiting_for_a_stop"] += 1
        else:
            if judged is not None:
                evidence["follows"] = judged.follows
            found += self._exclusive(view, act, now, "beacon", "geolocation", "periodic small uploads (location-beacon-like)",
                                     beacon.confidence(evidence["jitter"], self.beacon), evidence)
        return found

    def _exclusive(self, view, act: Activity, ts: float, kind: str, category: str, seen: str,
                   confidence: float, evidence: dict) -> list[Finding]:
        """A beacon or mapping finding, unless the other of the two already fired on this destination."""
        first = self.kind_of.setdefault(act.destination, kind)
        while len(self.kind_of) > MAX_DESTINATIONS:
            self.kind_of.popitem(last=False)
        if first != kind:
            self.counts[f"{kind}_held_for_{first}"] += 1
            return []
        if not self._due(act, kind, ts):
            return []
        return [self._finding(view, act, ts, kind, category, seen, confidence, evidence)]

    # ------------------------------------------------------------------ shared

    def _due(self, act: Activity, kind: str, ts: float) -> bool:
        return self.repeats.due((act.flow_id, kind), ts, f"{kind}_suppressed_repeats") is not None

    def _finding(self, view: NetView, act: Activity, ts: float, kind: str, category: str, seen: str,
                 confidence: float, evidence: dict) -> Finding:
        flow, names = view.describe_slot(act.slot)
        return Finding(ts, f"behaviour.{kind}", category, seen, confidence, flow=flow, names=names, evidence=evidence)

    def stats(self) -> dict:
        return {**(self.counts + self.repeats.suppressed), **forgotten(activity=self.flows)}
