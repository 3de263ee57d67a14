"""positionscan reads the second top byte in slices of GATE_SLICE offsets (the replay's peak
RSS): sliced finely or not at all, the positions found are the same, on zero-padded buffers
with positions of every encoding, random bytes and the hostile all-top-byte buffers."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.detect import positionscan
from monitor.detect.positionscan import positions

from .test_positionscan import ENCODED, MUNICH

PIECES = st.one_of(
    st.builds(lambda n: bytes(n), st.integers(0, 300)),  # zero padding: the common top byte
    st.binary(min_size=0, max_size=64),
    st.builds(lambda k, lat, lon: list(ENCODED.values())[k](lat, lon), st.integers(0, len(ENCODED) - 1),
              st.floats(48.1, 48.2), st.floats(11.5, 11.6)),
    st.builds(lambda b, n: bytes([b]) * n, st.sampled_from([0x00, 0x02, 0x40, 0x41, 0xFF]), st.integers(1, 200)),
)


def _scan(buf: bytes, starts: np.ndarray, slice_offsets: int, monkeypatch) -> list:
    monkeypatch.setattr(positionscan, "GATE_SLICE", slice_offsets)
    return positions(buf, starts, MUNICH)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # each call sets it
@given(st.lists(st.lists(PIECES, max_size=6), min_size=1, max_size=6))
def test_sliced_gate_finds_what_one_pass_does(monkeypatch, packets):
    payloads = [b"".join(parts) for parts in packets]
    starts = np.cumsum([0] + [len(p) + 8 for p in payloads[:-1]]).astype(np.int64)
    buf = b"".join(p + bytes(8) for p in payloads)
    whole = _scan(buf, starts, 1 << 40, monkeypatch)
    assert _scan(buf, starts, 3, monkeypatch) == whole
    assert _scan(buf, starts, 64, monkeypatch) == whole


def test_a_zero_padded_position_is_found_across_many_slices(monkeypatch):
    lat, lon = 48.137154, 11.575382
    payload = bytes(5000) + ENCODED["int32 x1e6 big-endian"](lat, lon) + bytes(5000)
    found = _scan(payload, np.array([0], np.int64), 16, monkeypatch)
    assert (0, lat, lon) in found
