"""FrameBatch: a time-ordered batch of CAN frames as columns.

Every CAN source (live bus, raw socket, log file) delivers FrameBatch objects, and every
consumer (decoder, detectors) works on whole columns. Per-frame objects exist only at the
edges: ``BatchBuilder.add_message`` takes python-can Messages from buses and from the log
formats whose reader python-can owns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Payload columns: enough for the largest CAN FD frame.
MAX_DATA = 64

#: Payload lengths a CAN FD frame may have (ISO 11898-1 DLC 9..15 map to 12..64).
FD_LENGTHS = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64})


@dataclass(frozen=True, eq=False)
class FrameBatch:
    """N CAN frames as parallel columns.

    ``channel`` holds small integer codes into ``channel_names`` (a batch usually spans one or
    two buses, so strings per frame would be waste). ``dlc`` is the payload length in bytes, as
    python-can's ``Message.dlc``. ``data`` is uint8[N, 64], zero beyond ``dlc``. For error
    frames ``arbitration_id`` keeps the error class bits (SocketCAN ``CAN_ERR_*``) and ``data``
    the error details.
    """

    timestamp: np.ndarray  # float64 seconds
    channel: np.ndarray  # uint16 codes into channel_names
    channel_names: tuple[str, ...]
    arbitration_id: np.ndarray  # uint32, without flag bits
    is_extended: np.ndarray  # bool
    is_remote: np.ndarray  # bool
    is_error: np.ndarray  # bool
    is_fd: np.ndarray  # bool
    bitrate_switch: np.ndarray  # bool
    error_state_indicator: np.ndarray  # bool
    is_rx: np.ndarray  # bool
    dlc: np.ndarray  # uint8 payload length in bytes
    data: np.ndarray  # uint8 [N, 64]

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @property
    def is_data(self) -> np.ndarray:
        """Frames that carry a payload a DBC can decode (neither remote nor error frames)."""
        return ~(self.is_remote | self.is_error)

    def channel_of(self, index: int) -> str:
        return self.channel_names[int(self.channel[index])]

    def payload(self, index: int) -> bytes:
        """The data bytes of one frame (none for a remote frame, whose dlc is only requested)."""
        if self.is_remote[index]:
            return b""
        return self.data[index, : int(self.dlc[index])].tobytes()

    def relabel(self, name: str) -> FrameBatch:
        """The same frames, all on the bus called ``name`` (a live bus's configured name)."""
        return dataclasses.replace(self, channel=np.zeros(len(self), np.uint16), channel_names=(name,))

    def take(self, rows: np.ndarray | slice) -> FrameBatch:
        """A new batch with the given rows (indices or a boolean mask), in that order."""
        return FrameBatch(
            timestamp=self.timestamp[rows],
            channel=self.channel[rows],
            channel_names=self.channel_names,
            arbitration_id=self.arbitration_id[rows],
            is_extended=self.is_extended[rows],
            is_remote=self.is_remote[rows],
            is_error=self.is_error[rows],
            is_fd=self.is_fd[rows],
            bitrate_switch=self.bitrate_switch[rows],
            error_state_indicator=self.error_state_indicator[rows],
            is_rx=self.is_rx[rows],
            dlc=self.dlc[rows],
            data=self.data[rows],
        )

    @staticmethod
    def empty(n: int = 0, channel_names: tuple[str, ...] = ()) -> FrameBatch:
        """A zero-filled batch of n frames, for builders that fill columns in place."""
        return FrameBatch(
            timestamp=np.zeros(n, np.float64),
            channel=np.zeros(n, np.uint16),
            channel_names=channel_names,
            arbitration_id=np.zeros(n, np.uint32),
            is_extended=np.zeros(n, bool),
            is_remote=np.zeros(n, bool),
            is_error=np.zeros(n, bool),
            is_fd=np.zeros(n, bool),
            bitrate_switch=np.zeros(n, bool),
            error_state_indicator=np.zeros(n, bool),
            is_rx=np.ones(n, bool),
            dlc=np.zeros(n, np.uint8),
            data=np.zeros((n, MAX_DATA), np.uint8),
        )

    @staticmethod
    def concat(batches: Sequence[FrameBatch]) -> FrameBatch:
        """Join batches in order, merging their channel name tables."""
        if not batches:
            return FrameBatch.empty()
        names: list[str] = []
        recoded = [recode_channels(names, batch) for batch in batches]
        return FrameBatch(
            timestamp=np.concatenate([b.timestamp for b in batches]),
            channel=np.concatenate(recoded).astype(np.uint16),
            channel_names=tuple(names),
            arbitration_id=np.concatenate([b.arbitration_id for b in batches]),
            is_extended=np.concatenate([b.is_extended for b in batches]),
            is_remote=np.concatenate([b.is_remote for b in batches]),
            is_error=np.concatenate([b.is_error for b in batches]),
            is_fd=np.concatenate([b.is_fd for b in batches]),
            bitrate_switch=np.concatenate([b.bitrate_switch for b in batches]),
            error_state_indicator=np.concatenate([b.error_state_indicator for b in batches]),
            is_rx=np.concatenate([b.is_rx for b in batches]),
            dlc=np.concatenate([b.dlc for b in batches]),
            data=np.concatenate([b.data for b in batches]),
        )

def _intern(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name)


def recode_channels(names: list[str], batch: FrameBatch) -> np.ndarray:
    """The batch's channel codes re-based onto ``names`` (extended with any new names)."""
    codes = np.array([_intern(names, n) for n in batch.channel_names] or [0], np.uint16)
    return codes[batch.channel] if len(batch) else batch.channel.astype(np.uint16)


class BatchBuilder:
    """Fills preallocated columns one frame at a time, then hands out a FrameBatch.

    Used where frames arrive one by one from python-can (live buses, ASC/BLF/TRC readers):
    the columns are written in place, no intermediate per-frame object of our own is kept.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._names: list[str] = []
        self._reset()

    def _reset(self) -> None:
        self._batch = FrameBatch.empty(self._capacity)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def full(self) -> bool:
        return self._n >= self._capacity

    def add_message(self, msg: object) -> None:
        """Append one python-can Message (duck-typed so tests may pass look-alikes)."""
        if self._n >= self._capacity:
            self._grow()
        b, i = self._batch, self._n
        data = bytes(getattr(msg, "data", b"") or b"")[:MAX_DATA]
        b.timestamp[i] = float(getattr(msg, "timestamp", 0.0) or 0.0)
        b.channel[i] = _intern(self._names, _channel_name(getattr(msg, "channel", None)))
        b.arbitration_id[i] = int(getattr(msg, "arbitration_id", 0)) & 0x1FFFFFFF
        b.is_extended[i] = bool(getattr(msg, "is_extended_id", False))
        b.is_remote[i] = bool(getattr(msg, "is_remote_frame", False))
        b.is_error[i] = bool(getattr(msg, "is_error_frame", False))
        b.is_fd[i] = bool(getattr(msg, "is_fd", False))
        b.bitrate_switch[i] = bool(getattr(msg, "bitrate_switch", False))
        b.error_state_indicator[i] = bool(getattr(msg, "error_state_indicator", False))
        b.is_rx[i] = bool(getattr(msg, "is_rx", True))
        # dlc here is the payload length in bytes. For data frames that is the bytes present:
        # python-can reports a classic frame's raw DLC code 9..15 as 12..64 with only 8 bytes.
        remote = b.is_remote[i]
        b.dlc[i] = min(int(getattr(msg, "dlc", 0)), MAX_DATA) if remote else len(data)
        b.data[i, : len(data)] = np.frombuffer(data, np.uint8)
        self._n += 1

    def add_batch(self, batch: FrameBatch) -> None:
        """Append a whole batch column by column (sources that decode records in bulk)."""
        while self._n + len(batch) > self._capacity:
            self._grow()
        end = self._n + len(batch)
        channel = recode_channels(self._names, batch)
        for name in _COLUMNS:
            column = channel if name == "channel" else getattr(batch, name)
            getattr(self._batch, name)[self._n : end] = column
        self._n = end

    @property
    def room(self) -> int:
        return self._capacity - self._n

    def _grow(self) -> None:
        old = self._batch
        self._capacity *= 2
        self._batch = FrameBatch.empty(self._capacity)
        for field in _COLUMNS:
            getattr(self._batch, field)[: self._n] = getattr(old, field)[: self._n]

    def finish(self) -> FrameBatch:
        """Return the frames added so far as a batch and start a new one."""
        full = self._batch
        batch = full.take(np.arange(self._n))
        batch = FrameBatch(**{**_fields(batch), "channel_names": tuple(self._names)})
        self._reset()
        return batch


_COLUMNS = (
    "timestamp", "channel", "arbitration_id", "is_extended", "is_remote", "is_error", "is_fd",
    "bitrate_switch", "error_state_indicator", "is_rx", "dlc", "data",
)


def _fields(batch: FrameBatch) -> dict:
    return {name: getattr(batch, name) for name in (*_COLUMNS, "channel_names")}


def _channel_name(channel: object) -> str:
    return "" if channel is None else str(channel)
