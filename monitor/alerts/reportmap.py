"""The report's map: one SVG, offline, with its own small zoom and pan script.

The basemap is Natural Earth's 1:110m admin-0 countries (public domain), the file
``policy/wherevehicle.py`` already ships (``policy/data/country-shapes.json``), drawn once per
process as one path per country. Over it, in scene coordinates of degrees (x = longitude,
y = -latitude): each vehicle's track as its own ``<g class="track" data-vehicle>`` in its own
colour, the findings' positions coloured by category, and a line from where the data left the
vehicle to each destination country's representative point (a country of concern drawn in red,
its shape tinted).

Projection: equirectangular with the standard parallel at the middle of the data (x scaled by
its cosine, in the scene's transform), so a city's drive keeps its shape; the scale bar is
true north-south everywhere and east-west at that parallel. The antimeridian: every longitude
is unwrapped from the west edge of the smallest arc holding the data (``geo.lon_span``), so a
track across 180 runs on to 181 instead of jumping back across the world, and the basemap is
drawn again 360 degrees either side (``<use>`` of the one copy) to lie under it. A destination
line goes to the copy of the country's point nearest its origin: the short way round.

Points and lines keep their screen size at any zoom (``vector-effect: non-scaling-stroke``; a
point is a zero-length path with round caps). The bounds label, the scale bar and the country
labels sit outside the zoomed group in screen coordinates; the script moves them. It reads only
numbers this module wrote (``data-*`` of the svg and labels), never a record's text, and is a
constant whose hash the page's Content-Security-Policy names. Without the script (or before it
runs) the page shows the same first view.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..detect import geo
from .markup import Markup, el, join, number

WIDTH, HEIGHT = 960, 520
KM_PER_DEGREE = 111.195
MIN_SPAN = 0.02  # degrees: the first view of a car park is not a single pixel blown up
MAX_SCALE = 2e6  # pixels per degree (a few cm)
LABEL_PX = 190  # a country label this close to the right edge is written leftwards
#: One colour per vehicle track (cycled past 20), distinct from the category colours' reds.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#bcbd22", "#e377c2", "#8c564b", "#393b79",
           "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
           "#6baed6", "#fd8d3c")
CONCERN = "#c00000"

SCRIPT = """(function(){
var svg=document.getElementById('map');if(!svg)return;
var scene=document.getElementById('map-scene'),d=svg.dataset,W=+d.width,H=+d.height,k=+d.k;
var home=[+d.s,+d.tx,+d.ty],s=home[0],tx=home[1],ty=home[2],MIN=W/(1080*k),MAX=+d.max,LABEL=+d.label;
function deg(v,p,n,q){return Math.abs(v).toFixed(q)+'\\u00b0 '+(v>=0?p:n);}
function lon(v){return ((v+180)%360+360)%360-180;}
function nice(km){var p=Math.pow(10,Math.floor(Math.log10(km))),m=[5,2,1];
for(var i=0;i<3;i++){if(m[i]*p<=km)return m[i]*p;}return p;}
function draw(){
scene.setAttribute('transform','translate('+tx+' '+ty+') scale('+(s*k)+' '+s+')');
var q=s>5000?4:s>50?2:1,w=-tx/(s*k),e=(W-tx)/(s*k),n=ty/s,so=(ty-H)/s;
document.getElementById('map-bounds').textContent=deg(Math.max(so,-90),'N','S',q)+' .. '+deg(Math.min(n,90),'N','S',q)+', '+
deg(lon(w),'E','W',q)+' .. '+deg(lon(e),'E','W',q);
var kmpx=111.195/s,km=nice(120*kmpx),px=km/kmpx;
document.getElementById('scale-bar').setAttribute('x2',String(16+px));
document.getElementById('scale-label').textContent=km>=1?km+' km':Math.round(km*1000)+' m';
var labels=document.querySelectorAll('#map-labels text');
for(var i=0;i<labels.length;i++){var t=labels[i],x=tx+s*k*(+t.dataset.x),r=x>W-LABEL;
t.setAttribute('x',String(r?x-6:x+6));t.setAttribute('text-anchor',r?'end':'start');
t.setAttribute('y',String(ty+s*(+t.dataset.y)-6));}
svg.dataset.view=[s,tx,ty].join(' ');}
function zoom(f,px,py){var ns=Math.min(MAX,Math.max(MIN,s*f));f=ns/s;tx=px-(px-tx)*f;ty=py-(py-ty)*f;s=ns;draw();}
function at(ev){var r=svg.getBoundingClientRect();return [(ev.clientX-r.left)*W/r.width,(ev.clientY-r.top)*H/r.height];}
svg.addEventListener('wheel',function(ev){ev.preventDefault();var p=at(ev);zoom(Math.exp(-ev.deltaY*0.0015),p[0],p[1]);},
{passive:false});
var drag=null;
svg.addEventListener('pointerdown',function(ev){drag=at(ev);svg.setPointerCapture(ev.pointerId);});
svg.addEventListener('pointermove',function(ev){if(!drag)return;var p=at(ev);tx+=p[0]-drag[0];ty+=p[1]-drag[1];drag=p;draw();});
svg.addEventListener('pointerup',function(){drag=null;});
document.getElementById('zoom-in').addEventListener('click',function(){zoom(2,W/2,H/2);});
document.getElementById('zoom-out').addEventListener('click',function(){zoom(0.5,W/2,H/2);});
document.getElementById('zoom-reset').addEventListener('click',function(){s=home[0];tx=home[1];ty=home[2];draw();});
draw();})();"""
SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


@dataclass(frozen=True)
class Line:
    """Data that left ``vehicle`` at (lat, lon) for ``country``: ``episodes`` of them."""

    vehicle: str
    lat: float
    lon: float
    country: str
    episodes: int
    concern: bool


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    lane: str  # the category's colour class
    label: str  # the tooltip: category and time


@lru_cache(maxsize=1)
def _countries() -> dict[str, list[list[float]]]:
    text = resources.files("monitor.policy").joinpath("data/country-shapes.json").read_text()
    return json.loads(text)["countries"]


@lru_cache(maxsize=1)
def country_points() -> dict[str, tuple[float, float]]:
    """Each country's (lat, lon) to draw a line to: the area centroid of its largest ring."""
    out = {}
    for code, rings in _countries().items():
        best = max(rings, key=lambda ring: abs(_area(ring)[0]))
        area, cx, cy = _area(best)
        out[code] = (cy, cx) if area else (best[1], best[0])
    return out


def _area(flat: list[float]) -> tuple[float, float, float]:
    """(signed area, centroid x, centroid y) of a ring given as x0, y0, x1, y1, ..."""
    xs, ys = flat[0::2], flat[1::2]
    a = cx = cy = 0.0
    for i in range(len(xs)):
        j = (i + 1) % len(xs)
        cross = xs[i] * ys[j] - xs[j] * ys[i]
        a, cx, cy = a + cross, cx + (xs[i] + xs[j]) * cross, cy + (ys[i] + ys[j]) * cross
    if abs(a) < 1e-12:
        return 0.0, 0.0, 0.0
    return a / 2, cx / (3 * a), cy / (3 * a)


@lru_cache(maxsize=1)
def basemap() -> Markup:
    """Every country as one path in scene degrees (two decimals: the 1:110m data has no more)."""
    paths = []
    for code, rings in sorted(_countries().items()):
        paths.append(el("path", class_="land", data_country=code, d=_rings(rings)))
    return el("g", join(paths), id="basemap")


def _rings(rings: list[list[float]]) -> str:
    return " ".join("M" + " ".join(f"{r[i]:.2f} {-r[i + 1]:.2f}" for i in range(0, len(r), 2)) + "Z" for r in rings)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def render_map(tracks: dict[str, list[tuple[float, float, float]]], points: list[Point], lines: list[Line],
               index_of: Callable[[str], int]) -> Markup:
    """The map of these tracks ((t, lat, lon) in time order, per vehicle), points and lines; a
    vehicle's colour is ``colour(index_of(vehicle))``, as in the timeline."""
    targets = {line.country: country_points()[line.country] for line in lines if line.country in country_points()}
    lats = [p[1] for t in tracks.values() for p in t] + [p.lat for p in points] + [ln.lat for ln in lines]
    lons = [p[2] for t in tracks.values() for p in t] + [p.lon for p in points] + [ln.lon for ln in lines]
    if not lats:
        return el("p", "No positions in these records.", class_="muted", id="map")
    west = geo.lon_span(lons + [c[1] for c in targets.values()])[0]
    x = lambda lon: float(geo.unwrap_lons(lon, west))
    view = _fit([*lats, *(c[0] for c in targets.values())], [x(v) for v in lons] + [x(c[1]) for c in targets.values()])
    scene = [basemap(), _copies(), _tinted(targets, lines), _lines(lines, targets, x, index_of), _tracks(tracks, x, index_of), _points(points, x)]
    overlay = [_labels(targets, lines, x, view), _scale(view), _bounds(view)]
    svg = el("svg", el("rect", class_="sea", width=WIDTH, height=HEIGHT),
             el("g", join(scene), id="map-scene", transform=_transform(view)), join(overlay),
             id="map", viewBox=f"0 0 {WIDTH} {HEIGHT}", width=WIDTH, height=HEIGHT, xmlns="http://www.w3.org/2000/svg",
             data_width=WIDTH, data_height=HEIGHT, data_k=number(view.k, ".6f"), data_s=number(view.s, ".6f"),
             data_tx=number(view.tx, ".3f"), data_ty=number(view.ty, ".3f"), data_max=number(MAX_SCALE), data_label=LABEL_PX)
    vehicles = sorted({*tracks, *(ln.vehicle for ln in lines)}, key=index_of)
    return join([_controls(), svg, _legend(vehicles, index_of)])


@dataclass(frozen=True)
class View:
    k: float  # cos(standard parallel): x is scaled by it
    s: float  # pixels per degree of latitude
    tx: float
    ty: float


def _fit(lats: list[float], xs: list[float]) -> View:
    south, north, left, right = min(lats), max(lats), min(xs), max(xs)
    k = max(math.cos(math.radians((south + north) / 2)), 0.2)
    width, height = max((right - left) * 1.2, MIN_SPAN), max((north - south) * 1.2, MIN_SPAN)
    s = min(WIDTH / (width * k), HEIGHT / height, MAX_SCALE)
    return View(k, s, WIDTH / 2 - s * k * (left + right) / 2, HEIGHT / 2 + s * (south + north) / 2)


def _transform(v: View) -> str:
    return f"translate({v.tx:.3f} {v.ty:.3f}) scale({v.s * v.k:.6f} {v.s:.6f})"


def _copies() -> Markup:
    """The basemap again 360 degrees west and east: under a track that runs past 180. Written
    as a constant (markup.el writes no href): a same-document fragment, nothing to fetch."""
    return join(Markup(f'<use href="#basemap" transform="translate({shift} 0)"></use>') for shift in (-360, 360))


def _tinted(targets: dict, lines: list[Line]) -> Markup:
    concern = {ln.country for ln in lines if ln.concern}
    rings = _countries()
    return join(el("path", class_="dest-country concern" if code in concern else "dest-country", data_country=code,
                   d=_rings(rings[code]))
                for code in sorted(targets))


def _lines(lines: list[Line], targets: dict, x, index_of) -> Markup:
    out = []
    for ln in lines:
        if ln.country not in targets:
            continue
        lat, lon = targets[ln.country]
        ox = x(ln.lon)
        cx = x(lon)
        cx += 360 * round((ox - cx) / 360)  # the copy nearest the origin: the short way round
        stroke = CONCERN if ln.concern else colour(index_of(ln.vehicle))
        out.append(el("path", el("title", f"{ln.vehicle} -> {ln.country}: ", number(ln.episodes), " episode(s)"),
                      class_="dest-line concern" if ln.concern else "dest-line", data_vehicle=ln.vehicle,
                      data_country=ln.country, data_concern="yes" if ln.concern else None, stroke=stroke,
                      d=f"M{number(ox, '.5f')} {number(-ln.lat, '.5f')} L{number(cx, '.3f')} {number(-lat, '.3f')}"))
        out.append(el("path", class_="dest-point concern" if ln.concern else "dest-point", data_country=ln.country,
                      d=f"M{number(cx, '.3f')} {number(-lat, '.3f')}h0"))
    return el("g", join(out), id="map-lines")


def _tracks(tracks: dict, x, index_of) -> Markup:
    out = []
    for vehicle, track in tracks.items():
        d = "M" + " L".join(f"{number(x(lon), '.5f')} {number(-lat, '.5f')}" for _, lat, lon in track)
        if len(track) == 1:
            d += "h0"
        out.append(el("g", el("title", vehicle), el("path", d=d, stroke=colour(index_of(vehicle))), class_="track", data_vehicle=vehicle))
    return el("g", join(out), id="map-tracks")


def _points(points: list[Point], x) -> Markup:
    return el("g", join(el("path", el("title", p.label), class_=f"pt k-{p.lane}", data_category=p.lane,
                           d=f"M{number(x(p.lon), '.5f')} {number(-p.lat, '.5f')}h0") for p in points), id="map-points")


def _labels(targets: dict, lines: list[Line], x, v: View) -> Markup:
    concern = {ln.country for ln in lines if ln.concern}
    out = []
    for code, (lat, lon) in sorted(targets.items()):
        origin = next(x(ln.lon) for ln in lines if ln.country == code)
        cx = x(lon) + 360 * round((origin - x(lon)) / 360)
        px = v.tx + v.s * v.k * cx
        right = px > WIDTH - LABEL_PX
        out.append(el("text", code, " (country of concern)" if code in concern else "",
                      class_="country-label concern" if code in concern else "country-label", data_country=code,
                      data_x=number(cx, ".3f"), data_y=number(-lat, ".3f"), text_anchor="end" if right else "start",
                      x=number(px - 6 if right else px + 6, ".1f"), y=number(v.ty - v.s * lat - 6, ".1f")))
    return el("g", join(out), id="map-labels")


def _scale(v: View) -> Markup:
    km_per_px = KM_PER_DEGREE / v.s
    km = _nice(120 * km_per_px)
    label = f"{km:g} km" if km >= 1 else f"{round(km * 1000)} m"
    return el("g", el("line", id="scale-bar", x1=16, x2=number(16 + km / km_per_px, ".1f"), y1=HEIGHT - 16, y2=HEIGHT - 16),
              el("text", label, id="scale-label", x=16, y=HEIGHT - 22), class_="scale")


def _nice(km: float) -> float:
    power = 10 ** math.floor(math.log10(km))
    return next((m * power for m in (5, 2, 1) if m * power <= km), power)


def _bounds(v: View) -> Markup:
    west, east = -v.tx / (v.s * v.k), (WIDTH - v.tx) / (v.s * v.k)
    north, south = min(v.ty / v.s, 90.0), max((v.ty - HEIGHT) / v.s, -90.0)
    places = 4 if v.s > 5000 else 2 if v.s > 50 else 1
    text = (f"{degrees(south, 'NS', places)} .. {degrees(north, 'NS', places)}, "
            f"{degrees(float(geo.wrap_lon(west)), 'EW', places)} .. {degrees(float(geo.wrap_lon(east)), 'EW', places)}")
    return el("text", text, id="map-bounds", x=WIDTH - 8, y=16, text_anchor="end")


def degrees(value: float, hemispheres: str, places: int = 5) -> str:
    """48.13715° N, 76.44000° W: the sign as a hemisphere letter, never -11.8 N."""
    return f"{abs(value):.{places}f}\u00b0 {hemispheres[0] if value >= 0 else hemispheres[1]}"


def _controls() -> Markup:
    buttons = [el("button", text, type="button", id=ident, title=tip) for text, ident, tip in
               (("+", "zoom-in", "zoom in"), ("\u2212", "zoom-out", "zoom out"), ("reset", "zoom-reset", "the first view"))]
    return el("div", join(buttons), el("span", " wheel to zoom, drag to pan", class_="muted"), class_="map-controls")


def _legend(vehicles: list[str], index_of) -> Markup:
    items = [el("span", el("span", class_=f"swatch v-{index_of(vehicle) % len(PALETTE)}"), vehicle, class_="legend-item",
                data_vehicle=vehicle) for vehicle in vehicles]
    concern = el("span", el("span", class_="swatch concern-swatch"), "line to a country of concern", class_="legend-item")
    return el("div", join(items), concern, class_="legend", id="map-legend")


#: The classes the map's elements use, for the page's one style sheet.
CSS = (".sea{fill:#eef3f7} .land{fill:#e4e4dc;stroke:#b8b8b0;stroke-width:0.6px;vector-effect:non-scaling-stroke}\n"
       ".dest-country{fill:#d9e6f5} .dest-country.concern{fill:#f6d0d0}\n"
       ".track path{fill:none;stroke-width:2.5px;stroke-linejoin:round;stroke-linecap:round;vector-effect:non-scaling-stroke}\n"
       ".dest-line{fill:none;stroke-width:1.5px;stroke-dasharray:6 4;vector-effect:non-scaling-stroke;opacity:.8}\n"
       ".dest-line.concern{stroke-width:2px}\n"
       ".pt,.dest-point{fill:none;stroke-width:9px;stroke-linecap:round;vector-effect:non-scaling-stroke}\n"
       ".dest-point{stroke:#333;stroke-width:7px} .dest-point.concern{stroke:" + CONCERN + "}\n"
       ".country-label{font-size:12px;fill:#333} .country-label.concern{fill:" + CONCERN + ";font-weight:bold}\n"
       "#map-bounds{font-size:11px;fill:#555} .scale line{stroke:#222;stroke-width:3px} .scale text{font-size:11px}\n"
       "#map{cursor:grab;touch-action:none} .map-controls button{margin-right:4px;min-width:32px}\n"
       ".concern-swatch{background:" + CONCERN + "}\n"
       + "".join(f".v-{i}{{background:{c}}}\n" for i, c in enumerate(PALETTE)))
