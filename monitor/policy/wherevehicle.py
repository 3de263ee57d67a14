"""Which country the vehicle is in when a finding is made, offline.

Where: the CAN position in the ``VehicleState`` at the finding's time (the newest fix at most
``MAX_FIX_AGE_S`` old), else the position the finding decoded from the payload (what the vehicle
reported), else none: then no rule that depends on where the vehicle is can be shown.

Which country: the shapes in ``policy/data/country-shapes.json``, derived by
``lab/country_shapes.py`` from Natural Earth's 1:110m admin-0 countries (public domain), with
Hong Kong and Macau drawn in. A point is in a country when it is inside an odd number of that
country's rings (even-odd, so holes such as Lesotho inside South Africa work); Natural Earth cuts
shapes at ±180, so Russia, Fiji and the Aleutians need no special case once the longitude is
wrapped. The 110m coast is a few km off, so a point in no polygon takes the nearest country's
when an edge is within ``COAST_KM`` (a port road the simplified coast cut off), and is unknown
past that (at sea, or Singapore and the other states too small for the scale). Borders are as
coarse: a fix within a few km of one may be given to the neighbour, which the reason says.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..detect.finding import Finding
from ..state import VehicleState

MAX_FIX_AGE_S = 600.0  # an older CAN fix may be a country away on a motorway
COAST_KM = 25.0
KM_PER_DEGREE = 111.195
#: Checked first: drawn inside the 110m shape of China, which would otherwise claim them.
FIRST = ("HK", "MO")


@dataclass(frozen=True)
class VehiclePlace:
    country: str | None
    lat: float
    lon: float
    source: str  # "CAN" or "payload"
    how: str  # "inside", "nearest 3.2 km", "outside every country shape"

    def describe(self) -> str:
        where = f"{self.lat:.3f},{self.lon:.3f} from {self.source}"
        if self.country is None:
            return f"the vehicle's position ({where}) is in no country shape ({self.how})"
        return f"the vehicle is in {self.country} ({where}, {self.how})"


class Shapes:
    """Every ring's edges as columns, with each country's bounding box to skip most of them."""

    def __init__(self, countries: dict[str, list[list[float]]]) -> None:
        codes = [c for c in FIRST if c in countries] + sorted(c for c in countries if c not in FIRST)
        self.codes = codes
        x1, y1, x2, y2, owner = [], [], [], [], []
        for k, code in enumerate(codes):
            for flat in countries[code]:
                ring = np.asarray(flat, float).reshape(-1, 2)
                nxt = np.roll(ring, -1, axis=0)
                x1.append(ring[:, 0]), y1.append(ring[:, 1]), x2.append(nxt[:, 0]), y2.append(nxt[:, 1])
                owner.append(np.full(len(ring), k))
        self.x1, self.y1, self.x2, self.y2 = (np.concatenate(a) for a in (x1, y1, x2, y2))
        self.owner = np.concatenate(owner)
        lo_x, hi_x = np.minimum(self.x1, self.x2), np.maximum(self.x1, self.x2)
        lo_y, hi_y = np.minimum(self.y1, self.y2), np.maximum(self.y1, self.y2)
        n = len(codes)
        self.box = np.stack([np.full(n, np.inf), np.full(n, np.inf), np.full(n, -np.inf), np.full(n, -np.inf)], axis=1)
        np.minimum.at(self.box[:, 0], self.owner, lo_x), np.minimum.at(self.box[:, 1], self.owner, lo_y)
        np.maximum.at(self.box[:, 2], self.owner, hi_x), np.maximum.at(self.box[:, 3], self.owner, hi_y)

    def country(self, lat: float, lon: float) -> tuple[str | None, str]:
        """(alpha-2 code or None, how it was found)."""
        if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90:
            return None, "not a position"
        lon = (lon + 180.0) % 360.0 - 180.0
        inside = self._inside(lat, lon)
        if inside is not None:
            return inside, "inside"
        code, km = self._nearest(lat, lon)
        if code is not None and km <= COAST_KM:
            return code, f"nearest, {km:.1f} km from its 1:110m outline"
        return None, "outside every country shape"

    def _inside(self, lat: float, lon: float) -> str | None:
        box = self.box
        candidates = np.flatnonzero((box[:, 0] <= lon) & (lon <= box[:, 2]) & (box[:, 1] <= lat) & (lat <= box[:, 3]))
        if not len(candidates):
            return None
        edges = np.flatnonzero(np.isin(self.owner, candidates))
        y1, y2 = self.y1[edges], self.y2[edges]
        spans = (y1 > lat) != (y2 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = self.x1[edges] + (lat - y1) * (self.x2[edges] - self.x1[edges]) / (y2 - y1)
        crossings = np.bincount(self.owner[edges][spans & (lon < x_at)], minlength=len(self.codes))
        odd = np.flatnonzero(crossings % 2 == 1)
        return self.codes[int(odd[0])] if len(odd) else None  # FIRST come first

    def _nearest(self, lat: float, lon: float) -> tuple[str | None, float]:
        """The country with the nearest edge and its distance, on a local flat projection."""
        scale = math.cos(math.radians(lat))
        ax, ay = (self.x1 - lon) * scale, self.y1 - lat
        bx, by = (self.x2 - lon) * scale, self.y2 - lat
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip(np.where(length2 > 0, -(ax * dx + ay * dy) / length2, 0.0), 0.0, 1.0)
        d2 = (ax + t * dx) ** 2 + (ay + t * dy) ** 2
        best = int(np.argmin(d2))
        return self.codes[int(self.owner[best])], math.sqrt(float(d2[best])) * KM_PER_DEGREE


@lru_cache(maxsize=1)
def shapes() -> Shapes:
    text = resources.files("monitor.policy").joinpath("data/country-shapes.json").read_text()
    return Shapes(json.loads(text)["countries"])


@lru_cache(maxsize=4096)
def country_at(lat: float, lon: float) -> tuple[str | None, str]:
    """The country of a position rounded to 0.001 degree (the data's own precision)."""
    return shapes().country(round(lat, 3), round(lon, 3))


def vehicle_place(finding: Finding, state: VehicleState | None) -> VehiclePlace | None:
    """Where the vehicle was at the finding: the CAN fix, else the decoded position, else None."""
    fix = _can_fix(finding.ts, state) if state is not None else None
    source = "CAN"
    if fix is None:
        decoded = next((p for p in (finding.position, *finding.track) if p is not None and p.plausible), None)
        if decoded is None:
            return None
        fix, source = (decoded.lat, decoded.lon), "payload"
    country, how = country_at(*fix)
    return VehiclePlace(country, fix[0], fix[1], source, how)


def _can_fix(t: float, state: VehicleState) -> tuple[float, float] | None:
    ts, lats, lons = state.positions(t - MAX_FIX_AGE_S, t)
    ok = np.flatnonzero(np.isfinite(lats) & np.isfinite(lons) & ((lats != 0) | (lons != 0)))
    if not len(ok):
        return None
    return float(lats[ok[-1]]), float(lons[ok[-1]])
