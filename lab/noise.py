"""Random and encrypted payload through taint's position search: how many positions it finds
where there are none, against what the plan says to expect.

Why: ciphertext is uniform bytes, and a vehicle that streams encrypted video sends gigabytes of
it; each random match would be a geolocation alert with regulatory tags on a destination that
received no position. ``taintrate`` computes the expected rate; this measures it. Half the bytes
come from a seeded generator, half are real AEAD output (AES-256-GCM and ChaCha20-Poly1305 from
``cryptography``) over a video-like plaintext; every chunk is made on the fly and dropped.

The track: vehicles driving in all four hemispheres, near the equator and across the
antimeridian, 10 positions a second at 60-120 km/h with the heading turning, as a CAN signal
scaled by 1e-6 or 1e-7 carries them; every buffer is searched against the last 300 s of its
vehicle's track, the plan made once per simulated second (as the detector makes one per batch).

    python -m lab.noise --gb 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from monitor.detect.taint import position_hits
from monitor.detect.taintscan import Plan, segments

CHUNK = 1 << 22  # bytes per buffer: four of the detector's 1 MiB buffers
STARTS = {"north-east": (48.137, 11.576), "north-west": (40.713, -74.006), "south-east": (-33.869, 151.209),
          "south-west": (-12.046, -77.043), "near-equator": (-0.002, 36.822), "antimeridian": (-17.713, 179.999)}
HZ, HISTORY_S, CAP_DEG = 10, 300.0, 0.0005


def track(rng: np.random.Generator, start: tuple[float, float], seconds: float) -> tuple[np.ndarray, ...]:
    """Times, latitudes and longitudes of a drive from ``start``: speed and heading wander."""
    n = int(seconds * HZ) + 1
    speed = np.clip(25 + np.cumsum(rng.normal(0, 0.2, n)), 17, 33)  # m/s
    heading = np.cumsum(rng.normal(0, 0.02, n)) + rng.uniform(0, 2 * math.pi)
    step = speed / HZ / 111_320.0
    lat = start[0] + np.concatenate(([0.0], np.cumsum(step * np.cos(heading))[:-1]))
    lon = start[1] + np.concatenate(([0.0], np.cumsum(step * np.sin(heading) / np.cos(np.radians(lat)))[:-1]))
    lon = (lon + 180.0) % 360.0 - 180.0
    digits = 6 if rng.random() < 0.5 else 7  # the CAN signal's scale: 1e-6 (coarser, wider tolerances) or 1e-7
    return np.arange(n) / HZ, np.round(lat, digits), np.round(lon, digits)


class Payload:
    """Chunks of uniform bytes: generator output and AEAD ciphertext in turn."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.ciphers = [AESGCM(AESGCM.generate_key(bit_length=256)), ChaCha20Poly1305(ChaCha20Poly1305.generate_key())]
        self.plain = (np.arange(CHUNK - 16) % 251).astype(np.uint8).tobytes()  # a repeating frame-like pattern
        self.n = 0

    def next(self) -> bytes:
        self.n += 1
        if self.n % 2:
            return self.rng.bytes(CHUNK)
        cipher = self.ciphers[(self.n // 2) % 2]
        return cipher.encrypt(os.urandom(12), self.plain, None)


def random_positions(gigabytes: float, seed: int = 0) -> dict:
    """Positions found in ``gigabytes`` of random and encrypted payload: counts per encoding, bytes
    scanned, elapsed seconds, and the rate the plans predicted (matches per GB)."""
    rng, payload, found = np.random.default_rng(seed), Payload(seed), Counter()
    chunks = max(1, round(gigabytes * 1e9 / CHUNK))
    per_start = -(-chunks // len(STARTS))
    scanned, expected, plans, began = 0, 0.0, 0, time.perf_counter()
    for start in STARTS.values():
        ts, lats, lons = track(rng, start, HISTORY_S + per_start)
        for k in range(min(per_start, chunks - plans)):
            now = HISTORY_S + k  # one simulated second per chunk
            keep = (ts >= now - HISTORY_S) & (ts <= now + 1.0)
            plan = Plan(segments(ts[keep], lats[keep], lons[keep], now, now + 0.5, CAP_DEG))
            buf = payload.next()
            for hit in position_hits(buf, plan):
                found[hit.encoding] += 1
            scanned += len(buf)
            expected += plan.rate_per_gb() * len(buf) / 1e9
            plans += 1
    seconds = time.perf_counter() - began
    return {"positions": sum(found.values()), "by_encoding": dict(found), "bytes": scanned,
            "seconds": round(seconds, 1), "mb_per_s": round(scanned / 1e6 / seconds, 1),
            "expected_positions": expected, "hemispheres": list(STARTS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.noise", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="gigabytes of payload (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = random_positions(args.gb, args.seed)
    print(json.dumps(report))
    return 0 if report["positions"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
