"""Live CAN: python-can's virtual bus end to end, and the base loop's contract."""

from __future__ import annotations

import threading

import can
import pytest

from monitor.canbus.frames import BatchBuilder, FrameBatch
from monitor.canbus.live import BusConfig, CanSource, PythonCanSource, open_source
from monitor.errors import ConfigError


def test_frames_sent_on_a_virtual_bus_arrive_in_batches():
    channel = "gw-live-test"
    source = PythonCanSource(BusConfig("virtual", channel), batch_size=64, max_latency=0.05)
    sent = [
        can.Message(arbitration_id=i, is_extended_id=i % 3 == 0, data=bytes([i % 256] * (i % 9)))
        for i in range(200)
    ] + [can.Message(arbitration_id=0x7FF, is_fd=True, data=bytes(range(64)))]
    with can.Bus(interface="virtual", channel=channel) as sender:
        def send() -> None:
            for msg in sent:
                sender.send(msg)

        thread = threading.Thread(target=send)
        thread.start()
        batches = list(source.batches(max_frames=len(sent), idle_timeout=2.0))
        thread.join()
    source.close()
    batch = FrameBatch.concat(batches)
    assert len(batch) == len(sent)
    assert max(len(b) for b in batches) <= 64 and len(batches) >= 4
    assert batch.arbitration_id.tolist() == [m.arbitration_id for m in sent]
    assert batch.is_extended.tolist() == [m.is_extended_id for m in sent]
    assert [batch.payload(i) for i in range(len(batch))] == [bytes(m.data) for m in sent]
    assert batch.is_fd[-1] and batch.dlc[-1] == 64
    assert source.stats.frames == len(sent) and source.stats.batches == len(batches)


def test_unknown_interface_is_a_config_error():
    with pytest.raises(ConfigError, match="no-such-interface"):
        open_source(BusConfig("no-such-interface", "x"))


class ScriptedSource(CanSource):
    """An in-memory source: each _fill call takes the next step of a script."""

    def __init__(self, script: list, **kwargs) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.reopened = 0
        self.now = 0.0

    def _fill(self, builder: BatchBuilder, timeout: float) -> None:
        step = self.script.pop(0) if self.script else "idle"
        if step == "fail":
            raise OSError("bus went down")
        if step == "idle":
            self.now += timeout  # nothing arrived for the whole timeout
            return
        taken, rest = step[: builder.room], step[builder.room :]
        if rest:  # the contract: never past a full builder; the rest arrives next time
            self.script.insert(0, rest)
        for frame_id in taken:
            builder.add_message(can.Message(arbitration_id=frame_id, timestamp=self.now))

    def _reopen(self) -> None:
        self.reopened += 1


def test_base_loop_batches_counts_and_survives_a_bus_error():
    source = ScriptedSource([[1, 2, 3], "fail", [4, 5], "idle", [6]], batch_size=4, max_latency=1.0,
                            retry_after=0.0)
    source.clock = lambda: source.now
    batches = list(source.batches(idle_timeout=3.0))
    assert [b.arbitration_id.tolist() for b in batches] == [[1, 2, 3, 4], [5], [6]]
    assert source.stats.bus_errors == 1 and source.reopened == 1 and source.stats.reopens == 1
    assert source.stats.frames == 6


def test_stop_event_ends_the_loop():
    stop = threading.Event()
    source = ScriptedSource([[1]] * 1000, batch_size=2, max_latency=1.0)
    source.clock = lambda: source.now
    seen = 0
    for batch in source.batches(stop=stop):
        seen += len(batch)
        if seen >= 10:
            stop.set()
    assert seen == 10
