"""Recordings as timeline sources: CAN logs, captures, and SocketCAN captures (pcap/pcapng of
link type 227, what `tcpdump -i can0` or Wireshark write), which carry CAN frames, not packets.

Told apart by content: a capture (pcap/pcapng magic) whose first records are SocketCAN frames is
CAN; any other capture is IP; anything else is a CAN log (candump, ASC, BLF, TRC, MF4 by suffix).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .canbus.frames import FrameBatch
from .canbus.logs import CanLogSource
from .canbus.rawsocket import CAN_MTU, CANFD_MTU, records_to_batch
from .errors import SourceError
from .net.capture import PCAP_MAGICS, PCAPNG_MAGIC, CaptureSource, ReplayStats, read_capture
from .net.packets import PacketBatch
from .source import Source

LINKTYPE_CAN_SOCKETCAN = 227


class SocketCanCaptureSource(Source):
    """CAN frames from a capture of link type 227. The frame header there is in network byte
    order (the CAN id big-endian), unlike the kernel's records, which are in host order."""

    kind = "can"

    def __init__(self, path: Path, slice_s: float = float("inf"), bus: str | None = None, offset_s: float = 0.0) -> None:
        super().__init__(str(path))
        self.path, self.slice_s, self.bus, self.offset_s = path, slice_s, bus or path.stem, offset_s
        self.replay = ReplayStats()
        self.stats.extra.update(malformed=0, examples=[], first_ts=None, last_ts=None)

    def batches(self, stop: threading.Event) -> Iterator[FrameBatch]:
        return self.sliced(self._frames(), self.slice_s, stop)

    def _frames(self) -> Iterator[FrameBatch]:
        for packets in read_capture(self.path, stats=self.replay):
            frames = socketcan_frames(packets, self.bus)
            if self.offset_s and len(frames):  # a capture whose clock was not the IP capture's (--can-time-offset)
                frames = dataclasses.replace(frames, timestamp=frames.timestamp + self.offset_s)
            self.stats.extra["malformed"] += len(packets) - len(frames)
            if len(frames):
                self.count(frames)
                yield frames


def socketcan_frames(packets: PacketBatch, bus: str) -> FrameBatch:
    """The SocketCAN rows of a packet batch as frames (other rows, and short ones, left out)."""
    rows = np.flatnonzero((packets.linktype == LINKTYPE_CAN_SOCKETCAN) & (packets.caplen >= 8))
    sizes = np.where(packets.caplen[rows] > CAN_MTU, CANFD_MTU, CAN_MTU)
    records = np.zeros((len(rows), CANFD_MTU), np.uint8)
    take = np.minimum(packets.caplen[rows], CANFD_MTU)
    for i, (start, n) in enumerate(zip(packets.offset[rows].tolist(), take.tolist())):
        records[i, :n] = packets.data[start : start + n]
    if np.little_endian:  # records_to_batch reads the id in host order; the capture has it big-endian
        records[:, :4] = records[:, 3::-1][:, :4]
    return records_to_batch(records, sizes, packets.ts_ns[rows] / 1e9, bus)


def is_socketcan_capture(path: Path) -> bool:
    try:
        first = next(iter(read_capture(path, batch_size=16)), None)
    except SourceError:
        return False
    return first is not None and len(first) > 0 and bool(np.all(first.linktype == LINKTYPE_CAN_SOCKETCAN))


def sort_recordings(names: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(CAN recordings, IP captures), told apart by content."""
    can: list[Path] = []
    captures: list[Path] = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise SourceError(f"{path}: no such recording")
        if _is_capture(path):
            (can if is_socketcan_capture(path) else captures).append(path)
        else:
            can.append(path)
    return can, captures


def recording_sources(can: Iterable[Path], captures: Iterable[Path], slice_s: float, can_offset_s: float = 0.0) -> list[Source]:
    out: list[Source] = []
    for path in can:
        if _is_capture(path):
            out.append(SocketCanCaptureSource(path, slice_s, offset_s=can_offset_s))
        else:
            out.append(CanLogSource(path, slice_s, offset_s=can_offset_s))
    return out + [CaptureSource(path, slice_s) for path in captures]


def _is_capture(path: Path) -> bool:
    """pcap or pcapng, by the first four bytes."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    return magic in PCAP_MAGICS or magic == PCAPNG_MAGIC
