"""Flows to destinations that are in no named destination set: the policy's "unknown" rules.

Each outbound flow is judged once, at its first packet with payload (by then a TLS or QUIC
flow has shown its server name, so a domain-named set can match), and only when some rule
acts on unknown destinations. A verdict other than allow becomes a finding of category
"unknown", so it reaches the alert log like any other.
"""

from __future__ import annotations

import numpy as np

from ..detect.finding import Finding
from ..detect.memory import FlowMemory
from ..detect.netview import NetView
from .decide import Decider, Destination


class UnknownDestinations:
    def __init__(self, decider: Decider) -> None:
        self.decider = decider
        self.judged: FlowMemory[bool] = FlowMemory()

    def observe(self, view: NetView) -> list[Finding]:
        if not self.decider.watches_unknown or not len(view):
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
        flow, names = view.flows.describe(int(view.slot[i]))
        destination = Destination(flow.get("resp_h"), flow.get("resp_p"), flow.get("proto"),
                                  tuple(n.lower() for n in names))
        verdict = self.decider.decide_unknown(destination)
        if verdict is None or verdict.action == "allow":
            return None
        return Finding(ts=float(view.ts[i]), detector="policy", category="unknown",
                       seen="destination in no named set", confidence=1.0, flow=flow, names=names,
                       verdict=verdict.as_dict())
