"""positionscan: every encoding taint reads is found inside a box, at any offset and in either
hemisphere; a latitude and a longitude pair only within one packet; random and hostile bytes
cost a bounded number of candidates."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from monitor.detect import positionscan
from monitor.detect.positionscan import Box, positions

LAT, LON = 48.137154, 11.575382
MUNICH = Box(48.1, 48.2, 11.5, 11.6)


def binary(fmt: str, lat: float, lon: float) -> bytes:
    kind = fmt[-1]
    if kind in "fd":
        return struct.pack(fmt, lat, lon)
    if fmt.endswith("I"):  # J1939: 1e-7 degree per bit, -210 offset
        return struct.pack(fmt, round((lat + 210) * 1e7), round((lon + 210) * 1e7))
    scale = 1e6 if "6" in fmt else 1e7
    return struct.pack(fmt.replace("6", "").replace("7", ""), round(lat * scale), round(lon * scale))


ENCODED = {
    "int32 x1e6 big-endian": lambda lat, lon: binary(">6ii", lat, lon),
    "int32 x1e6 little-endian": lambda lat, lon: binary("<6ii", lat, lon),
    "int32 x1e7 big-endian": lambda lat, lon: binary(">7ii", lat, lon),
    "int32 x1e7 little-endian": lambda lat, lon: binary("<7ii", lat, lon),
    "magnitude x1e6 (JT/T 808)": lambda lat, lon: binary(">6ii", abs(lat), abs(lon)),
    "J1939": lambda lat, lon: binary("<II", lat, lon),
    "float32 little-endian": lambda lat, lon: binary("<ff", lat, lon),
    "float32 big-endian": lambda lat, lon: binary(">ff", lat, lon),
    "float64 little-endian": lambda lat, lon: binary("<dd", lat, lon),
    "float64 big-endian": lambda lat, lon: binary(">dd", lat, lon),
    "decimal text": lambda lat, lon: f'{{"la":{lat:.6f},"lo":{lon:.6f}}}'.encode(),
    "NMEA": lambda lat, lon: (f"$GPGGA,123519,{int(abs(lat)):02d}{abs(lat) % 1 * 60:07.4f},{'N' if lat >= 0 else 'S'},"
                              f"{int(abs(lon)):03d}{abs(lon) % 1 * 60:07.4f},{'E' if lon >= 0 else 'W'},1").encode(),
}


@pytest.mark.parametrize("name", list(ENCODED))
@pytest.mark.parametrize("sign", [(1, 1), (-1, -1), (1, -1)], ids=["NE", "SW", "NW"])
@pytest.mark.parametrize("skew", [0, 1, 3])
def test_every_encoding_is_found_at_any_offset_in_every_hemisphere(name, sign, skew):
    lat, lon = sign[0] * LAT, sign[1] * LON
    box = Box(*sorted((sign[0] * 48.1, sign[0] * 48.2)), *sorted((sign[1] * 11.5, sign[1] * 11.6)))
    buf = b"\x01" * skew + ENCODED[name](lat, lon) + b"\x00" * 8
    found = positions(buf, np.array([0]), box)
    assert any(abs(a - lat) < 2e-5 and abs(b - lon) < 2e-5 for _, a, b in found), found


def test_a_latitude_and_a_longitude_pair_only_in_one_packet():
    lat_only, lon_only = struct.pack(">i", round(LAT * 1e6)), struct.pack(">i", round(LON * 1e6))
    buf = lat_only + bytes(8) + lon_only  # the two halves in two packets joined with a gap
    assert positions(buf, np.array([0, len(lat_only) + 8]), MUNICH) == []
    assert [p[0] for p in positions(buf, np.array([0]), MUNICH)] == [0]


def test_values_outside_the_box_are_not_positions():
    assert positions(binary(">6ii", 52.52, 13.405) + b'{"la":52.520000,"lo":13.405000}', np.array([0]), MUNICH) == []


def test_random_bytes_give_few_candidates_in_a_small_box():
    """16 MiB of random bytes in a box of about 1 km: the top-bits gate leaves next to nothing."""
    rng = np.random.default_rng(7)
    buf = rng.integers(0, 256, 16 << 20, dtype=np.uint8).tobytes()
    small = Box(48.135, 48.145, 11.57, 11.58)
    assert len(positions(buf, np.array([0]), small)) <= 16


def test_a_buffer_full_of_latitudes_is_capped():
    """A hostile payload of nothing but in-box values: at most MAX_CANDIDATES examined per
    encoding and axis, so the pairs stay bounded."""
    buf = binary(">6ii", LAT, LON) * 200_000
    found = positions(buf, np.array([0]), MUNICH)
    assert 0 < len(found) <= 2 * positionscan.MAX_CANDIDATES * (len(positionscan.ENCODINGS) + 2)


def test_short_and_empty_buffers():
    assert positions(b"", np.array([0]), MUNICH) == [] and positions(os.urandom(3), np.array([0]), MUNICH) == []
