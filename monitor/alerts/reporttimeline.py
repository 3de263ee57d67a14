"""The report's timeline: findings counted per time bin, per category (stacked bars) and per
vehicle (one row of bars each), for a log spanning minutes or years.

Every finding counts, not only an episode's first: a record adds the growth of its episode's
``count`` since the episode's last record (``Findings``), in the bin of that record's time, so
the bars sum to the hits the totals show.

Streamed in bounded memory (``Bins``): counts are kept at the finest unit of ``STORED`` that
leaves at most ``MAX_STORED`` bins; past that every bin merges into the next unit (each unit
nests in the next: minutes in ten minutes in hours in days in calendar months in years). The
page then shows the smallest unit of ``SHOWN`` that needs at most ``MAX_SHOWN`` bars for the
span (a week is made of stored days). Vehicles past the first ``MAX_VEHICLES`` are summed in one
row, named so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from .markup import Markup, el, join, number
from .reportmap import colour

MAX_STORED = 2000
MAX_SHOWN = 120
MAX_VEHICLES = 20
MAX_OPEN = 10_000  # episodes whose last count is remembered (as tally.MAX_OPEN)
OTHERS = "(further vehicles)"
MINUTE, HOUR, DAY = 60, 3600, 86400
#: (name, seconds, or None for calendar units)
STORED = (("1 min", MINUTE), ("10 min", 10 * MINUTE), ("1 h", HOUR), ("1 day", DAY), ("1 month", None), ("1 year", None))
SHOWN = (("1 min", MINUTE), ("10 min", 10 * MINUTE), ("1 h", HOUR), ("1 day", DAY), ("1 week", 7 * DAY),
         ("1 month", 30.44 * DAY), ("1 year", 365.25 * DAY))
MONDAY = 4 * DAY  # 1970-01-05, the first Monday after the epoch: weeks start on Mondays


def start_of(t: float, unit: str) -> float:
    """The start (epoch seconds, UTC) of the bin of this unit holding t."""
    seconds = dict(SHOWN)[unit]
    if unit == "1 week":
        return (t - MONDAY) // seconds * seconds + MONDAY
    if unit in ("1 month", "1 year"):
        moment = datetime.fromtimestamp(t, timezone.utc)
        first = moment.replace(month=1 if unit == "1 year" else moment.month, day=1, hour=0, minute=0, second=0,
                               microsecond=0)
        return first.timestamp()
    return t // seconds * seconds


def next_start(start: float, unit: str) -> float:
    if unit in ("1 month", "1 year"):
        moment = datetime.fromtimestamp(start, timezone.utc)
        months = moment.year * 12 + moment.month - 1 + (12 if unit == "1 year" else 1)
        return moment.replace(year=months // 12, month=months % 12 + 1).timestamp()
    return start + dict(SHOWN)[unit]


class Findings:
    """How many findings each record adds: its count's growth since its episode's last record."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def added(self, row: dict) -> int:
        n, key = row["count"] or 1, row["episode"]
        if not key:
            return n
        before = self.last.pop(key, 0)
        if row["activity"] != "Close":
            self.last[key] = max(before, n)
            if len(self.last) > MAX_OPEN:
                self.last.pop(next(iter(self.last)))
        return max(n - before, 0)


class Bins:
    """Counts per (bin start, lane) and per (bin start, vehicle), at one stored unit."""

    def __init__(self) -> None:
        self.unit = 0  # index into STORED
        self.lanes: dict[tuple[float, str], int] = {}
        self.vehicles: dict[tuple[float, str], int] = {}
        self.named: dict[str, None] = {}  # the vehicles with their own row, in order of first finding
        self.starts: set[float] = set()
        self.first: float | None = None
        self.last: float | None = None

    def add(self, t: float, lane: str, vehicle: str, n: int) -> None:
        if n <= 0:
            return
        self.first = t if self.first is None else min(self.first, t)
        self.last = t if self.last is None else max(self.last, t)
        if vehicle not in self.named:
            if len(self.named) < MAX_VEHICLES:
                self.named[vehicle] = None
            else:
                vehicle = OTHERS
        start = start_of(t, STORED[self.unit][0])
        _bump(self.lanes, (start, lane), n)
        _bump(self.vehicles, (start, vehicle), n)
        self.starts.add(start)
        while len(self.starts) > MAX_STORED and self.unit < len(STORED) - 1:
            self._coarsen()

    def _coarsen(self) -> None:
        self.unit += 1
        unit = STORED[self.unit][0]
        for table in ("lanes", "vehicles"):
            merged: dict = {}
            for (start, key), n in getattr(self, table).items():
                _bump(merged, (start_of(start, unit), key), n)
            setattr(self, table, merged)
        self.starts = {start_of(s, unit) for s in self.starts}

    def shown_unit(self) -> str:
        """The smallest unit that shows the span in at most MAX_SHOWN bars, not finer than stored."""
        span = (self.last or 0) - (self.first or 0)
        finest = [name for name, _ in SHOWN].index(STORED[self.unit][0])
        for name, seconds in SHOWN[finest:]:
            if name == "1 week" and self.unit > 3:
                continue  # weeks are made of days only
            if span / seconds < MAX_SHOWN:
                return name
        return "1 year"

    def table(self, which: str, unit: str) -> tuple[list[float], dict[tuple[float, str], int]]:
        """Every bin start of ``unit`` from the first finding to the last, and the counts in them."""
        assert self.first is not None and self.last is not None, "no findings: nothing to bin"
        counts: dict = {}
        for (start, key), n in getattr(self, which).items():
            _bump(counts, (start_of(start, unit), key), n)
        starts, t = [], start_of(self.first, unit)
        while t <= self.last:
            starts.append(t)
            t = next_start(t, unit)
        return starts, counts


def _bump(table: dict, key, n: int) -> None:
    table[key] = table.get(key, 0) + n


def _label(t: float, unit: str) -> str:
    formats = {"1 min": "%Y-%m-%d %H:%M", "10 min": "%Y-%m-%d %H:%M", "1 h": "%Y-%m-%d %H:00", "1 day": "%Y-%m-%d",
               "1 week": "week of %Y-%m-%d", "1 month": "%Y-%m", "1 year": "%Y"}
    return datetime.fromtimestamp(t, timezone.utc).strftime(formats[unit])


def render_timeline(bins: Bins, lanes: tuple[str, ...], index_of: Callable[[str], int], width: int = 1100) -> Markup:
    """Stacked bars per category, then a row of bars per vehicle."""
    if bins.first is None:
        return el("p", "No findings.", class_="muted", id="timeline")
    unit = bins.shown_unit()
    starts, counts = bins.table("lanes", unit)
    present = [c for c in lanes if any(key == c for _, key in counts)]
    total = sum(counts.values())
    caption = el("p", number(total), " findings in bins of ", unit, " (UTC), ", _label(starts[0], unit), " to ",
                 _label(starts[-1], unit), class_="muted", id="timeline-caption", data_unit=unit)
    by_lane = _stacked(starts, counts, present, unit, width)
    vstarts, vcounts = bins.table("vehicles", unit)
    rows = [*bins.named, *([OTHERS] if any(key == OTHERS for _, key in vcounts) else [])]
    by_vehicle = _multiples(vstarts, vcounts, rows, unit, width, index_of)
    return join([caption, by_lane, el("h3", "Findings per vehicle"), by_vehicle])


def _x(starts: list[float], width: int) -> tuple[float, Callable[[int], float]]:
    bar = (width - 130) / len(starts)
    return bar, lambda i: 120 + i * bar


def _stacked(starts, counts, present, unit, width, height=160) -> Markup:
    bar, x = _x(starts, width)
    peak = max(sum(counts.get((s, c), 0) for c in present) for s in starts) or 1
    marks = []
    for i, s in enumerate(starts):
        y = height - 20
        for c in present:
            n = counts.get((s, c), 0)
            if n:
                h = (height - 40) * n / peak
                y -= h
                marks.append(el("rect", el("title", f"{_label(s, unit)}: {c} ", number(n)), class_=f"bar f-{c}",
                                data_lane=c, data_count=n, x=number(x(i), ".1f"), y=number(y, ".1f"),
                                width=number(max(bar - 1, 0.5), ".1f"), height=number(h, ".1f")))
    marks += [el("text", number(peak), x=110, y=26, text_anchor="end"), el("text", "0", x=110, y=height - 20, text_anchor="end"),
              el("text", _label(starts[0], unit), x=120, y=height - 4),
              el("text", _label(starts[-1], unit), x=width - 10, y=height - 4, text_anchor="end")]
    return el("svg", join(marks), id="timeline", class_="chart", width=width, height=height, xmlns="http://www.w3.org/2000/svg")


def _multiples(starts, counts, rows, unit, width, index_of, row_height=34) -> Markup:
    bar, x = _x(starts, width)
    marks = []
    for r, vehicle in enumerate(rows):
        peak = max(counts.get((s, vehicle), 0) for s in starts) or 1
        base = row_height * (r + 1)
        cells = [el("rect", el("title", f"{vehicle} {_label(s, unit)}: ", number(n)), class_="bar", data_count=n,
                    fill=colour(index_of(vehicle)), x=number(x(i), ".1f"), y=number(base - (row_height - 8) * n / peak, ".1f"),
                    width=number(max(bar - 1, 0.5), ".1f"), height=number((row_height - 8) * n / peak, ".1f"))
                 for i, s in enumerate(starts) if (n := counts.get((s, vehicle), 0))]
        label = el("text", el("title", vehicle), vehicle if len(vehicle) <= 18 else vehicle[:17] + "\u2026", x=4, y=base - 15)
        marks.append(el("g", label, el("text", "max ", number(peak), " per bin", x=4, y=base - 3, class_="small"),
                        join(cells), class_="vehicle-row", data_vehicle=vehicle))
    height = row_height * len(rows) + 10
    return el("svg", join(marks), id="timeline-vehicles", class_="chart", width=width, height=height,
              xmlns="http://www.w3.org/2000/svg")
