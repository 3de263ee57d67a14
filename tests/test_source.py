"""The one live-source base, tested once with an in-memory source: batches, a failure that is
counted, reported once per streak and retried with back-off, a fatal configuration error,
and the stop event."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from monitor.errors import ConfigError
from monitor.source import LiveSource, time_slices


class Batch:
    def __init__(self, times) -> None:
        self.timestamp = np.asarray(times, float)

    def __len__(self) -> int:
        return len(self.timestamp)

    def take(self, rows) -> Batch:
        return Batch(self.timestamp[rows])


class Scripted(LiveSource):
    """Each read takes the next step: a list of times (a batch), "fail", "idle" or "fatal"."""

    def __init__(self, script, fail_opens: int = 0) -> None:
        super().__init__("scripted", retry_min=0.001, retry_max=0.004)
        self.script, self.fail_opens = list(script), fail_opens
        self.opens = self.closes = 0

    def open(self) -> None:
        self.opens += 1
        if self.fail_opens:
            self.fail_opens -= 1
            raise OSError("interface not there yet")

    def read(self, timeout: float):
        step = self.script.pop(0) if self.script else "idle"
        if step == "fail":
            raise OSError("bus-off")
        if step == "fatal":
            raise ConfigError("bad bitrate")
        return None if step == "idle" else Batch(step)

    def close(self) -> None:
        self.closes += 1


def take(source: Scripted, n: int) -> list:
    stop = threading.Event()
    out = []
    for batch in source.batches(stop):
        out.append(batch.timestamp.tolist())
        if len(out) == n:
            stop.set()
    return out


def test_batches_flow_and_a_failure_is_counted_reopened_and_logged_once(caplog):
    source = Scripted([[1, 2], "fail", "idle", [3], "fail", [4]], fail_opens=2)
    with caplog.at_level(logging.WARNING, logger="monitor.source"):
        assert take(source, 3) == [[1, 2], [3], [4]]
    # two failed opens at start, then two bus failures: every one counted
    assert source.stats.failures == 4 and source.stats.batches == 3 and source.stats.items == 4
    assert source.opens == 5 and source.stats.reopens == 3
    assert source.stats.last_error == "OSError: bus-off"
    downs = [r for r in caplog.records if "down" in r.getMessage()]
    assert len(downs) == 3  # once per streak: the start-up streak, then each bus-off
    assert source.tried_open.is_set()


def test_a_configuration_error_ends_the_source():
    source = Scripted([[1], "fatal", [2]])
    with pytest.raises(ConfigError, match="bad bitrate"):
        take(source, 5)


def test_the_stop_event_ends_the_loop_between_reads():
    stop = threading.Event()
    stop.set()
    assert list(Scripted([[1]]).batches(stop)) == []


def test_time_slices_cut_at_whole_slices():
    pieces = list(time_slices([Batch([0.1, 0.5, 1.2, 1.9, 3.0])], 1.0))
    assert [p.timestamp.tolist() for p in pieces] == [[0.1, 0.5], [1.2, 1.9], [3.0]]
    assert [p.timestamp.tolist() for p in time_slices([Batch([0.1, 5.0])], float("inf"))] == [[0.1, 5.0]]
