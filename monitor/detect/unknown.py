"""Flows to destinations that are in no named destination set: the policy's "unknown" rules.

Each outbound flow is judged once, at its first packet with payload (by then a TLS or QUIC
flow has shown its server name, so a domain-named set can match). The judge is the policy's
(``Decider.decide_unknown``), handed in by the pipeline: this detector knows no policy. A
verdict other than allow becomes a finding of category "unknown", so it reaches the alert log
like any other. It runs through the DetectorRunner, isolated like every detector.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..net.view import NetView
from .base import Detector
from .finding import Destination, Finding, Verdict
from .memory import FlowMemory, forgotten

#: destination -> the policy's verdict, or None when it is in a set
Judge = Callable[[Destination], Verdict | None]


class UnknownDestinations(Detector):
    name = "policy"

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self.judged: FlowMemory[bool] = FlowMemory()

    def on_net(self, view: NetView, state) -> list[Finding]:
        if not len(view):
            return []
        candidates = np.flatnonzero(view.outbound & ((view.length > 0) | view.udp))
        findings = []
        for i in candidates[np.unique(view.flow_id[candidates], return_index=True)[1]]:
            flow_id = int(view.flow_id[i])
            if flow_id in self.judged:
                continue
            self.judged.remember(flow_id, True)
            finding = self._judge(view, int(i))
            if finding is not None:
                findings.append(finding)
        return findings

    def _judge(self, view: NetView, i: int) -> Finding | None:
        flow, names = view.describe(i)
        verdict = self.judge(Destination.of_flow(flow, names))
        if verdict is None or verdict.action == "allow":
            return None
        matched = verdict.matched_set
        seen = f"flow to a destination in set {matched}" if matched else "destination in no named set"
        return Finding(ts=float(view.ts[i]), detector=self.name, category="unknown", seen=seen, confidence=1.0,
                       flow=flow, names=names, verdict=verdict)

    def stats(self) -> dict:
        return forgotten(judged=self.judged)
