"""One self-contained HTML report of alert logs: inline CSS and SVG, no script, nothing fetched.

Sections: the totals; a timeline of episodes by category (SVG, with a legend); the top
destinations with their names (and countries, where a MaxMind database is configured); the
names the vehicle looked up (from the DNS logs beside the alert logs, when given); counts per
vehicle; the positions that left each vehicle as a track with the episodes' first points marked
(SVG); and the table of episodes. Built from the records and the DNS logs alone.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timezone

from ..config.model import CATEGORIES as FINDING_CATEGORIES
from ..config.policy import shipped_country_lists
from ..detect import geo
from .dnslog import LookedUp
from .read import flat, gatewatch

# The findings' categories, and the monitor's own (an overflow record: alert records it had to drop).
CATEGORIES = (*FINDING_CATEGORIES, "monitor")
COLOURS = {"monitor": "#555555", "geolocation": "#d62728", "video": "#9467bd", "mapping": "#2ca02c", "identity": "#ff7f0e",
           "can": "#1f77b4", "remote": "#8c564b", "unknown": "#7f7f7f"}
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee}
th{background:#f6f6f6} .num{text-align:right} .totals span{display:inline-block;margin-right:24px}
.legend{display:flex;gap:16px;margin:6px 0} .legend-item{display:flex;align-items:center;gap:6px}
.swatch{width:12px;height:12px;border-radius:2px;display:inline-block} svg{background:#fbfbfb;border:1px solid #eee}
.muted{color:#777} .concern{color:#b00;font-size:11px;margin-left:6px}
"""


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def build_report(records: list[dict], country_of: Callable[[str], str | None] | None = None,
                 title: str = "gatewatch alert report", looked_up: LookedUp | None = None) -> str:
    episodes = _episodes(records)
    country_of = country_of or (lambda address: None)
    rows = sorted(episodes.values(), key=lambda e: e["time"])
    parts = [(f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body>"), f"<h1>{html.escape(title)}</h1>", _totals(rows),
             "<h2>Timeline</h2>", _legend(rows), _timeline(rows),
             "<h2>Where the data went</h2>", _countries(rows),
             "<h2>Top destinations</h2>", _destinations(rows, country_of),
             *(["<h2>Names looked up</h2>", _names_looked_up(looked_up)] if looked_up is not None else []),
             "<h2>Vehicles</h2>", _vehicles(rows),
             "<h2>Track</h2>", _track(records, rows),
             "<h2>Alerts</h2>", _table(rows), "</body></html>"]
    return "\n".join(parts)


def _episodes(records: list[dict]) -> dict[str, dict]:
    """One row per episode: its Create record's fields, the hit count of its last record."""
    out: dict[str, dict] = {}
    for record in records:
        row = flat(record)
        key = row["episode"] or f"{row['vehicle']}:{row['seq']}"
        if key not in out:
            out[key] = {**row, "vin": gatewatch(record).get("vehicle", {}).get("vin")}
        out[key]["count"] = max(out[key]["count"] or 1, row["count"] or 1)
    return out


def _totals(rows: list[dict]) -> str:
    if not rows:
        return "<p class=totals>No alerts.</p>"
    span = f"{_utc(rows[0]['time'])} to {_utc(rows[-1]['time'])} UTC"
    vehicles = len({r["vehicle"] for r in rows})
    return (f"<p class=totals><span><b id=episodes>{len(rows)}</b> episodes</span>"
            f"<span><b>{sum(r['count'] or 1 for r in rows)}</b> hits</span><span><b>{vehicles}</b> vehicle(s)</span>"
            f"<span class=muted>{span}</span></p>")


def _legend(rows: list[dict]) -> str:
    present = [c for c in CATEGORIES if any(r["category"] == c for r in rows)]
    items = "".join(f"<span class=legend-item data-category={c}><span class=swatch style='background:{COLOURS[c]}'>"
                    f"</span>{c}</span>" for c in present)
    return f"<div class=legend id=legend>{items}</div>"


def _timeline(rows: list[dict], width: int = 1100, lane: int = 26) -> str:
    present = [c for c in CATEGORIES if any(r["category"] == c for r in rows)]
    if not rows:
        return ""
    t0, t1 = rows[0]["time"], max(rows[-1]["time"], rows[0]["time"] + 1)
    height = lane * len(present) + 30
    x = lambda t: 110 + (width - 130) * (t - t0) / (t1 - t0)
    marks = [f"<text x=4 y={lane * i + 20} font-size=12>{c}</text>" for i, c in enumerate(present)]
    for r in rows:
        i = present.index(r["category"])
        marks.append(f"<circle cx={x(r['time']):.1f} cy={lane * i + 16} r=5 fill='{COLOURS[r['category']]}'>"
                     f"<title>{html.escape(r['seen'] or '')} ({_utc(r['time'])})</title></circle>")
    marks.append(f"<text x=110 y={height - 6} font-size=11 fill=#777>{_utc(t0)}</text>")
    marks.append(f"<text x={width - 150} y={height - 6} font-size=11 fill=#777>{_utc(t1)}</text>")
    return f"<svg id=timeline width={width} height={height} xmlns='http://www.w3.org/2000/svg'>{''.join(marks)}</svg>"


def _destinations(rows: list[dict], country_of) -> str:
    hits: Counter = Counter()
    names: dict[str, set] = defaultdict(set)
    categories: dict[str, set] = defaultdict(set)
    recorded = {str(r["destination"]): r.get("country") for r in rows if r.get("country")}
    for r in rows:
        if r["destination"] is None:
            continue
        hits[r["destination"]] += r["count"] or 1
        names[r["destination"]].update(r["names"])
        categories[r["destination"]].add(r["category"])
    body = "".join(f"<tr><td>{html.escape(str(d))}</td><td>{html.escape(', '.join(sorted(names[d])) or '-')}</td>"
                   f"<td>{html.escape(country_of(str(d)) or recorded.get(d) or '-')}</td><td>{', '.join(sorted(categories[d]))}</td>"
                   f"<td class=num>{n}</td></tr>" for d, n in hits.most_common(20))
    return ("<table id=destinations><tr><th>destination</th><th>names</th><th>country</th><th>categories</th>"
            f"<th class=num>hits</th></tr>{body}</table>")


def _names_looked_up(looked_up: LookedUp, top: int = 50) -> str:
    """The names the vehicle asked a resolver for, inside the vehicle networks or outside, most asked first."""
    if not looked_up.names:
        return "<p class=muted id=dns-names>No DNS lookups by the vehicle in the DNS logs read.</p>"
    ranked = looked_up.ranked()
    body = "".join(f"<tr class=dns-name><td>{html.escape(name)}</td><td class=num>{n}</td>"
                   f"<td>{html.escape(', '.join(f'{way} {k}' for way, k in sorted(looked_up.directions[name].items())))}</td></tr>"
                   for name, n in ranked[:top])
    more = f"<p class=muted>... and {len(ranked) - top} more names.</p>" if len(ranked) > top else ""
    return (f"<p><b id=dns-lookups>{sum(looked_up.names.values())}</b> lookups of <b id=dns-distinct>{len(ranked)}</b> "
            f"names</p><table id=dns-names><tr><th>name</th><th class=num>lookups</th><th>where asked</th></tr>"
            f"{body}</table>{more}")


def _countries(rows: list[dict]) -> str:
    """Episodes by destination country and category, per vehicle; countries of concern marked."""
    concern = set(shipped_country_lists()["countries-of-concern"]["countries"])
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in rows:
        if r["destination"] is not None and r.get("proto"):
            cells[(str(r["vehicle"]), r.get("country") or "-")][r["category"]] += 1
    if not cells:
        return "<p class=muted id=countries>No network findings.</p>"
    head = "".join(f"<th class=num>{c}</th>" for c in CATEGORIES)
    body = "".join(
        f"<tr class=country data-country='{country}'{' data-concern=yes' if country in concern else ''}>"
        f"<td>{html.escape(vehicle)}</td><td>{country}{' <b class=concern>country of concern</b>' if country in concern else ''}</td>"
        + "".join(f"<td class=num>{counts[c] or ''}</td>" for c in CATEGORIES) + "</tr>"
        for (vehicle, country), counts in sorted(cells.items()))
    return f"<table id=countries><tr><th>vehicle</th><th>country</th>{head}</tr>{body}</table>"


def _vehicles(rows: list[dict]) -> str:
    by: dict[str, Counter] = defaultdict(Counter)
    vins: dict[str, str] = {}
    for r in rows:
        by[r["vehicle"]][r["category"]] += 1
        if r.get("vin"):
            vins[r["vehicle"]] = r["vin"]
    head = "".join(f"<th class=num>{c}</th>" for c in CATEGORIES)
    body = "".join(f"<tr class=vehicle><td>{html.escape(str(v))}</td><td>{html.escape(vins.get(v, '-'))}</td>"
                   + "".join(f"<td class=num>{counts[c]}</td>" for c in CATEGORIES)
                   + f"<td class=num>{sum(counts.values())}</td></tr>" for v, counts in sorted(by.items()))
    return f"<table id=vehicles><tr><th>vehicle</th><th>VIN</th>{head}<th class=num>episodes</th></tr>{body}</table>"


def _track(records: list[dict], rows: list[dict], width: int = 700, height: int = 420) -> str:
    points = sorted((p[0], p[1], p[2]) for rec in records for p in (gatewatch(rec).get("track") or {}).get("points", []))
    alerts = [(r["position"]["lat"], r["position"]["lon"], r["category"]) for r in rows if r.get("position")]
    lats = [p[1] for p in points] + [a[0] for a in alerts]
    lons = [p[2] for p in points] + [a[1] for a in alerts]
    if not lats:
        return "<p class=muted id=track>No positions in these records.</p>"
    pad = 1e-4
    west, east = geo.lon_span(lons)  # the short arc: a track across 180 is drawn as it drove
    south, north, left = min(lats) - pad, max(lats) + pad, west - pad
    right = west + (east - west) % 360.0 + pad
    sx = lambda lon: 20 + (width - 40) * (float(geo.unwrap_lons(lon, west)) - left) / (right - left)
    sy = lambda lat: height - 20 - (height - 40) * (lat - south) / (north - south)
    line = " ".join(f"{sx(lon):.1f},{sy(lat):.1f}" for _, lat, lon in points)
    marks = [f"<polyline points='{line}' fill=none stroke=#999 stroke-width=1.5 />"] if len(points) > 1 else []
    marks += [f"<circle class=alert-point cx={sx(lon):.1f} cy={sy(lat):.1f} r=6 fill='{COLOURS[c]}' "
              f"stroke=#000 stroke-width=0.5><title>{c} {lat:.5f}, {lon:.5f}</title></circle>" for lat, lon, c in alerts]
    km = geo.track_km([p[1] for p in points], [p[2] for p in points])  # great-circle, in time order
    marks.append(f"<text x=8 y=14 font-size=11 fill=#777>{_degrees(north, 'NS')}</text>"
                 f"<text x=8 y={height - 6} font-size=11 fill=#777>{_degrees(south, 'NS')}, "
                 f"{_degrees(west, 'EW')} .. {_degrees(east, 'EW')}</text>"
                 f"<text id=track-length x={width - 8} y=14 font-size=11 fill=#777 text-anchor=end>"
                 f"track {km:.1f} km</text>")
    return f"<svg id=track width={width} height={height} xmlns='http://www.w3.org/2000/svg'>{''.join(marks)}</svg>"


def _degrees(value: float, hemispheres: str) -> str:
    """48.13715 N, 76.44000 W: the sign as a hemisphere letter."""
    return f"{abs(value):.5f} {hemispheres[0] if value >= 0 else hemispheres[1]}"


def _table(rows: list[dict]) -> str:
    body = "".join(
        f"<tr class=alert data-category={r['category']}><td>{_utc(r['time'])}</td><td>{html.escape(str(r['vehicle']))}</td>"
        f"<td>{r['category']}</td><td>{r['action']}</td><td>{html.escape(r['detector'] or '')}</td>"
        f"<td>{html.escape(', '.join(r['names']) or str(r['destination'] or '-'))}"
        f"{':' + str(r['port']) if r['port'] is not None else ''}</td><td class=num>{r['count'] or 1}</td>"
        f"<td>{html.escape(r['seen'] or '')}</td></tr>" for r in rows)
    return ("<table id=alerts><tr><th>time (UTC)</th><th>vehicle</th><th>category</th><th>action</th><th>detector</th>"
            f"<th>destination</th><th class=num>hits</th><th>seen</th></tr>{body}</table>")
