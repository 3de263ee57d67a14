"""Who reaches into the vehicle (category "remote"): connections opened from outside the
vehicle networks to a remote-access service on the vehicle side (SSH 22, Telnet 23, ADB 5555,
DoIP 13400, and any port the configuration adds), and DoIP (ISO 13400-2) routing activation
and diagnostic messages arriving from outside, with the UDS service they carry. Each flow is
judged once, at its first packet; DoIP messages per flow at most once per payload type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..net.view import NetView
from .base import Detector
from .finding import Finding
from .memory import FlowMemory, forgotten
from .uds import UDS_NAMES

SERVICES = {22: "SSH", 23: "Telnet", 5555: "ADB (Android Debug Bridge)", 13400: "DoIP (ISO 13400)", 2323: "Telnet"}
DOIP_TYPES = {0x0005: "routing activation request", 0x8001: "diagnostic message", 0x0001: "vehicle identification request"}


@dataclass(frozen=True)
class RemoteThresholds:
    extra_ports: tuple = ()  # more vehicle-side ports a connection from outside to is remote access


class RemoteAccess(Detector):
    name = "remote"
    sections: ClassVar[dict[str, type]] = {"remote": RemoteThresholds}

    def configure(self, thresholds) -> None:
        self.ports = {**SERVICES, **{int(p): f"port {int(p)}" for p in thresholds.remote.extra_ports}}
        self.judged: FlowMemory[set] = FlowMemory()

    def on_net(self, view: NetView, state) -> list[Finding]:
        rows = np.flatnonzero(view.inbound)
        found: list[Finding] = []
        for i in rows.tolist():
            fid = int(view.flow_id[i])
            seen = self.judged.get(fid)
            if seen is None:
                seen = self.judged.remember(fid, set())
                found += self._inbound(view, i, seen)
            if "doip" in seen and view.length[i] >= 8:
                found += self._doip(view, i, seen)
        return found

    def _inbound(self, view: NetView, i: int, seen: set) -> list[Finding]:
        flow, names = view.describe(i)
        if flow.get("direction") != "inbound":
            return []  # a reply on a vehicle-started flow
        service = self.ports.get(int(flow.get("resp_p") or 0))
        if service is None:
            return []
        if flow.get("resp_p") == 13400:
            seen.add("doip")
        return [Finding(float(view.ts[i]), "remote.inbound", "remote", f"connection from outside to {service} on the vehicle",
                        0.85, flow=flow, names=names, evidence={"service": service, "from": flow.get("orig_h")})]

    def _doip(self, view: NetView, i: int, seen: set) -> list[Finding]:
        p = view.payload(i)
        if p[1] != (p[0] ^ 0xFF):  # protocol version and its inverse
            return []
        kind = int.from_bytes(p[2:4], "big")
        if kind not in DOIP_TYPES or kind in seen:
            return []
        seen.add(kind)
        evidence = {"doip_payload_type": f"0x{kind:04x}"}
        what = f"DoIP {DOIP_TYPES[kind]} from outside"
        if kind == 0x8001 and len(p) >= 13:
            sid = p[12]
            evidence.update(source_address=f"0x{int.from_bytes(p[8:10], 'big'):04x}",
                            target_address=f"0x{int.from_bytes(p[10:12], 'big'):04x}", uds_service=f"0x{sid:02x}")
            what += f": UDS {UDS_NAMES.get(sid, 'service')} 0x{sid:02x}"
        flow, names = view.describe(i)
        return [Finding(float(view.ts[i]), "remote.doip", "remote", what, 0.9, flow=flow, names=names, evidence=evidence)]

    def stats(self) -> dict:
        return forgotten(judged=self.judged)
