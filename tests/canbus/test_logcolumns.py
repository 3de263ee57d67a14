"""LogColumns: the compiled log readers' batch columns behave as BatchBuilder's."""

from __future__ import annotations

import can
import numpy as np
import pytest

from monitor.canbus.frames import BatchBuilder
from monitor.canbus.logcolumns import LogColumns

from ..native.core import required_core


def messages():
    return [can.Message(timestamp=1.5, arbitration_id=0x123, data=b"\1\2", channel=1, is_extended_id=False),
            can.Message(timestamp=2.5, arbitration_id=0x1FFFFFFF, is_remote_frame=True, dlc=70, channel=0),
            can.Message(timestamp=3.5, arbitration_id=7, is_fd=True, data=bytes(range(64)), channel=1,
                        bitrate_switch=True, is_rx=False)]


def test_python_can_messages_land_as_batchbuilder_puts_them():
    columns, builder = LogColumns(2, required_core()), BatchBuilder(2)
    got, want = [], []
    for message in messages():
        columns.add_message(message)
        builder.add_message(message)
        if builder.full:
            assert columns.full
            got.append(columns.finish())
            want.append(builder.finish())
    got.append(columns.finish())
    want.append(builder.finish())
    for mine, reference in zip(got, want):
        assert mine.channel_names == reference.channel_names
        for name in ("timestamp", "channel", "arbitration_id", "is_remote", "is_fd", "bitrate_switch", "is_rx", "dlc",
                     "data"):
            assert np.array_equal(getattr(mine, name), getattr(reference, name)), name
    assert got[-1].channel_names == ("1", "0")  # names kept across batches, in order of appearance


def test_a_channel_code_past_16_bits_fails_as_batchbuilders_does():
    columns = LogColumns(4, required_core())
    columns.names = [str(n) for n in range(1 << 16)]
    with pytest.raises(OverflowError):
        columns.add_message(can.Message(channel=-5))
    assert len(columns) == 0


def test_a_frame_batchbuilder_refuses_still_names_its_channel_as_there():
    columns, builder = LogColumns(4, required_core()), BatchBuilder(4)
    bad = can.Message(channel=3, is_remote_frame=True, dlc=-1)
    for target in (columns, builder):
        with pytest.raises(OverflowError):
            target.add_message(bad)
    assert columns.finish().channel_names == builder.finish().channel_names == ("3",)
