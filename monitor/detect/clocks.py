"""Are the CAN and IP recordings on one clock? The offset estimated from positions.

Taint compares a payload's position with the CAN positions of the seconds before the packet;
a CAN log whose clock runs 8 s late holds each position 8 s after the packet that carried it,
and every match is lost without a word. This module measures the offset before the replay
runs, in a first pass that reads only what it needs:

- the CAN track: every CAN recording decoded with the configuration's plans and signal map
  (the same path as the Monitor's), its positions kept at most every TRACK_STEP_S;
- payload positions: the captures' L4 payloads searched for values in the box the track covers
  (positionscan.py), packets within MAX_OFFSET_S of the CAN recordings' span only, until MAX_POSITIONS
  positions were examined or MAX_SCAN_BYTES searched;
- votes: for each payload position, each pass of the track within NEAR_M of it gives the CAN
  time of closest approach, and the vote packet time - that time. A pass where the vehicle
  stood still (the closest points spread over more than MAX_TIE_S) says nothing about time and
  gives no vote (counted ``stationary``);
- identical events (clockevents.py): a UDS request over DoIP found again on CAN in an ISO-TP
  single frame votes its packet time - its CAN time (the gateway's forwarding delay, a few
  milliseconds, is the error);
- the offset: the densest AGREE_S of votes, its lowest (a position is sent after it was
  measured: the votes are the offset plus a delay), with how many witnesses (positions,
  requests) agree and their spread. It counts only when at least MIN_SUPPORT agree and they
  are at least half of those that voted.

Offsets above MAX_OFFSET_S are not looked for: recordings that far apart mostly do not overlap,
which ``pipeline.time_mismatch`` already says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..canbus.decode import DecodedBatch, decode_batch
from ..canbus.frames import FrameBatch
from ..canbus.plan import DecodePlan
from ..config.model import Config
from ..net.capture import read_capture
from ..net.headers import Status, parse_headers
from ..recordings import recording_sources
from ..state import VehicleState, apply_signals
from .clockevents import MAX_EVENTS, can_requests, doip_request, event_votes
from .geo import lon_delta
from .positionscan import Box, positions

TRACK_STEP_S = 0.05  # CAN positions kept at most 20 a second
MAX_TRACK = 2_000_000  # CAN positions kept in all (28 hours at 20 a second); later ones counted, not kept
MAX_POSITIONS = 1024  # payload positions examined
MAX_SCAN_BYTES = 64 << 20  # payload bytes searched
BUFFER_BYTES = 1 << 20  # payloads joined into buffers this large
GAP = 8  # zero bytes between joined payloads: no value straddles two packets
NEAR_M = 50.0  # a payload position this close to the track is that place (GNSS jitter, rounding)
TIE_M, MAX_TIE_S = 3.0, 2.0  # points within TIE_M of the closest spread over more than MAX_TIE_S: standing still
AGREE_S = 2.0  # votes within this of each other agree (GNSS to send delays vary)
MIN_SUPPORT = 3
MAX_OFFSET_S = 900.0
WARN_S = 1.0  # offsets above this are warned about (and applied with --align-clocks)
METRES_PER_DEGREE = 111_195.0


@dataclass(frozen=True)
class ClockEstimate:
    """What the first pass found. ``offset_s`` is to be added to CAN times on top of
    ``given_s`` (the --can-time-offset the pass ran under); None when undetermined."""

    offset_s: float | None
    given_s: float
    support: int = 0  # payload positions whose vote agrees with the offset
    voted: int = 0  # payload positions the track passes near while moving
    examined: int = 0  # payload positions found near the track and examined
    events: int = 0  # UDS requests over DoIP found again on CAN (clockevents.py)
    stationary: int = 0  # passes where the vehicle stood still: no vote
    spread_s: float = 0.0  # between the agreeing votes
    scanned_bytes: int = 0
    off_track: int = 0  # payload positions in the track's box but nowhere near the track
    track_points: int = 0
    elapsed_s: float = 0.0  # wall time of the pass (a measurement: differs run to run)

    @property
    def suggested_s(self) -> float | None:
        return None if self.offset_s is None else round(self.given_s + self.offset_s, 3)

    @property
    def off(self) -> bool:
        return self.offset_s is not None and abs(self.offset_s) > WARN_S

    def evidence(self) -> str:
        what = "payload positions" + (f" and DoIP requests seen on CAN ({self.events})" if self.events else "")
        if self.offset_s is None:
            return (f"undetermined: {self.support} of {self.voted} {what} agree "
                    f"({self.examined} positions examined, {self.track_points} CAN positions)")
        return (f"{self.support} of {self.voted} {what} agree within {AGREE_S:g} s, "
                f"spread {self.spread_s:.2f} s; {self.examined} positions examined")

    def warning(self) -> str | None:
        """One line when the CAN clock is off by more than WARN_S, with the option to give."""
        if not self.off:
            return None
        assert self.offset_s is not None
        way = "behind" if self.offset_s > 0 else "ahead of"
        return (f"the CAN recordings' clock is {abs(self.offset_s):.3f} s {way} the captures' ({self.evidence()}): "
                f"positions in payloads cannot be matched to CAN; rerun with --can-time-offset "
                f"{self.suggested_s:.3f} or --align-clocks")

    def as_dict(self) -> dict:
        return {**asdict(self), "suggested_s": self.suggested_s, "warn_above_s": WARN_S, "warning": self.warning()}


def estimate(config: Config, can: Iterable[Path], captures: Iterable[Path], given_s: float = 0.0) -> ClockEstimate:
    """The offset between the CAN recordings (shifted by ``given_s``) and the captures."""
    started = time.monotonic()
    side = can_side(config, list(can), given_s)
    if side.span is None:
        return ClockEstimate(None, given_s, elapsed_s=round(time.monotonic() - started, 3))
    cells = Cells(side.lats, side.lons) if len(side.ts) else None
    found = payload_positions(list(captures), cells, (side.span[0] - MAX_OFFSET_S, side.span[1] + MAX_OFFSET_S))
    votes, voters, stationary = vote(side.ts, side.lats, side.lons, found.positions)
    paired = event_votes(side.events, found.events, MAX_OFFSET_S)  # voters after the positions
    votes = np.concatenate([votes, [v for v, _ in paired]])
    voters = np.concatenate([voters, [len(found.positions) + k for _, k in paired]]).astype(np.int64)
    offset, support, spread = agreeing(votes, voters)
    voted = len(set(voters.tolist()))
    determined = support >= MIN_SUPPORT and 2 * support >= voted
    return ClockEstimate(round(offset, 3) if determined else None, given_s, support, voted, len(found.positions),
                         len({k for _, k in paired}), stationary, round(spread, 3), found.scanned, found.off_track,
                         len(side.ts), round(time.monotonic() - started, 3))


@dataclass
class CanSide:
    """What the first pass keeps of the CAN recordings: the track, the UDS requests in single
    frames, and the time span of all frames."""

    ts: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    events: list[tuple[float, bytes]]
    span: tuple[float, float] | None


def can_side(config: Config, can: list[Path], given_s: float) -> CanSide:
    """The vehicle's track by the CAN recordings (in time order), their UDS requests and span."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    events: list[tuple[float, bytes]] = []
    span: tuple[float, float] | None = None
    kept = 0
    plan, signal_map = config.plan, config.signal_map
    assert plan is not None and signal_map is not None, "a Config from load_config"
    for source in recording_sources(can, [], float("inf"), given_s):
        state, last = VehicleState(horizon_s=60.0), -np.inf
        for batch in source.batches(threading.Event()):
            if not len(batch):
                continue
            first_t, last_t = float(batch.timestamp[0]), float(batch.timestamp[-1])
            span = (min(span[0], first_t), max(span[1], last_t)) if span else (first_t, last_t)
            events += can_requests(batch)[: MAX_EVENTS - len(events)]
            for decoded in _decoded(config.bus_plans, plan, batch):
                apply_signals(signal_map, decoded, state)
            ts, lats, lons = state.positions(last, last_t)
            if len(ts) and kept < MAX_TRACK:
                _, first = np.unique(np.floor(ts / TRACK_STEP_S), return_index=True)
                first = first[: MAX_TRACK - kept]
                parts.append((ts[first], lats[first], lons[first]))
                kept += len(first)
                last = float(ts[-1])
    if not parts:
        return CanSide(np.zeros(0), np.zeros(0), np.zeros(0), events, span)
    ts, lats, lons = (np.concatenate(column) for column in zip(*parts))
    order = np.argsort(ts, kind="stable")
    return CanSide(ts[order], lats[order], lons[order], events, span)


def _decoded(plans: dict[str, DecodePlan], common: DecodePlan, batch: FrameBatch) -> Iterator[DecodedBatch]:
    """Buses with DBCs of their own decode with their plan, the rest with the common one (as
    the Monitor does)."""
    if not plans or not any(name in plans for name in batch.channel_names):
        yield decode_batch(common, batch)
        return
    for code, name in enumerate(batch.channel_names):
        rows = np.flatnonzero(batch.channel == code)
        if len(rows):
            yield decode_batch(plans.get(name, common), batch.take(rows))


class Cells:
    """Where the track went, as cells of NEAR_M (with their neighbours): a payload position in
    none of them is nowhere the vehicle was, whatever the clock, and is not examined (random
    bytes in the track's box would otherwise use up MAX_POSITIONS)."""

    def __init__(self, lats: np.ndarray, lons: np.ndarray) -> None:
        self.box = Box.around(lats, lons, NEAR_M / METRES_PER_DEGREE)
        self.lat_step = NEAR_M / METRES_PER_DEGREE
        self.lon_step = self.lat_step / max(0.01, float(np.cos(np.radians(np.abs(lats).max()))))
        rows, cols = self._cell(lats, lons)
        self.cells = {(int(r) + i, int(c) + j) for r, c in set(zip(rows.tolist(), cols.tolist()))
                      for i in (-1, 0, 1) for j in (-1, 0, 1)}

    def _cell(self, lats, lons) -> tuple[np.ndarray, np.ndarray]:
        return np.floor(np.asarray(lats) / self.lat_step), np.floor(np.asarray(lons) / self.lon_step)

    def visited(self, lat: float, lon: float) -> bool:
        row, col = self._cell(lat, lon)
        return (int(row), int(col)) in self.cells


@dataclass
class Found:
    positions: list[tuple[float, float, float]] = field(default_factory=list)  # (packet time, latitude, longitude)
    events: list[tuple[float, bytes]] = field(default_factory=list)  # (packet time, UDS request over DoIP)
    scanned: int = 0
    off_track: int = 0  # positions in the box but nowhere near the track


def payload_positions(captures: list[Path], cells: Cells | None, span: tuple[float, float]) -> Found:
    """Positions near the track (none without one) and DoIP requests in the captures'
    payloads, packets within ``span``; bounded by MAX_POSITIONS and MAX_SCAN_BYTES."""
    found = Found()
    for path in captures:
        for batch in read_capture(path):
            for times, buf, starts in _buffers(batch, span, found.events):
                found.scanned += len(buf)
                if cells is not None:
                    for p, lat, lon in positions(buf, starts, cells.box):
                        if cells.visited(lat, lon):
                            found.positions.append((float(times[p]), lat, lon))
                        else:
                            found.off_track += 1
                if len(found.positions) >= MAX_POSITIONS or found.scanned >= MAX_SCAN_BYTES:
                    found.positions = found.positions[:MAX_POSITIONS]
                    return found
    return found


def _buffers(batch, span: tuple[float, float], events: list) -> Iterator[tuple[np.ndarray, bytes, np.ndarray]]:
    """The batch's L4 payloads within the time span, joined into buffers of about BUFFER_BYTES:
    (packet times, bytes, each packet's start). DoIP requests go to ``events`` on the way."""
    headers = parse_headers(batch)
    ts = batch.ts_ns / 1e9
    rows = np.flatnonzero((headers.status == Status.OK) & (headers.captured_len > 0) & (ts >= span[0]) & (ts <= span[1]))
    data = batch.data
    chunk: list[bytes] = []
    times: list[float] = []
    starts: list[int] = []
    size = 0
    for row in rows.tolist():
        start = int(headers.payload[row])
        payload = data[start : start + int(headers.captured_len[row])].tobytes()
        uds = doip_request(payload) if len(events) < MAX_EVENTS else None
        if uds is not None:
            events.append((float(ts[row]), uds))
        chunk.append(payload + bytes(GAP))
        times.append(float(ts[row]))
        starts.append(size)
        size += len(chunk[-1])
        if size >= BUFFER_BYTES:
            yield np.array(times), b"".join(chunk), np.array(starts, np.int64)
            chunk, times, starts, size = [], [], [], 0
    if chunk:
        yield np.array(times), b"".join(chunk), np.array(starts, np.int64)


def vote(ts: np.ndarray, lats: np.ndarray, lons: np.ndarray,
         found: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray, int]:
    """(votes: packet time - CAN time of closest approach, the payload position each came
    from, passes where the vehicle stood still)."""
    votes: list[float] = []
    voters: list[int] = []
    stationary = 0
    for k, (t, lat, lon) in enumerate(found):
        lo, hi = np.searchsorted(ts, [t - MAX_OFFSET_S, t + MAX_OFFSET_S])
        metres = _metres(lats[lo:hi], lons[lo:hi], lat, lon)
        for run in _runs(np.flatnonzero(metres <= NEAR_M)):
            closest = run[np.argmin(metres[run])]
            ties = run[metres[run] <= metres[closest] + TIE_M]
            if ts[lo + ties[-1]] - ts[lo + ties[0]] > MAX_TIE_S:
                stationary += 1
                continue
            votes.append(t - float(ts[lo + closest]))
            voters.append(k)
    return np.array(votes), np.array(voters, np.int64), stationary


def _metres(lats: np.ndarray, lons: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Distance from (lat, lon) on a local flat projection: exact enough within NEAR_M."""
    dy = (lats - lat) * METRES_PER_DEGREE
    dx = lon_delta(lons, lon) * METRES_PER_DEGREE * np.cos(np.radians(lat))
    return np.hypot(dx, dy)


def _runs(indices: np.ndarray) -> list[np.ndarray]:
    """Consecutive indices as runs: each run one pass of the track near the position."""
    if not len(indices):
        return []
    return np.split(indices, np.flatnonzero(np.diff(indices) > 1) + 1)


def agreeing(votes: np.ndarray, voters: np.ndarray) -> tuple[float, int, float]:
    """(the lowest of the densest AGREE_S of votes, how many payload positions it holds, its
    spread); (0, 0, 0) without votes. The lowest, not the median: a report leaves after its
    position was measured, never before, so each vote is the offset plus that delay (a tracker
    answered by its server before the next report drifts by the round trips: 1 s over the 18
    reports of seeds/jt808-untrusted)."""
    if not len(votes):
        return 0.0, 0, 0.0
    order = np.argsort(votes, kind="stable")
    votes, voters = votes[order], voters[order]
    ends = np.searchsorted(votes, votes + AGREE_S, side="right")
    support = [len(set(voters[i:end].tolist())) for i, end in enumerate(ends.tolist())]
    best = int(np.argmax(support))
    members = votes[best : ends[best]]
    return float(members[0]), support[best], float(members[-1] - members[0])


def align(config: Config, can: list[Path], captures: list[Path], given_s: float,
          apply: bool) -> tuple[float, ClockEstimate | None, list[str]]:
    """For replay and policy test: (the CAN offset to replay with, the estimate, lines for
    stderr). Without both CAN and IP recordings there is nothing to compare. With ``apply``,
    a line says what was done, also when nothing was (so the flag is never silently idle)."""
    if not can or not captures:
        return given_s, None, ["--align-clocks: nothing to align without both CAN and IP recordings"] if apply else []
    found = estimate(config, can, captures, given_s)
    if not found.off:
        kept = "undetermined" if found.offset_s is None else f"within {WARN_S:g} s"
        return given_s, found, [f"--align-clocks: {kept}, CAN times kept ({found.evidence()})"] if apply else []
    if apply:
        assert found.suggested_s is not None
        line = f"--align-clocks: CAN times shifted by {found.suggested_s:.3f} s ({found.evidence()})"
        return found.suggested_s, found, [line]
    return given_s, found, [f"warning: {found.warning()}"]
