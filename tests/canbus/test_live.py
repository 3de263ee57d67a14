"""Live CAN through python-can: the virtual bus end to end, and configuration errors."""

from __future__ import annotations

import threading

import can
import pytest

from monitor.canbus.buses import open_bus
from monitor.canbus.frames import FrameBatch
from monitor.errors import ConfigError

from ..builders import send_and_collect


def test_frames_sent_on_a_virtual_bus_arrive_in_batches_labelled_with_the_bus_name():
    channel = "gw-live-test"
    source = open_bus("chassis", {"interface": "virtual", "channel": channel}, batch_size=64, max_latency=0.05)
    source.open()
    sent = [
        can.Message(arbitration_id=i, is_extended_id=i % 3 == 0, data=bytes([i % 256] * (i % 9)))
        for i in range(200)
    ] + [can.Message(arbitration_id=0x7FF, is_fd=True, data=bytes(range(64)))]
    batches = send_and_collect(source, channel, sent)
    source.close()
    batch = FrameBatch.concat(batches)
    assert len(batch) == len(sent)
    assert max(len(b) for b in batches) <= 64 and len(batches) >= 4
    assert batch.arbitration_id.tolist() == [m.arbitration_id for m in sent]
    assert batch.is_extended.tolist() == [m.is_extended_id for m in sent]
    assert [batch.payload(i) for i in range(len(batch))] == [bytes(m.data) for m in sent]
    assert batch.is_fd[-1] and batch.dlc[-1] == 64
    assert set(batch.channel_names) == {"chassis"}


def test_unknown_interface_is_a_config_error_that_ends_the_source():
    source = open_bus("x", {"interface": "no-such-interface", "channel": "x"})
    with pytest.raises(ConfigError, match="no-such-interface"):
        next(source.batches(threading.Event()))
    assert source.tried_open.is_set()
