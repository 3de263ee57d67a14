"""The columns the compiled CAN log readers (ascfile, blffile) fill in place: BatchBuilder's
contract (``len``, ``full``, ``add_message``, ``finish``) over one preallocated FrameBatch
handed to the C as a whole, so batches, channel codes and channel names come out exactly as
``read_with_python_can``'s BatchBuilder makes them."""

from __future__ import annotations

import dataclasses

import numpy as np

from .frames import BatchBuilder, FrameBatch

#: Channel codes are 16 bits: the C's channel table holds this many channel numbers.
CHANNEL_CODES = 1 << 16

_BOOLS = ("is_extended", "is_remote", "is_error", "is_fd", "bitrate_switch", "error_state_indicator", "is_rx")
_ROW = ("timestamp", "arbitration_id", *_BOOLS, "dlc", "data")


class LogColumns:
    """Frames of one log, a batch at a time. Channel names are the log's channel numbers as
    text (python-can's ``str(message.channel)``), kept in order of appearance across batches."""

    def __init__(self, capacity: int, core) -> None:
        self.capacity = max(1, capacity)
        self.core = core
        self.names: list[str] = []
        self.channels = np.zeros(CHANNEL_CODES, np.int64)  # code -> channel number, shared with the C
        self._start(0)

    def _start(self, known_channels: int) -> None:
        b = self.batch = FrameBatch.empty(self.capacity)
        bools = [getattr(b, name).view(np.uint8) for name in _BOOLS]
        self.frames = self.core.CanlogsFrames(b.timestamp, b.channel, b.arbitration_id, *bools, b.dlc, b.data,
                                              self.channels)
        self.frames.chan_n = known_channels

    def __len__(self) -> int:
        return self.frames.n

    @property
    def full(self) -> bool:
        return self.frames.n >= self.capacity

    def _name_new_channels(self) -> None:
        for code in range(len(self.names), self.frames.chan_n):
            self.names.append(str(int(self.channels[code])))

    def add_message(self, message) -> None:
        """One python-can Message (a line or object the C left to python-can), converted by
        BatchBuilder itself so it lands exactly as the reference puts it."""
        self._name_new_channels()
        # the channel first, as BatchBuilder takes it: a frame it then refuses (a negative DLC)
        # has still named its channel
        name = "" if message.channel is None else str(message.channel)
        if name not in self.names:
            self.names.append(name)
            if self.frames.chan_n < CHANNEL_CODES and len(self.names) == self.frames.chan_n + 1:
                self.channels[self.frames.chan_n] = int(message.channel)
                self.frames.chan_n += 1
        i = self.frames.n
        self.batch.channel[i] = self.names.index(name)  # past 65535: numpy's OverflowError, as BatchBuilder's
        single = BatchBuilder(1)
        single.add_message(message)
        row = single.finish()
        for column in _ROW:
            getattr(self.batch, column)[i] = getattr(row, column)[0]
        self.frames.n += 1

    def finish(self) -> FrameBatch:
        """The frames added so far as a batch; the next batch starts empty."""
        self._name_new_channels()
        n, full = self.frames.n, self.batch
        batch = full if n == self.capacity else full.take(np.arange(n))
        batch = dataclasses.replace(batch, channel_names=tuple(self.names))
        self._start(self.frames.chan_n)
        return batch
