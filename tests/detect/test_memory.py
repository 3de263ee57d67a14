"""Bounded per-flow memory: the oldest flows go first, and how many went is reported."""

from __future__ import annotations

import numpy as np

from monitor.detect.behaviour import Behaviour
from monitor.detect.memory import FlowMemory, Repeats, forgotten
from monitor.net.view import NetView
from monitor.pipeline import load_config


def test_the_oldest_flows_are_forgotten_and_counted():
    memory: FlowMemory[int] = FlowMemory(limit=4)
    for flow_id in range(10):
        memory.remember(flow_id, flow_id)
    assert len(memory) <= 4 and max(memory) == 9 and memory.forgotten == 10 - len(memory)
    assert forgotten(a=memory, b=FlowMemory()) == {"a_flows_forgotten": memory.forgotten}


def test_a_detector_reports_what_its_memory_forgot():
    detector = Behaviour()
    detector.configure(load_config().thresholds)
    detector.flows.limit = 2
    n = 8
    view = NetView(data=np.zeros(64, np.uint8), ts=np.arange(n, dtype=float), slot=np.arange(n),
                   flow_id=np.arange(1, n + 1), outbound=np.ones(n, bool), inbound=np.zeros(n, bool),
                   udp=np.ones(n, bool), start=np.zeros(n, np.int64), length=np.full(n, 10),
                   describe_slot=lambda slot: ({}, []), seq=np.zeros(n, np.uint32))
    detector.on_net(view, None)
    assert detector.stats()["activity_flows_forgotten"] >= n - 2


def test_repeats_are_counted_under_their_label():
    repeats = Repeats(window_s=10)
    assert repeats.due("k", 0.0) == 0 and repeats.due("k", 1.0) is None and repeats.due("k", 2.0, "x") is None
    assert repeats.due("k", 11.0) == 2 and dict(repeats.suppressed) == {"suppressed_repeats": 1, "x": 1}
