"""One self-contained HTML report of alert logs: inline CSS, SVG and one constant script,
nothing fetched.

Sections: the totals; the map (reportmap.py: country shapes, each vehicle's track in its own
colour, the findings' positions by category, lines from where the data left to each destination
country, zoom and pan); the timeline (reporttimeline.py: every finding counted per bin, per
category and per vehicle, bins from a minute to a year as the span needs); episodes by
destination country; the top network destinations with their names (and countries, where a
MaxMind database is configured); CAN findings by bus and id; the names the vehicle looked up
(from the DNS logs beside the alert logs, when given); counts per vehicle; and the table of
episodes. Built from the records and the DNS logs alone. A destination is a network endpoint:
a CAN bus is never one. An address is shown by a name only when a name was learned for it.

The page is data, never code: a record comes from a vehicle, or from anyone who could publish to
the fleet's broker, so every value from it is written through markup.el (escaped text or a
double-quoted attribute, nothing else) and numbers through markup.number from checked numbers;
colours are classes or constants from fixed tables. The one script is a constant that reads
only numbers the report wrote. A Content-Security-Policy allows that script and the page's own
sheet (each by its hash) and forbids any other script, style or request, should escaping ever miss.

Streamed, in bounded memory (``Digest``): rows are summed as they are read; the alert table
keeps the latest ``MAX_ROWS`` episodes, the map their positions; the vehicle and country tables
show the first ``MAX_TABLE`` rows, tracks keep at most ``MAX_POINTS`` points for ``MAX_TRACKS``
vehicles, lines at most ``MAX_ORIGINS`` origins per vehicle and country; each says how many more
there were.
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
from . import reportmap
from .dnslog import LookedUp
from .markup import Markup, el, join, number, void
from .read import flat, gatewatch
from .reportplaces import Places
from .reporttimeline import Bins, Findings, render_timeline
from .tally import Counts, Episodes, clip

# The findings' categories, and the monitor's own (an overflow record: alert records it had to drop).
CATEGORIES = (*FINDING_CATEGORIES, "monitor")
OTHER = "other"  # a category the report does not know (shown as the record's text, coloured grey)
COLOURS = {"monitor": "#555555", "geolocation": "#d62728", "video": "#9467bd", "mapping": "#2ca02c", "identity": "#ff7f0e",
           "can": "#1f77b4", "remote": "#8c564b", "unknown": "#7f7f7f", OTHER: "#bbbbbb"}
LANES = (*CATEGORIES, OTHER)
MAX_ROWS = 1000  # episodes in the alert table and the timeline (the latest)
MAX_TABLE = 500  # rows of the vehicle and country tables
MAX_CAN_IDS = 8  # CAN ids kept per finding
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee}
th{background:#f6f6f6} .num{text-align:right} .totals span{display:inline-block;margin-right:24px}
.legend{display:flex;gap:16px;margin:6px 0} .legend-item{display:flex;align-items:center;gap:6px}
.swatch{width:12px;height:12px;border-radius:2px;display:inline-block} svg{background:#fbfbfb;border:1px solid #eee}
.muted{color:#777} .concern{color:#b00;font-size:11px;margin-left:6px}
.chart text{font-size:11px;fill:#444} .chart text.small{font-size:9px;fill:#888} h3{font-size:14px;margin:14px 0 4px}
""" + "".join(f".c-{name}{{background:{colour}}} .f-{name}{{fill:{colour}}} .k-{name}{{stroke:{colour}}}\n"
              for name, colour in COLOURS.items()) + reportmap.CSS
POLICY = (f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
          f"script-src 'sha256-{reportmap.SCRIPT_HASH}'; img-src data:; font-src 'none'; connect-src 'none'; media-src 'none'; object-src 'none'; "
          "frame-src 'none'; base-uri 'none'; form-action 'none'")


def lane(category: str | None) -> str:
    """The category's lane and colour: its own when known, else OTHER (the text is still shown)."""
    return category if category in COLOURS else OTHER


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def build_report(records: Iterable[dict], country_of: Callable[[str], str | None] | None = None,
                 title: str = "gatewatch alert report", looked_up: LookedUp | None = None) -> str:
    """The page for these records (each checked by read.flat)."""
    return build_report_rows((with_can(record, flat(record)) for record in records), country_of, title, looked_up)


def build_report_rows(rows: Iterable[dict], country_of: Callable[[str], str | None] | None = None,
                      title: str = "gatewatch alert report", looked_up: LookedUp | None = None) -> str:
    """The page for a stream of flat rows (read.rows_of, through ``with_can``), summed one at a time."""
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
        self.can: dict[tuple[str, str], list[int]] = {}  # (bus, ids) -> episodes per lane
        self.vehicles = Counts()
        self.per_vehicle: dict[str, list[int]] = {}  # vehicle -> episodes per lane
        self.vins: dict[str, str] = {}
        self.countries: dict[tuple[str, str], list[int]] = {}  # (vehicle, country) -> episodes per lane
        self.places = Places()
        self.findings, self.bins = Findings(), Bins()
        self.palette: dict[str, int] = {}  # vehicle -> colour index, in order of first record

    def add(self, row: dict) -> None:
        vehicle = clip(str(row["vehicle"]))
        if vehicle not in self.palette and len(self.palette) < self.vehicles.max_names:
            self.palette[vehicle] = len(self.palette)
        if row["vin"] and (vehicle in self.vins or len(self.vins) < self.vehicles.max_names):
            self.vins[vehicle] = clip(row["vin"])
        if row["positions"]:
            self.places.track(vehicle, row["positions"])
        self.bins.add(row["time"], lane(row["category"]), vehicle, self.findings.added(row))
        for episode in self.tracker.add(row):
            self._episode(episode)

    def finish(self) -> None:
        for episode in self.tracker.finish():
            self._episode(episode)

    def colour_index(self, vehicle: str) -> int:
        return self.palette.get(vehicle, len(self.palette))

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
        if e["destination"] is None:
            return
        room = len(self.countries) < self.vehicles.max_names
        if not e["proto"]:  # a CAN bus, not a network endpoint
            _bump(self.can, (clip(e["destination"]), " ".join(e.get("can_ids") or ["-"])), column, room)
            return
        self._destination(e)
        _bump(self.countries, (vehicle, clip(e["country"] or "-")), column, room)
        if e["country"]:
            self.places.episode(vehicle, e)

    def _destination(self, e: dict) -> None:
        key = clip(e["destination"])
        entry = self.destinations.get(key)
        if entry is None:
            if len(self.destinations) >= self.vehicles.max_names:
                return
            entry = self.destinations[key] = {"hits": 0, "names": set(), "categories": set(), "country": None}
        entry["hits"] += e["hits"]
        entry["names"].update(clip(n) for n in learned(e)[: 10 - len(entry["names"])])
        if len(entry["categories"]) < 10:
            entry["categories"].add(clip(e["category"] or "-"))
        entry["country"] = entry["country"] or (clip(e["country"]) if e["country"] else None)

    def rows(self) -> list[dict]:
        """The latest episodes kept, in time order."""
        return [e for _, _, e in sorted(self.latest, key=lambda item: item[:2])]


def learned(e: dict) -> list[str]:
    """The names learned for the episode's destination: never the address itself."""
    return [n for n in e["names"] if n != e["destination"]]


def with_can(record: dict, row: dict) -> dict:
    """The row with ``can_ids``: the CAN ids a CAN finding is about (read.flat keeps the bus only)."""
    can = gatewatch(record).get("can")
    ids = can.get("ids") if isinstance(can, dict) else None
    row["can_ids"] = [clip(i) for i in ids[:MAX_CAN_IDS] if isinstance(i, str)] if isinstance(ids, list) else []
    return row


def _bump(table: dict, key, column: int, room: bool) -> None:
    counts = table.get(key)
    if counts is None:
        if not room:
            return
        counts = table[key] = [0] * len(LANES)
    counts[column] += 1


# ------------------------------------------------------------------ the page


def render(d: Digest, country_of, title: str, looked_up: LookedUp | None) -> str:
    rows = d.rows()
    head = join([void("meta", charset="utf-8"), void("meta", http_equiv="Content-Security-Policy", content=POLICY),
                 el("title", title), Markup(f"<style>{CSS}</style>")])
    concern = set(shipped_country_lists()["countries-of-concern"]["countries"])
    body = [el("h1", title), _totals(d), el("h2", "Map"), d.places.render(rows, lane, concern, d.colour_index),
            el("h2", "Timeline"), _legend(rows), render_timeline(d.bins, LANES, d.colour_index),
            el("h2", "Where the data went"), _countries(d, concern), el("h2", "Top destinations"),
            _destinations(d, country_of), el("h2", "CAN findings"), _can(d),
            *([el("h2", "Names looked up"), _names_looked_up(looked_up)] if looked_up is not None else []),
            el("h2", "Vehicles"), _vehicles(d), el("h2", "Alerts"), _table(rows, d),
            Markup(f"<script>{reportmap.SCRIPT}</script>")]  # a constant: its hash is in POLICY
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


def _destinations(d: Digest, country_of) -> Markup:
    if not d.destinations:
        return el("p", "No network destinations.", class_="muted", id="destinations")
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


def _countries(d: Digest, concern: set[str]) -> Markup:
    """Episodes by destination country and category, per vehicle; countries of concern marked."""
    if not d.countries:
        return el("p", "No network findings.", class_="muted", id="countries")
    cells = sorted(d.countries.items())
    body = [el("tr", el("td", vehicle), el("td", country, el("b", " country of concern", class_="concern")
                                             if country in concern else ""),
               *[el("td", number(n) if n else "", class_="num") for n in counts],
               class_="country", data_country=country, data_concern="yes" if country in concern else None)
            for (vehicle, country), counts in cells[:MAX_TABLE]]
    head = el("tr", el("th", "vehicle"), el("th", "country"), *[el("th", c, class_="num") for c in LANES])
    return join([el("table", head, join(body), id="countries"), _more(len(cells) - MAX_TABLE, "rows")])


def _can(d: Digest) -> Markup:
    """Episodes per CAN bus and ids, by category: the findings that have no network destination."""
    if not d.can:
        return el("p", "No CAN findings.", class_="muted", id="can")
    cells = sorted(d.can.items())
    body = [el("tr", el("td", bus), el("td", ids), *[el("td", number(n) if n else "", class_="num") for n in counts],
               class_="can-row", data_bus=bus) for (bus, ids), counts in cells[:MAX_TABLE]]
    head = el("tr", el("th", "bus"), el("th", "CAN ids"), *[el("th", c, class_="num") for c in LANES])
    return join([el("table", head, join(body), id="can"), _more(len(cells) - MAX_TABLE, "rows")])


def _vehicles(d: Digest) -> Markup:
    names = sorted(d.per_vehicle)
    body = [el("tr", el("td", v), el("td", d.vins.get(v, "-")), *[el("td", number(n), class_="num") for n in d.per_vehicle[v]],
               el("td", number(sum(d.per_vehicle[v])), class_="num"), class_="vehicle") for v in names[:MAX_TABLE]]
    head = el("tr", el("th", "vehicle"), el("th", "VIN"), *[el("th", c, class_="num") for c in LANES],
              el("th", "episodes", class_="num"))
    more = len(names) - MAX_TABLE + d.vehicles.past_limit
    return join([el("table", head, join(body), id="vehicles"), _more(more, "vehicles")])


def _table(rows: list[dict], d: Digest) -> Markup:
    body = [el("tr", el("td", _utc(r["time"])), el("td", r["vehicle"]), el("td", r["category"]), el("td", r["action"]),
               el("td", r["detector"] or ""), el("td", _where(r)), el("td", number(r["hits"]), class_="num"),
               el("td", r["seen"] or ""), class_="alert", data_category=lane(r["category"])) for r in rows]
    head = el("tr", *[el("th", name) for name in ("time (UTC)", "vehicle", "category", "action", "detector", "destination")],
              el("th", "hits", class_="num"), el("th", "seen"))
    return join([el("table", head, join(body), id="alerts"), _more(d.episodes - len(rows), "earlier episodes")])


def _where(r: dict) -> str:
    where = ", ".join(learned(r)) or str(r["destination"] or "-")
    return where + (f":{r['port']}" if r["port"] is not None else "")
