"""UDS data transfers over ISO-TP: what a diagnostic session pulls out of the ECUs.

Frames on diagnostic ids (0x7DF, 0x7E0-0x7EF, 29-bit 0x18DA/0x18DB, plus the policy's
``uds_ids``) are reassembled (canbus/isotp.py) and the services that move data or unlock an
ECU become findings: RequestUpload 0x35, TransferData 0x36, ReadMemoryByAddress 0x23,
ReadDataByIdentifier 0x22 of the VIN (0xF190), SecurityAccess 0x27, OBD-II mode 09 VIN.
Repeats of a service on one id are counted, with the bytes moved, and reported again after
``repeat_s``. Keys an ECU refuses (negative response to 0x27: invalidKey, exceededNumberOf-
Attempts, requiredTimeDelayNotExpired) are counted per ECU; ``uds_invalid_keys`` of them within
``repeat_s`` is a SecurityAccess brute force.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..canbus.isotp import Message, Reassembler
from .base import Detector
from .canview import CanView, can_ref
from .finding import Destination, Finding
from .memory import Repeats
from .udsrequest import UDS_NAMES, read_request

#: the services that move data out of an ECU or unlock it, and OBD-II mode 09
SERVICES = {**{sid: UDS_NAMES[sid] for sid in (0x35, 0x36, 0x23, 0x22, 0x27)}, 0x09: "OBD-II request vehicle information"}
CONFIDENCE = {0x35: 0.9, 0x36: 0.8, 0x23: 0.85, 0x22: 0.8, 0x27: 0.7, 0x09: 0.7}
VIN_DID = 0xF190
REFUSED_KEY = frozenset({0x35, 0x36, 0x37})  # invalidKey, exceededNumberOfAttempts, requiredTimeDelayNotExpired


class UdsTransfers(Detector):
    name = "uds"

    def configure(self, thresholds) -> None:
        self.extra = np.array(sorted(int(i) for i in thresholds.can.uds_ids), np.int64)
        self.repeats = Repeats(thresholds.wire.repeat_s)  # per (bus, id, service, response)
        self.isotp = Reassembler()
        self.totals: Counter = Counter()  # (bus, id, service) -> bytes since last finding
        self.counts: Counter = Counter()
        self.invalid_keys_needed = thresholds.can.uds_invalid_keys
        self.remote_join_s = thresholds.can.remote_join_s
        self.refused: dict[tuple, list[float]] = {}  # (bus, ECU id) -> times of refused keys

    def on_can(self, view: CanView, state) -> list[Finding]:
        batch = view.batch
        ids = batch.arbitration_id.astype(np.int64)
        standard = ~batch.is_extended & ((ids == 0x7DF) | ((ids >= 0x7E0) & (ids <= 0x7EF)))
        extended = batch.is_extended & (((ids >> 16) == 0x18DA) | ((ids >> 16) == 0x18DB))
        rows = np.flatnonzero((standard | extended | np.isin(ids, self.extra)) & batch.is_data)
        found = []
        for i in rows.tolist():
            message = self.isotp.add(batch.channel_of(i), int(ids[i]), float(batch.timestamp[i]), batch.payload(i))
            if message is not None:
                self.counts["isotp_messages"] += 1
                finding = self._service(message)
                if finding:
                    found.append(self._joined(finding, state))
        return found

    def _service(self, m: Message) -> Finding | None:
        if m.data[:2] == b"\x7f\x27" and len(m.data) >= 3 and m.data[2] in REFUSED_KEY:
            return self._refused_key(m)
        sid = m.data[0]
        request = sid if sid in SERVICES else sid - 0x40 if sid - 0x40 in SERVICES else None
        if request is None:
            return None
        response = request != sid
        if request == 0x22 and m.data[1:3] != VIN_DID.to_bytes(2, "big"):
            return None
        if request == 0x09 and m.data[1:2] != b"\x02":
            return None
        key = (m.bus, m.arbitration_id, request, response)
        self.totals[key] += len(m.data)
        self.counts[f"{SERVICES[request]}{' response' if response else ''}"] += 1
        repeats = self.repeats.due(key, m.first_ts)
        if repeats is None:
            return None
        what = f"UDS {SERVICES[request]} 0x{request:02X} {'response' if response else 'request'}"
        evidence = {"service": f"0x{request:02X}", "bytes": len(m.data), "bytes_since_last_finding": self.totals.pop(key),
                    "isotp_frames": m.frames, "head_hex": m.data[:16].hex(), "repeats_since_last": repeats}
        described = None if response else read_request(m.data)
        if described is not None:  # the sub-function and identifiers, as the DoIP detector names them
            evidence.update(described.details, request=described.text)
        if request in (0x22, 0x09) and response:
            text = m.data[3:].lstrip(b"\x00\x01")
            if len(text) >= 17:
                evidence["vin"] = text[-17:].decode("ascii", "replace")
        category_confidence = CONFIDENCE[request] + (0.05 if response else 0.0)
        return Finding(m.first_ts, "can.uds", "can", what, category_confidence,
                       can=can_ref(m.bus, [m.arbitration_id], m.frames, m.first_ts, m.last_ts), evidence=evidence)

    def _refused_key(self, m: Message) -> Finding | None:
        self.counts["SecurityAccess keys refused"] += 1
        times = [t for t in self.refused.get((m.bus, m.arbitration_id), []) if m.first_ts - t < self.repeats.window_s]
        times.append(m.first_ts)
        self.refused[(m.bus, m.arbitration_id)] = times
        if len(times) < self.invalid_keys_needed:
            return None
        repeats = self.repeats.due((m.bus, m.arbitration_id, "brute force"), m.first_ts)
        if repeats is None:
            return None
        return Finding(m.first_ts, "can.uds", "can", "UDS SecurityAccess brute force (keys refused)", 0.9,
                       can=can_ref(m.bus, [m.arbitration_id], m.frames, times[0], m.last_ts),
                       evidence={"service": "0x27", "keys_refused": len(times), "within_s": round(m.first_ts - times[0], 3),
                                 "negative_response": f"0x{m.data[2]:02X}", "repeats_since_last": repeats})

    def _joined(self, finding: Finding, state) -> Finding:
        """Name the control from outside (a DoIP request, a telematics downlink) that came
        shortly before this diagnostic traffic: on a gateway the two are one event."""
        command = state.remote_before(finding.ts, self.remote_join_s)
        if command is None:
            return finding
        self.counts["after_remote_command"] += 1
        outside = Destination.of(command)
        finding.evidence["after_remote_command"] = {"detector": command.detector, "seen": command.seen,
                                                    "after_s": round(finding.ts - command.ts, 3),
                                                    "from": outside.address if outside else None}
        finding.confidence = min(1.0, finding.confidence + 0.05)
        return finding

    def stats(self) -> dict:
        return {**self.counts, **self.repeats.suppressed, **{f"isotp_{k}": v for k, v in self.isotp.counts.items()}}
