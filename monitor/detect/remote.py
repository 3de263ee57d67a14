"""Who reaches into the vehicle (category "remote"): connections opened from outside the
vehicle networks to a remote-access service on the vehicle side (SSH 22, Telnet 23, ADB 5555,
DoIP 13400, DoIP over TLS 3496, and any port the configuration adds), and every DoIP
(ISO 13400-2) request that arrives from outside on such a connection: vehicle identification
(UDP or TCP), routing activation, entity status, power mode, and each diagnostic message with
the UDS request it carries, named with its service, sub-function and identifiers
(udsrequest.py).

DoIP over TCP is read from the reassembled stream (a message split across segments, several
in one segment), UDP datagram by datagram (doip.py).

Bounded, and nothing lost: the first of each distinct request on a connection is a finding
(its own alert episode: the alert log keys remote episodes by what was seen); the identical
requests after it (same payload type, addresses, service, sub-function and identifiers; a
TransferData's blocks or a memory dump's reads are one request) are summed per batch into one
more finding whose ``repeats_since_last`` adds them to that episode's count. A connection has
at most ``MAX_DISTINCT`` distinct requests; past that they are counted under one finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..net.view import NetView
from . import doip
from .base import Detector
from .finding import Finding
from .memory import FlowMemory, forgotten
from .udsrequest import read_request

SERVICES = {22: "SSH", 23: "Telnet", 5555: "ADB (Android Debug Bridge)", 13400: "DoIP (ISO 13400)", 2323: "Telnet",
            3496: "DoIP over TLS (ISO 13400-2:2019)"}
DOIP_PORT = 13400
MAX_DISTINCT = 64  # distinct requests per connection reported on their own
CONFIDENCE = {"control": 0.95, "read": 0.9, "keep-alive": 0.8, "doip": 0.9}


@dataclass(frozen=True)
class RemoteThresholds:
    extra_ports: tuple = ()  # more vehicle-side ports a connection from outside to is remote access


@dataclass
class DoipFlow:
    """One connection from outside to DoIP on the vehicle: its stream and the requests seen."""

    stream: doip.DoipStream = field(default_factory=doip.DoipStream)
    requests: dict[tuple, int] = field(default_factory=dict)  # key -> requests so far


@dataclass
class Request:
    """A DoIP request read from one packet, before it becomes a finding."""

    row: int
    key: tuple
    seen: str
    confidence: float
    evidence: dict


class RemoteAccess(Detector):
    name = "remote"
    sections: ClassVar[dict[str, type]] = {"remote": RemoteThresholds}

    def configure(self, thresholds) -> None:
        self.ports = {**SERVICES, **{int(p): f"port {int(p)}" for p in thresholds.remote.extra_ports}}
        self.judged: FlowMemory[DoipFlow | None] = FlowMemory()
        self.counts: Counter = Counter()

    def on_net(self, view: NetView, state) -> list[Finding]:
        found: list[Finding] = []
        batch: dict[tuple, list[Request]] = {}  # (flow id, key) -> this batch's identical requests
        for i in np.flatnonzero(view.inbound).tolist():
            fid = int(view.flow_id[i])
            if fid not in self.judged:
                opened, doip_flow = self._inbound(view, i)
                found += opened
                self.judged.remember(fid, doip_flow)
            doip_flow = self.judged.get(fid)
            if doip_flow is not None:
                for request in self._doip(view, i, bool(view.udp[i]), doip_flow):
                    batch.setdefault((fid, request.key), []).append(request)
        return found + [f for (fid, key), same in batch.items() for f in self._findings(view, fid, key, same)]

    def _inbound(self, view: NetView, i: int) -> tuple[list[Finding], DoipFlow | None]:
        flow, names = view.describe(i)
        if flow.get("direction") != "inbound":
            return [], None  # a reply on a vehicle-started flow
        port = int(flow.get("resp_p") or 0)
        service = self.ports.get(port)
        if service is None:
            return [], None
        finding = Finding(float(view.ts[i]), "remote.inbound", "remote", f"connection from outside to {service} on the vehicle",
                          0.85, flow=flow, names=names, evidence={"service": service, "from": flow.get("orig_h")})
        return [finding], DoipFlow() if port == DOIP_PORT else None

    def _doip(self, view: NetView, i: int, datagram: bool, flow: DoipFlow) -> list[Request]:
        if datagram:
            messages = doip.datagram(view.payload(i), self.counts)
        else:
            messages = flow.stream.feed(view.stream(i))
            self.counts.update(flow.stream.counts)
            flow.stream.counts.clear()
        out = []
        for message in messages:
            self.counts[f"doip {message.name}"] += 1
            if message.payload_type in doip.REQUESTS:
                out.append(_request(i, message))
        return out

    def _findings(self, view: NetView, fid: int, key: tuple, same: list[Request]) -> list[Finding]:
        """The first of a request on its connection, then one finding for its repeats in this batch."""
        flow = self.judged.get(fid)
        assert flow is not None
        if key not in flow.requests and len(flow.requests) >= MAX_DISTINCT:
            self.counts["requests past the distinct bound"] += len(same)
            key = ("more",)
            same = [Request(r.row, key, f"DoIP: more than {MAX_DISTINCT} distinct requests from outside on one connection",
                            0.9, {"distinct_bound": MAX_DISTINCT}) for r in same]
        before = flow.requests.get(key, 0)
        flow.requests[key] = before + len(same)
        out = []
        if not before:
            out.append(self._finding(view, same[0], 0))
            same = same[1:]
        if same:
            out.append(self._finding(view, same[-1], len(same) - 1))
        return out

    def _finding(self, view: NetView, request: Request, repeats: int) -> Finding:
        flow, names = view.describe(request.row)
        evidence = {**request.evidence, "repeats_since_last": repeats}
        return Finding(float(view.ts[request.row]), "remote.doip", "remote", request.seen, request.confidence,
                       flow=flow, names=names, evidence=evidence)

    def stats(self) -> dict:
        return {**self.counts, **forgotten(judged=self.judged)}


def _request(row: int, message: doip.DoipMessage) -> Request:
    """What a DoIP request asks for, and what makes two of them the same request."""
    head, kind = message.head, message.payload_type
    evidence: dict = {"doip_payload_type": f"0x{kind:04x}", "doip_payload_bytes": message.length}
    seen = f"DoIP {message.name} from outside"
    if kind == 0x0005 and len(head) >= 3:
        evidence.update(source_address=f"0x{int.from_bytes(head[:2], 'big'):04x}", activation_type=f"0x{head[2]:02x}")
        return Request(row, (kind, head[:3]), seen, CONFIDENCE["doip"], evidence)
    if kind != 0x8001 or len(head) < 5:
        return Request(row, (kind,), seen, CONFIDENCE["doip"], evidence)
    source, target = int.from_bytes(head[:2], "big"), int.from_bytes(head[2:4], "big")
    evidence.update(source_address=f"0x{source:04x}", target_address=f"0x{target:04x}", uds_bytes=message.length - 4)
    uds = read_request(head[4:])
    if uds is None:  # a response byte from outside: not a request, but said
        evidence["uds_first_byte"] = f"0x{head[4]:02x}"
        return Request(row, (kind, source, target, "response", head[4]), f"{seen}: UDS response 0x{head[4]:02X} to ECU 0x{target:04X}",
                       CONFIDENCE["doip"], evidence)
    evidence.update(uds.evidence())
    seen = f"{seen}: UDS {uds.text} to ECU 0x{target:04X}"
    return Request(row, (kind, source, target, *uds.key), seen, CONFIDENCE[uds.kind], evidence)
