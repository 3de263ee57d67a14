"""Episodes, not dropped repeats: every finding of one (flow or CAN ids, detector, category)
belongs to one episode; findings summed over a destination's flows, to one per destination.

The first finding opens the episode and its record (Create) is written at once. Later ones
update it: the count (suppressed repeats a detector told of included), first and last time, the
decoded positions as a track. When the track holds ``track_points`` positions an Update record
carries them and the track starts again, so every position that left the vehicle is in some
record; the bounding box covers them all. The episode closes (a Close record with the totals)
when its flow ends, after ``quiet_s`` seconds of data time without a hit, or when the input ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..detect import geo
from ..detect.finding import Destination, Finding, Position
from . import record

Key = tuple


@dataclass(eq=False)
class Episode:
    uid: str
    first: Finding
    first_ts: float
    last_ts: float
    count: int = 1
    confidence: float = 0.0
    track: list[tuple[float, Position]] = field(default_factory=list)
    positions_total: int = 0
    positions_recorded: int = 0  # in earlier Update records
    bbox: list[float] | None = None  # south, west, north, east (west > east: across the antimeridian)
    flow_bytes: dict | None = None  # the flow's bytes each way, once it ended
    closed_by: str = ""
    enforced: set[str] = field(default_factory=set)
    serial: int = 0  # opening order: ties in first time close in it

    def add(self, finding: Finding) -> None:
        self.last_ts = max(self.last_ts, finding.ts)
        self.confidence = max(self.confidence, finding.confidence)
        if "enforced" in finding.evidence:
            self.enforced.add(str(finding.evidence["enforced"]))
        positions = finding.track or ([finding.position] if finding.position else [])
        for position in positions:
            self.track.append((finding.ts, position))
            self.positions_total += 1
            lat = position.lat
            box = self.bbox or [lat, position.lon, lat, position.lon]
            west, east = geo.extend_span((box[1], box[3]), position.lon)  # the short arc, not min/max
            self.bbox = [min(box[0], lat), west, max(box[2], lat), east]

    def action_taken(self) -> str:
        if self.enforced:
            return "blocked: " + ", ".join(sorted(self.enforced))
        return {"block": "block (not enforced: monitor mode)", "alert": "alerted"}.get(self.first.action or "", "alerted")

    def event_time(self, activity_id: int) -> float:
        return self.first_ts if activity_id == 1 else self.last_ts

    def summary(self, activity_id: int) -> dict:
        out: dict = {"uid": self.uid, "state": "closed" if activity_id == 3 else "open", "count": self.count,
                     "first_ts": round(self.first_ts, 6), "last_ts": round(self.last_ts, 6),
                     "positions_total": self.positions_total}
        if activity_id == 3:
            out["closed_by"] = self.closed_by
        if self.flow_bytes:
            out["flow_bytes"] = self.flow_bytes
        return out

    def track_record(self, activity_id: int, decimals: int | None) -> dict | None:
        """The positions since the last record (all of them in Create/Update/Close)."""
        if not self.positions_total:
            return None
        points = [[round(ts, 3), *record.rounded_position(p.lat, p.lon, decimals)] for ts, p in self.track]
        box = self.bbox or []
        return {"points": points, "first_point": self.positions_recorded + 1 if points else None,
                "bbox": [record.rounded_position(box[0], box[1], decimals), record.rounded_position(box[2], box[3], decimals)],
                "positions_total": self.positions_total}


Emit = Callable[[dict], object]


class Episodes:
    def __init__(self, emit: Emit, vehicle: Callable[[], dict], quiet_s: float = 300.0, track_points: int = 256,
                 decimals: int | None = None) -> None:
        self.emit, self.vehicle = emit, vehicle
        self.quiet_s, self.track_points, self.decimals = quiet_s, track_points, decimals
        self.open: dict[Key, Episode] = {}
        # Keys, not a set: a set of tuples of strings iterates in hash order, which
        # PYTHONHASHSEED changes, and the order episodes close in is the order of the log.
        self.by_flow: dict[int, dict[Key, None]] = {}
        self.serial = 0
        self.counts = {"episodes": 0, "records": 0, "findings": 0}

    def finding(self, finding: Finding) -> None:
        self.counts["findings"] += 1
        key = _key(finding)
        episode = self.open.get(key)
        repeats = int(finding.evidence.get("repeats_since_last", 0) or 0)
        if episode is None:
            self.serial += 1
            self.counts["episodes"] += 1
            episode = Episode(f"{self.vehicle()['id']}:{finding.detector}:{self.serial}", finding, finding.ts, finding.ts,
                              confidence=finding.confidence, serial=self.serial)
            episode.add(finding)
            self.open[key] = episode
            if finding.flow:
                self.by_flow.setdefault(int(finding.flow.get("flow_id", 0)), {})[key] = None
            self._write(episode, 1)
            return
        episode.count += 1 + repeats
        episode.add(finding)
        if len(episode.track) >= self.track_points:
            self._write(episode, 2)

    def flow_ended(self, flow_record: dict) -> None:
        keys = [k for k in self.by_flow.pop(int(flow_record.get("flow_id", 0)), ()) if k in self.open]
        for key in keys:
            self.open[key].flow_bytes = {"out": flow_record.get("orig_ip_bytes"), "in": flow_record.get("resp_ip_bytes")}
        self._close_all(keys, "flow end")

    def tick(self, now: float) -> None:
        """Close episodes quiet for ``quiet_s`` seconds of data time."""
        self._close_all([k for k, e in self.open.items() if now - e.last_ts >= self.quiet_s], "quiet")

    def finish(self, reason: str = "end of input") -> None:
        self._close_all(list(self.open), reason)

    def _close_all(self, keys: list[Key], reason: str) -> None:
        """Close in one defined order, by first time then opening order, so the same input
        gives the same log byte for byte."""
        for key in sorted(keys, key=lambda k: (self.open[k].first_ts, self.open[k].serial)):
            self._close(key, reason)

    def _close(self, key: Key, reason: str) -> None:
        episode = self.open.pop(key)
        episode.closed_by = reason
        self._write(episode, 3)

    def _write(self, episode: Episode, activity_id: int) -> None:
        self.emit(record.build(episode, activity_id, self.vehicle(), self.decimals))
        self.counts["records"] += 1
        episode.positions_recorded += len(episode.track)
        episode.track = []


def _key(finding: Finding) -> Key:
    if finding.evidence.get("aggregated_over") == "destination":  # one episode across the flows it summed
        destination = Destination.of(finding)
        return ("destination", destination.address if destination else None, finding.detector, finding.category)
    if finding.flow:  # a remote command is its own episode: each carries its own parameters
        seen = (finding.seen,) if finding.category == "remote" else ()
        # The category too: a tracker's login (identity) and its position reports (geolocation)
        # are one detector on one flow, and the position must not hide under the login's record.
        return ("flow", int(finding.flow.get("flow_id", 0)), finding.detector, finding.category, *seen)
    if finding.can:  # on CAN, what was seen (a UDS service, a rule) tells episodes apart
        return ("can", finding.can.get("bus"), tuple(finding.can.get("ids", ())), finding.detector, finding.seen)
    return ("other", finding.detector, finding.seen)
