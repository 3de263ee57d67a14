"""One self-contained HTML report of alert logs: inline CSS and SVG, no script, nothing fetched.

Sections: the totals; a timeline of episodes by category (SVG, with a legend); the top
destinations with their names (and countries, where a MaxMind database is configured); the
names the vehicle looked up (from the DNS logs beside the alert logs, when given); counts per
vehicle; the positions that left each vehicle as a track with the episodes' first points marked
(SVG); and the table of episodes. Built from the records and the DNS logs alone.

The page is data, never code: a record comes from a vehicle, or from anyone who could publish to
the fleet's broker, so every value from it is written through markup.el (escaped text or a
double-quoted attribute, nothing else) and numbers through markup.number from checked numbers;
colours are classes from a fixed table. A Content-Security-Policy forbids any script, any
request and any style other than the page's own sheet (by its hash), should escaping ever miss.

Streamed, in bounded memory (``Digest``): rows are summed as they are read; the alert table
and the timeline keep the latest ``MAX_ROWS`` episodes, the vehicle and country tables show the
first ``MAX_TABLE`` rows, tracks keep at most ``MAX_POINTS`` points for ``MAX_TRACKS`` vehicles;
each says how many more there were.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from ..config.model import CATEGORIES as FINDING_CATEGORIES
from ..config.policy import shipped_country_lists
from ..detect import geo
from .dnslog import LookedUp
from .markup import Markup, el, join, number, void
from .read import flat
from .tally import Counts, Episodes, clip

# The findings' categories, and the monitor's own (an overflow record: alert records it had to drop).
CATEGORIES = (*FINDING_CATEGORIES, "monitor")
OTHER = "other"  # a category the report does not know (shown as the record's text, coloured grey)
COLOURS = {"monitor": "#555555", "geolocation": "#d62728", "video": "#9467bd", "mapping": "#2ca02c", "identity": "#ff7f0e",
           "can": "#1f77b4", "remote": "#8c564b", "unknown": "#7f7f7f", OTHER: "#bbbbbb"}
LANES = (*CATEGORIES, OTHER)
MAX_ROWS = 1000  # episodes in the alert table and the timeline (the latest)
MAX_TABLE = 500  # rows of the vehicle and country tables
MAX_TRACKS = 20  # vehicles whose track is drawn
MAX_POINTS = 2000  # points kept per track (every other one dropped when full, then every fourth ...)
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee}
th{background:#f6f6f6} .num{text-align:right} .totals span{display:inline-block;margin-right:24px}
.legend{display:flex;gap:16px;margin:6px 0} .legend-item{display:flex;align-items:center;gap:6px}
.swatch{width:12px;height:12px;border-radius:2px;display:inline-block} svg{background:#fbfbfb;border:1px solid #eee}
.muted{color:#777} .concern{color:#b00;font-size:11px;margin-left:6px}
""" + "".join(f".c-{name}{{background:{colour}}}\n" for name, colour in COLOURS.items())
POLICY = (f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
          "script-src 'none'; img-src data:; font-src 'none'; connect-src 'none'; media-src 'none'; object-src 'none'; "
          "frame-src 'none'; base-uri 'none'; form-action 'none'")


def lane(category: str | None) -> str:
    """The category's lane and colour: its own when known, else OTHER (the text is still shown)."""
    return category if category in COLOURS else OTHER


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def build_report(records: Iterable[dict], country_of: Callable[[str], str | None] | None = None,
                 title: str = "gatewatch alert report", looked_up: LookedUp | None = None) -> str:
    """The page for these records (each checked by read.flat)."""
    return build_report_rows((flat(record) for record in records), country_of, title, looked_up)


def build_report_rows(rows: Iterable[dict], country_of: Callable[[str], str | None] | None = None,
                      title: str = "gatewatch alert report", looked_up: LookedUp | None = None) -> str:
    """The page for a stream of flat rows (read.rows_of), summed one at a time."""
    digest = Digest()
    for row in rows:
        digest.add(row)
    digest.finish()
    return render(digest, country_of or (lambda address: None), str(title), looked_up)


class Digest:
    """What the page shows, summed one row at a time in bounded memory."""

    def __init__(self) -> None:
        self.tracker = Episodes()
        self.episodes = self.hits = 0
        self.span: list[float] = []  # first and last episode time
        self.latest: list[tuple[float, int, dict]] = []  # a min-heap of the MAX_ROWS latest episodes
        self.serial = itertools.count()
        self.destinations: dict[str, dict] = {}
        self.vehicles = Counts()
        self.per_vehicle: dict[str, list[int]] = {}  # vehicle -> episodes per lane
        self.vins: dict[str, str] = {}
        self.countries: dict[tuple[str, str], list[int]] = {}  # (vehicle, country) -> episodes per lane
        self.tracks: dict[str, Track] = {}
        self.more_tracks = 0  # records with positions of vehicles past MAX_TRACKS

    def add(self, row: dict) -> None:
        vehicle = clip(str(row["vehicle"]))
        if row["vin"] and (vehicle in self.vins or len(self.vins) < self.vehicles.max_names):
            self.vins[vehicle] = clip(row["vin"])
        if row["positions"]:
            self._track(vehicle, row["positions"])
        for episode in self.tracker.add(row):
            self._episode(episode)

    def finish(self) -> None:
        for episode in self.tracker.finish():
            self._episode(episode)

    def _track(self, vehicle: str, points: list) -> None:
        track = self.tracks.get(vehicle)
        if track is None:
            if len(self.tracks) >= MAX_TRACKS:
                self.more_tracks += 1
                return
            track = self.tracks[vehicle] = Track()
        for point in points:
            track.add(float(point[0]), float(point[1]), float(point[2]))

    def _episode(self, e: dict) -> None:
        self.episodes += 1
        self.hits += e["hits"]
        self.span = [min(self.span[0], e["time"]), max(self.span[1], e["time"])] if self.span else [e["time"], e["time"]]
        heapq.heappush(self.latest, (e["time"], next(self.serial), e))
        if len(self.latest) > MAX_ROWS:
            heapq.heappop(self.latest)
        vehicle, column = clip(str(e["vehicle"])), LANES.index(lane(e["category"]))
        self.vehicles.add(vehicle, e["hits"])
        _bump(self.per_vehicle, vehicle, column, len(self.per_vehicle) < self.vehicles.max_names)
        if e["destination"] is not None:
            self._destination(e)
            if e["proto"]:
                _bump(self.countries, (vehicle, clip(e["country"] or "-")), column, len(self.countries) < self.vehicles.max_names)

    def _destination(self, e: dict) -> None:
        key = clip(e["destination"])
        entry = self.destinations.get(key)
        if entry is None:
            if len(self.destinations) >= self.vehicles.max_names:
                return
            entry = self.destinations[key] = {"hits": 0, "names": set(), "categories": set(), "country": None}
        entry["hits"] += e["hits"]
        entry["names"].update(clip(n) for n in e["names"][: 10 - len(entry["names"])])
        if len(entry["categories"]) < 10:
            entry["categories"].add(clip(e["category"] or "-"))
        entry["country"] = entry["country"] or (clip(e["country"]) if e["country"] else None)

    def rows(self) -> list[dict]:
        """The latest episodes kept, in time order."""
        return [e for _, _, e in sorted(self.latest, key=lambda item: item[:2])]


def _bump(table: dict, key, column: int, room: bool) -> None:
    counts = table.get(key)
    if counts is None:
        if not room:
            return
        counts = table[key] = [0] * len(LANES)
    counts[column] += 1


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


# ------------------------------------------------------------------ the page


def render(d: Digest, country_of, title: str, looked_up: LookedUp | None) -> str:
    rows = d.rows()
    head = join([void("meta", charset="utf-8"), void("meta", http_equiv="Content-Security-Policy", content=POLICY),
                 el("title", title), Markup(f"<style>{CSS}</style>")])
    body = [el("h1", title), _totals(d), el("h2", "Timeline"), _legend(rows), _timeline(rows, d),
            el("h2", "Where the data went"), _countries(d), el("h2", "Top destinations"), _destinations(d, country_of),
            *([el("h2", "Names looked up"), _names_looked_up(looked_up)] if looked_up is not None else []),
            el("h2", "Vehicles"), _vehicles(d), el("h2", "Track"), _track(d, rows), el("h2", "Alerts"), _table(rows, d)]
    return "<!DOCTYPE html>\n" + el("html", el("head", head), el("body", join(body, "\n")), lang="en")


def _more(count: int, what: str, **attributes) -> Markup:
    return el("p", number(count), f" more {what} not shown.", class_="muted more", **attributes) if count > 0 else Markup("")


def _totals(d: Digest) -> Markup:
    if not d.episodes:
        return el("p", "No alerts.", class_="totals")
    span = f"{_utc(d.span[0])} to {_utc(d.span[1])} UTC"
    vehicles = len(d.vehicles.by) + (d.vehicles.past_limit and 1)
    return el("p", el("span", el("b", number(d.episodes), id="episodes"), " episodes"),
              el("span", el("b", number(d.hits)), " hits"), el("span", el("b", number(vehicles)), " vehicle(s)"),
              el("span", span, class_="muted"), class_="totals")


def _legend(rows: list[dict]) -> Markup:
    present = [c for c in LANES if any(lane(r["category"]) == c for r in rows)]
    items = [el("span", el("span", class_=f"swatch c-{c}"), c, class_="legend-item", data_category=c) for c in present]
    return el("div", join(items), class_="legend", id="legend")


def _timeline(rows: list[dict], d: Digest, width: int = 1100, height_of_lane: int = 26) -> Markup:
    present = [c for c in LANES if any(lane(r["category"]) == c for r in rows)]
    if not rows:
        return Markup("")
    t0, t1 = rows[0]["time"], max(rows[-1]["time"], rows[0]["time"] + 1)
    height = height_of_lane * len(present) + 30
    x = lambda t: 110 + (width - 130) * (t - t0) / (t1 - t0)
    marks = [el("text", c, x=4, y=height_of_lane * i + 20, font_size=12) for i, c in enumerate(present)]
    for r in rows:
        i = present.index(lane(r["category"]))
        marks.append(el("circle", el("title", f"{r['category']}: {r['seen'] or ''} ({_utc(r['time'])})"),
                        cx=number(x(r["time"]), ".1f"), cy=height_of_lane * i + 16, r=5, fill=COLOURS[lane(r["category"])]))
    marks.append(el("text", _utc(t0), x=110, y=height - 6, font_size=11, fill="#777"))
    marks.append(el("text", _utc(t1), x=width - 150, y=height - 6, font_size=11, fill="#777"))
    return join([el("svg", join(marks), id="timeline", width=width, height=height, xmlns="http://www.w3.org/2000/svg"),
                 _more(d.episodes - len(rows), "earlier episodes (the timeline and the table show the latest)")])


def _destinations(d: Digest, country_of) -> Markup:
    top = sorted(d.destinations.items(), key=lambda item: (-item[1]["hits"], item[0]))[:20]
    body = [el("tr", el("td", dest), el("td", ", ".join(sorted(e["names"])) or "-"),
               el("td", country_of(dest) or e["country"] or "-"), el("td", ", ".join(sorted(e["categories"]))),
               el("td", number(e["hits"]), class_="num")) for dest, e in top]
    head = el("tr", el("th", "destination"), el("th", "names"), el("th", "country"), el("th", "categories"),
              el("th", "hits", class_="num"))
    return el("table", head, join(body), id="destinations")


def _names_looked_up(looked_up: LookedUp, top: int = 50) -> Markup:
    """The names the vehicle asked a resolver for, inside the vehicle networks or outside, most asked first."""
    if not looked_up.names:
        return el("p", "No DNS lookups by the vehicle in the DNS logs read.", class_="muted", id="dns-names")
    ranked = looked_up.ranked()
    body = [el("tr", el("td", name), el("td", number(n), class_="num"),
               el("td", ", ".join(f"{way} {k}" for way, k in sorted(looked_up.directions[name].items()))), class_="dns-name")
            for name, n in ranked[:top]]
    head = el("tr", el("th", "name"), el("th", "lookups", class_="num"), el("th", "where asked"))
    return join([el("p", el("b", number(sum(looked_up.names.values())), id="dns-lookups"), " lookups of ",
                    el("b", number(len(ranked)), id="dns-distinct"), " names"),
                 el("table", head, join(body), id="dns-names"), _more(len(ranked) - top, "names")])


def _countries(d: Digest) -> Markup:
    """Episodes by destination country and category, per vehicle; countries of concern marked."""
    if not d.countries:
        return el("p", "No network findings.", class_="muted", id="countries")
    concern = set(shipped_country_lists()["countries-of-concern"]["countries"])
    cells = sorted(d.countries.items())
    body = [el("tr", el("td", vehicle), el("td", country, el("b", " country of concern", class_="concern")
                                             if country in concern else ""),
               *[el("td", number(n) if n else "", class_="num") for n in counts],
               class_="country", data_country=country, data_concern="yes" if country in concern else None)
            for (vehicle, country), counts in cells[:MAX_TABLE]]
    head = el("tr", el("th", "vehicle"), el("th", "country"), *[el("th", c, class_="num") for c in LANES])
    return join([el("table", head, join(body), id="countries"), _more(len(cells) - MAX_TABLE, "rows")])


def _vehicles(d: Digest) -> Markup:
    names = sorted(d.per_vehicle)
    body = [el("tr", el("td", v), el("td", d.vins.get(v, "-")), *[el("td", number(n), class_="num") for n in d.per_vehicle[v]],
               el("td", number(sum(d.per_vehicle[v])), class_="num"), class_="vehicle") for v in names[:MAX_TABLE]]
    head = el("tr", el("th", "vehicle"), el("th", "VIN"), *[el("th", c, class_="num") for c in LANES],
              el("th", "episodes", class_="num"))
    more = len(names) - MAX_TABLE + d.vehicles.past_limit
    return join([el("table", head, join(body), id="vehicles"), _more(more, "vehicles")])


def _track(d: Digest, rows: list[dict], width: int = 700, height: int = 420) -> Markup:
    tracks = {v: sorted(t.points) for v, t in sorted(d.tracks.items())}
    points = [p for track in tracks.values() for p in track]
    alerts = [(r["position"]["lat"], r["position"]["lon"], r["category"]) for r in rows if r.get("position")]
    lats = [p[1] for p in points] + [a[0] for a in alerts]
    lons = [p[2] for p in points] + [a[1] for a in alerts]
    if not lats:
        return el("p", "No positions in these records.", class_="muted", id="track")
    pad = 1e-4
    west, east = geo.lon_span(lons)  # the short arc: a track across 180 is drawn as it drove
    south, north, left = min(lats) - pad, max(lats) + pad, west - pad
    right = west + (east - west) % 360.0 + pad
    sx = lambda lon: number(20 + (width - 40) * (float(geo.unwrap_lons(lon, west)) - left) / (right - left), ".1f")
    sy = lambda lat: number(height - 20 - (height - 40) * (lat - south) / (north - south), ".1f")
    marks = [el("polyline", points=" ".join(f"{sx(lon)},{sy(lat)}" for _, lat, lon in track), fill="none", stroke="#999",
                stroke_width=1.5, data_vehicle=vehicle) for vehicle, track in tracks.items() if len(track) > 1]
    marks += [el("circle", el("title", f"{c} {number(lat, '.5f')}, {number(lon, '.5f')}"), class_="alert-point",
                 cx=sx(lon), cy=sy(lat), r=6, fill=COLOURS[lane(c)], stroke="#000", stroke_width=0.5) for lat, lon, c in alerts]
    km = sum(geo.track_km([p[1] for p in track], [p[2] for p in track]) for track in tracks.values())  # great-circle, in time order
    marks += [el("text", _degrees(north, "NS"), x=8, y=14, font_size=11, fill="#777"),
              el("text", f"{_degrees(south, 'NS')}, {_degrees(west, 'EW')} .. {_degrees(east, 'EW')}", x=8, y=height - 6,
                 font_size=11, fill="#777"),
              el("text", "track ", number(km, ".1f"), " km", id="track-length", x=width - 8, y=14, font_size=11,
                 fill="#777", text_anchor="end")]
    svg = el("svg", join(marks), id="track", width=width, height=height, xmlns="http://www.w3.org/2000/svg")
    return join([svg, _more(d.more_tracks, "records with positions of further vehicles (their tracks are not drawn)")])


def _degrees(value: float, hemispheres: str) -> str:
    """48.13715 N, 76.44000 W: the sign as a hemisphere letter."""
    return f"{number(abs(value), '.5f')} {hemispheres[0] if value >= 0 else hemispheres[1]}"


def _table(rows: list[dict], d: Digest) -> Markup:
    body = [el("tr", el("td", _utc(r["time"])), el("td", r["vehicle"]), el("td", r["category"]), el("td", r["action"]),
               el("td", r["detector"] or ""), el("td", _where(r)), el("td", number(r["hits"]), class_="num"),
               el("td", r["seen"] or ""), class_="alert", data_category=lane(r["category"])) for r in rows]
    head = el("tr", *[el("th", name) for name in ("time (UTC)", "vehicle", "category", "action", "detector", "destination")],
              el("th", "hits", class_="num"), el("th", "seen"))
    return join([el("table", head, join(body), id="alerts"), _more(d.episodes - len(rows), "earlier episodes")])


def _where(r: dict) -> str:
    where = ", ".join(r["names"]) or str(r["destination"] or "-")
    return where + (f":{r['port']}" if r["port"] is not None else "")
