"""The timeline: recordings merge exactly by (time, CAN before IP, order) whatever the thread
timing; a live source's batches wait only the reorder window; a full lane holds a recording
back and makes a live source drop, counted; a source's fatal error reaches the pipeline thread."""

from __future__ import annotations

import time

import numpy as np
import pytest

from monitor.errors import ConfigError
from monitor.source import LiveSource, Source
from monitor.timeline import Timeline


class Batch:
    def __init__(self, label: str, t: float) -> None:
        self.label, self.timestamp = label, np.array([t])

    def __len__(self) -> int:
        return 1


class Recording(Source):
    def __init__(self, kind: str, times: list[float], delay: float = 0.0) -> None:
        super().__init__(f"{kind}-rec")
        self.kind, self.times, self.delay = kind, times, delay

    def batches(self, stop):
        for t in self.times:
            time.sleep(self.delay)  # a slow reader must not change the order
            yield Batch(self.kind, t)


def drain(timeline: Timeline) -> list[tuple[str, float]]:
    out = []
    while True:
        try:
            item = timeline.get(timeout=5)
        except EOFError:
            return out
        assert item is not None
        out.append((item[1].label, float(item[1].timestamp[0])))


def test_recordings_merge_exactly_by_time_and_can_first_on_ties():
    can = Recording("can", [0.0, 1.0, 2.0, 3.0], delay=0.02)
    ip = Recording("ip", [0.5, 1.0, 2.5])
    timeline = Timeline([ip, can], bound=2).start()
    assert drain(timeline) == [("can", 0.0), ("ip", 0.5), ("can", 1.0), ("ip", 1.0), ("can", 2.0), ("ip", 2.5), ("can", 3.0)]


class Live(LiveSource):
    kind = "ip"

    def __init__(self, times: list[float], fatal: bool = False) -> None:
        super().__init__("live", retry_min=0.001)
        self.times, self.fatal = list(times), fatal

    def open(self) -> None:
        if self.fatal:
            raise ConfigError("no such interface type")

    def read(self, timeout: float):
        if not self.times:
            time.sleep(0.01)
            return None
        return Batch("live", self.times.pop(0))


def test_a_full_live_lane_drops_and_counts_instead_of_blocking():
    source = Live([float(t) for t in range(50)])
    timeline = Timeline([source], bound=4, clock=lambda: 1e9).start()  # nothing taken for a while
    deadline = time.monotonic() + 60  # generous: the source thread may wait long for a core
    while source.stats.queue_drops < 46 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert source.stats.queue_drops == 46 and source.stats.queue_dropped_items == 46
    kept = [timeline.get(1)[1].timestamp[0] for _ in range(4)]
    assert kept == [0.0, 1.0, 2.0, 3.0]  # what it had room for is served, in order
    timeline.stop()


def test_live_batches_wait_only_the_reorder_window():
    now = [100.0]
    source = Live([99.95])
    timeline = Timeline([source, Recording("can", [])], reorder_s=0.2, clock=lambda: now[0]).start()
    assert timeline.get(timeout=30)[1].timestamp[0] == 99.95  # the recording ended; nothing else can precede
    later = Live([100.0])
    quiet = Live([])
    timeline = Timeline([later, quiet], reorder_s=0.2, clock=lambda: now[0]).start()
    # the quiet live lane could still bring something earlier; the injected clock stands still, so a
    # short wait is enough to see that nothing is served (waiting longer could not change it)
    assert timeline.get(timeout=0.3) is None
    now[0] = 100.25
    assert timeline.get(timeout=30)[1].timestamp[0] == 100.0
    timeline.stop()


def test_a_fatal_source_error_reaches_the_pipeline_thread():
    timeline = Timeline([Live([], fatal=True)]).start()
    with pytest.raises(ConfigError, match="no such interface type"):
        timeline.get(timeout=5)
