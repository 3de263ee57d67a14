"""VehicleState: what the CAN buses say about the vehicle, named in COVESA VSS terms.

Decoded DBC signals reach the state through the signal map compiled with the configuration
(config/signals.py: a DBC signal, an optional ``math`` or ``mapping`` transform, as Eclipse
Kuksa's dbc2vss does; a VIN assembled from multiplexed frames). The state keeps a bounded history of every mapped signal
so detectors can ask what was true at a packet's time: the recent positions, the distance
driven between two times, whether a camera was active.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .canbus.decode import DecodedBatch, MessageColumns
from .config.model import VinSource
from .config.signals import SignalMap

LAT, LON = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
SPEED, DISTANCE = "Vehicle.Speed", "Vehicle.TraveledDistance"
VIN = "Vehicle.VehicleIdentification.VIN"
CAMERA, LIDAR = "Vehicle.ADAS.Camera.IsActive", "Vehicle.ADAS.Lidar.IsActive"
VIN_CHARS = frozenset(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789")


class Series:
    """A time series kept for ``horizon_s`` seconds, in chunks appended per batch."""

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self.chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self.source = ""

    def add(self, ts: np.ndarray, values: np.ndarray, source: str) -> None:
        if len(ts):
            self.chunks.append((ts, values))
            self.source = source
            while len(self.chunks) > 1 and self.chunks[0][0][-1] < ts[-1] - self.horizon_s:
                self.chunks.popleft()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.chunks:
            return np.zeros(0), np.zeros(0)
        if len(self.chunks) > 1:
            ts = np.concatenate([c[0] for c in self.chunks])
            values = np.concatenate([c[1] for c in self.chunks])
            if not _ascending(ts):  # chunks usually come in time order: a stable sort would keep it
                order = np.argsort(ts, kind="stable")
                ts, values = ts[order], values[order]
            self.chunks = deque([(ts, values)])
        return self.chunks[0]

    def at(self, t: float):
        ts, values = self.arrays()
        i = int(np.searchsorted(ts, t, side="right")) - 1
        return values[i] if i >= 0 else None

    def between(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        ts, values = self.arrays()
        lo, hi = np.searchsorted(ts, [t0, t1], side="right")
        return ts[lo:hi], values[lo:hi]


def _ascending(ts: np.ndarray) -> bool:
    """Non-decreasing and free of NaN: then a stable argsort is the identity."""
    return bool(np.all(ts[1:] >= ts[:-1]))


@dataclass
class VehicleState:
    horizon_s: float = 900.0
    series: dict[str, Series] = field(default_factory=dict)
    vin: str | None = None
    vin_source: str = ""
    vin_parts: dict[int, bytes] = field(default_factory=dict)  # VIN frame index -> its characters
    updates: int = 0
    remote_commands: deque = field(default_factory=lambda: deque(maxlen=64))  # recent control from outside

    def note_remote(self, findings: list) -> None:
        """Remember control reaching in from outside (category ``remote``), so that what it
        causes on CAN a moment later can name it."""
        for finding in findings:
            if finding.category == "remote":
                self.remote_commands.append(finding)

    def remote_before(self, t: float, within_s: float):
        """The latest remote finding at most ``within_s`` seconds before ``t``, or None."""
        return next((f for f in reversed(self.remote_commands) if 0.0 <= t - f.ts <= within_s), None)

    def _series(self, name: str) -> Series:
        if name not in self.series:
            self.series[name] = Series(self.horizon_s)
        return self.series[name]

    def add(self, name: str, ts: np.ndarray, values: np.ndarray, source: str) -> None:
        self._series(name).add(np.asarray(ts, float), np.asarray(values), source)
        self.updates += len(ts)

    def positions(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, latitudes, longitudes) between t0 and t1: a position at every update of either
        coordinate, each as of that time. In one message both update together; in two messages,
        each sent with the latest fix, the latitude of fix k arrives beside the longitude of fix
        k-1 until the longitude's own message brings fix k: the true pair is among them (as of the
        latitude only, it never was; interpolated, it is a position no fix had)."""
        lat_ts, lats = self._series(LAT).arrays()
        lon_ts, lons = self._series(LON).arrays()
        if not len(lat_ts) or not len(lon_ts):
            return np.zeros(0), np.zeros(0), np.zeros(0)
        lo, hi = np.searchsorted(lat_ts, [t0, t1], side="right")
        lon_lo, lon_hi = np.searchsorted(lon_ts, [t0, t1], side="right")
        ts = np.union1d(lat_ts[lo:hi], lon_ts[lon_lo:lon_hi])
        lat_at = np.searchsorted(lat_ts, ts, side="right") - 1
        lon_at = np.searchsorted(lon_ts, ts, side="right") - 1
        keep = (lat_at >= 0) & (lon_at >= 0)
        return ts[keep], lats[lat_at[keep]].astype(float), lons[lon_at[keep]].astype(float)

    def position_source(self) -> str:
        return " / ".join(s for s in (self._series(LAT).source, self._series(LON).source) if s)

    def distance_km(self, t0: float, t1: float) -> float | None:
        """Distance driven between t0 and t1: from the odometer, else by integrating speed."""
        odo = self._series(DISTANCE)
        if odo.chunks:
            start, end = odo.at(t0), odo.at(t1)
            if start is not None and end is not None:
                return max(0.0, float(end) - float(start))
        ts, speeds = self._series(SPEED).between(t0 - 1.0, t1)
        if len(ts) < 2:
            return None
        clipped = np.clip(ts, t0, t1)
        return float(np.sum(np.diff(clipped) * speeds[:-1].astype(float)) / 3600.0)

    def active(self, name: str, t: float) -> bool:
        value = self._series(name).at(t)
        return bool(value) if value is not None else False


def apply_signals(signal_map: SignalMap, decoded: DecodedBatch, state: VehicleState) -> None:
    """Feed the decoded columns of the mapped messages into the state."""
    ts_all = decoded.batch.timestamp
    for cols in decoded.messages:
        name = cols.message.name
        for mapped in signal_map.by_message.get(name, ()):
            rows, values = _present(cols, mapped.source.signal)
            if len(rows):
                state.add(mapped.vss, ts_all[cols.rows[rows]], mapped.transform(values), f"{name}.{mapped.source.signal}")
        if name in signal_map.vin_sources:
            _vin(cols, decoded, signal_map.vin_sources[name], state)


def _vin(cols: MessageColumns, decoded: DecodedBatch, source: VinSource, state: VehicleState) -> None:
    rows, index = _present(cols, source.index)
    data = decoded.batch.data[cols.rows[rows], source.first_byte : source.first_byte + source.chars_per_frame]
    frames = -(-17 // source.chars_per_frame)
    for i, chars in zip(index.tolist(), data):
        state.vin_parts[int(i)] = chars.tobytes()
        text = b"".join(state.vin_parts.get(k, b"?" * source.chars_per_frame) for k in range(frames))[:17]
        if len(text) == 17 and all(c in VIN_CHARS for c in text):
            state.vin, state.vin_source = text.decode(), f"{source.message} ({source.index} 0-2)"


def _present(cols: MessageColumns, signal: str) -> tuple[np.ndarray, np.ndarray]:
    values = cols.values.get(signal)
    if values is None:
        return np.zeros(0, np.int64), np.zeros(0)
    mask = cols.present.get(signal)
    rows = np.flatnonzero(mask) if mask is not None else np.arange(len(values))
    return rows, values[rows]
