"""Where the report's map puts things, summed one row at a time in bounded memory: each vehicle's
track (the positions that left it) and, per vehicle and destination country, the places the
data left from.

A place is the finding's own decoded position; a finding without one (a CAN-derived leak read
from an encrypted flow, a VIN) left from where the vehicle was at that moment: the point of its
track nearest in time, when its track has one. A finding the report cannot place draws no line
but still counts in the country table.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from ..detect import geo
from .markup import Markup, el, join, number
from .reportmap import Line, Point, render_map
from .tally import clip

MAX_TRACKS = 20  # vehicles whose track is drawn
MAX_POINTS = 2000  # points kept per track (every other one dropped when full, then every fourth ...)
MAX_ORIGINS = 8  # places per (vehicle, destination country) a line is drawn from
MAX_LINES = 2000  # (vehicle, country) pairs with lines


class Track:
    """A vehicle's positions, at most MAX_POINTS: when full, every other one goes and from then on
    only every ``stride``-th point is kept, so the whole drive stays drawn, coarser."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float, float]] = []
        self.stride, self.seen = 1, 0

    def add(self, t: float, lat: float, lon: float) -> None:
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        self.points.append((t, lat, lon))
        if len(self.points) >= MAX_POINTS:
            self.points, self.stride = self.points[::2], self.stride * 2


class Places:
    def __init__(self) -> None:
        self.tracks: dict[str, Track] = {}
        self.more_tracks = 0  # records with positions of vehicles past MAX_TRACKS
        self.origins: dict[tuple[str, str], dict] = {}  # (vehicle, country) -> episodes, places
        self.more_lines = 0  # episodes of (vehicle, country) pairs past MAX_LINES

    def track(self, vehicle: str, points: list) -> None:
        track = self.tracks.get(vehicle)
        if track is None:
            if len(self.tracks) >= MAX_TRACKS:
                self.more_tracks += 1
                return
            track = self.tracks[vehicle] = Track()
        for point in points:
            track.add(float(point[0]), float(point[1]), float(point[2]))

    def episode(self, vehicle: str, e: dict) -> None:
        """A network episode to a known country: where its data left from."""
        key = (vehicle, clip(e["country"]))
        entry = self.origins.get(key)
        if entry is None:
            if len(self.origins) >= MAX_LINES:
                self.more_lines += 1
                return
            entry = self.origins[key] = {"episodes": 0, "at": []}
        entry["episodes"] += 1
        position = e.get("position")
        place = (e["time"], position["lat"], position["lon"]) if position else (e["time"], None, None)
        if len(entry["at"]) < MAX_ORIGINS and place[1:] not in [p[1:] for p in entry["at"] if p[1] is not None]:
            entry["at"].append(place)

    def render(self, rows: list[dict], lane: Callable[[str | None], str], concern: set[str],
               index_of: Callable[[str], int]) -> Markup:
        tracks = {v: sorted(t.points) for v, t in sorted(self.tracks.items(), key=lambda item: index_of(item[0]))}
        points = [Point(r["position"]["lat"], r["position"]["lon"], lane(r["category"]),
                        f"{r['vehicle']}: {r['category']}") for r in rows if r.get("position")]
        lines = [Line(vehicle, lat, lon, country, entry["episodes"], country in concern)
                 for (vehicle, country), entry in sorted(self.origins.items())
                 for lat, lon in self._placed(entry["at"], tracks.get(vehicle, []))]
        km = sum(geo.track_km([p[1] for p in t], [p[2] for p in t]) for t in tracks.values())  # great-circle, in time order
        return join([render_map(tracks, points, lines, index_of),
                     el("p", "track ", number(km, ".1f"), " km (all vehicles, great-circle through the positions that left)",
                        id="track-length", class_="muted"),
                     _more(self.more_tracks, "records with positions of further vehicles (their tracks are not drawn)"),
                     _more(self.more_lines, "episodes to further vehicle and country pairs (no line drawn)")])

    @staticmethod
    def _placed(at: list, track: list) -> list[tuple[float, float]]:
        out = []
        for t, lat, lon in at:
            if lat is None and track:
                i = min(bisect.bisect_left(track, (t,)), len(track) - 1)
                if i and abs(track[i - 1][0] - t) < abs(track[i][0] - t):
                    i -= 1
                lat, lon = track[i][1], track[i][2]
            if lat is not None and (lat, lon) not in out:
                out.append((lat, lon))
        return out


def _more(count: int, what: str) -> Markup:
    return el("p", number(count), f" more {what} not shown.", class_="muted more") if count > 0 else Markup("")
