"""Identical events on both sides of the gateway, the clock estimator's second witness: a UDS
request a remote tester sends over DoIP (ISO 13400 diagnostic message, payload type 0x8001)
that the gateway puts on the CAN bus as it is, an ISO-TP single frame with the same bytes a
few milliseconds later. Where a drive has no positions in its payloads (or the vehicle stood
still), such pairs still say how far apart the clocks are.

Only requests (a UDS request service id) of two to seven bytes count, the ones a single frame
carries whole; a request repeated so often that it pairs with more than MAX_PAIRS CAN frames
(TesterPresent every two seconds) is left out rather than voting for every repetition.
"""

from __future__ import annotations

import numpy as np

from ..canbus.frames import FrameBatch

REQUESTS = np.zeros(256, bool)
REQUESTS[[0x10, 0x11, 0x14, 0x19, 0x22, 0x23, 0x27, 0x28, 0x2E, 0x2F, 0x31, 0x34, 0x35, 0x36, 0x37, 0x3D, 0x85]] = True
DOIP_DIAGNOSTIC = b"\x80\x01"
MAX_EVENTS = 4096  # kept per side
MAX_PAIRS = 8  # CAN frames one request may pair with before it is too common to say anything


def can_requests(batch: FrameBatch) -> list[tuple[float, bytes]]:
    """UDS requests carried whole in ISO-TP single frames: (time, request bytes)."""
    if not len(batch):
        return []
    first = batch.data[:, 0].astype(np.int64)
    length = first & 0x0F
    rows = np.flatnonzero((first >> 4 == 0) & (length >= 2) & (length <= 7) & (batch.dlc >= length + 1)
                          & REQUESTS[batch.data[:, 1]])
    return [(float(batch.timestamp[r]), batch.data[r, 1 : 1 + int(length[r])].tobytes()) for r in rows.tolist()]


def doip_request(payload: bytes) -> bytes | None:
    """The UDS request of a DoIP diagnostic message at the start of a payload, or None."""
    if len(payload) < 14 or payload[:2] != b"\x02\xfd" or payload[2:4] != DOIP_DIAGNOSTIC:
        return None
    uds = payload[12 : 8 + int.from_bytes(payload[4:8], "big")]
    return uds if 2 <= len(uds) <= 7 and REQUESTS[uds[0]] else None


def event_votes(can: list[tuple[float, bytes]], ip: list[tuple[float, bytes]],
                max_offset_s: float) -> list[tuple[float, int]]:
    """(IP time - CAN time, the IP event's index) for each pair with the same bytes within
    ``max_offset_s``."""
    by_bytes: dict[bytes, list[float]] = {}
    for t, uds in can:
        by_bytes.setdefault(uds, []).append(t)
    out = []
    for k, (t, uds) in enumerate(ip):
        times = np.asarray(by_bytes.get(uds, ()))
        near = times[np.abs(times - t) <= max_offset_s]
        if 0 < len(near) <= MAX_PAIRS:
            out += [(t - float(c), k) for c in near]
    return out
