"""A random vehicle for the detection benchmark's generated drives: a route anywhere on Earth
in one of four speed profiles (constant, stop-and-go, city, motorway), a DBC whose ids, names
and layouts are drawn per seed (byte order, scaling, offset, one or two position messages,
odometer or not, speed in km/h or m/s),
the configuration that maps those names onto the signals gatewatch knows, and the CAN log of
the drive. Nothing here is tuned to the detectors: the monitor only learns the layout from the
DBC and the signal map, as on a real vehicle.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

import cantools
import numpy as np

from ..detect.geo import normalize
from .scene import CanLog, Track

FILLER_UNITS = ("V", "A", "%", "degC", "rpm", "bar", "km/h")
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
              **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
              **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def random_vin(rng: random.Random) -> str:
    """17 characters with a valid ISO 3779 / FMVSS 115 check digit in position 9."""
    chars = [rng.choice(VIN_ALPHABET) for _ in range(17)]
    total = sum(VIN_VALUES[c] * w for c, w in zip(chars, VIN_WEIGHTS, strict=True))
    chars[8] = "X" if total % 11 == 10 else str(total % 11)
    return "".join(chars)


PROFILES = ("constant", "stop-and-go", "city", "motorway")


def _targets_stop_and_go(rng: random.Random, seconds: int, hz: int) -> np.ndarray:
    """Speed changes every 20-90 s (15-110 km/h), two or three stops of 25-80 s."""
    n = seconds * hz
    target = np.empty(n)
    at = 0
    while at < n:
        length = int(rng.uniform(20, 90) * hz)
        target[at : at + length] = rng.uniform(15, 110)
        at += length
    for k in range(rng.randint(2, 3)):
        stop = int((seconds * (k + 1) / 4 + rng.uniform(-30, 30)) * hz)
        target[stop : stop + int(rng.uniform(25, 80) * hz)] = 0.0
    return target


def _targets_changing(rng: random.Random, seconds: int, hz: int, every: tuple[float, float],
                      kmh: tuple[float, float], stops_every: tuple[float, float] | None) -> np.ndarray:
    """A new speed in ``kmh`` every ``every`` s; a stop of 10-60 s every ``stops_every`` s."""
    n = seconds * hz
    target, at = np.empty(n), 0
    while at < n:
        length = int(rng.uniform(*every) * hz)
        target[at : at + length] = rng.uniform(*kmh)
        at += length
    at = int(rng.uniform(*stops_every) * hz) if stops_every else n
    while at < n:
        length = int(rng.uniform(10, 60) * hz)
        target[at : at + length] = 0.0
        at += length + int(rng.uniform(*stops_every) * hz)
    return target


def _speeds(rng: random.Random, profile: str, seconds: int, hz: int) -> np.ndarray:
    """The speed profile, km/h per sample, at most 2.5 m/s^2 of acceleration. Constant speed and
    the motorway start already moving (the recording begins on the road); cruise control holds
    the constant speed within a few tenths of a km/h."""
    n = seconds * hz
    if profile == "stop-and-go":
        target, current = _targets_stop_and_go(rng, seconds, hz), 0.0
    elif profile == "constant":
        cruise = rng.uniform(50, 120)
        return cruise + np.random.default_rng(rng.getrandbits(32)).normal(0, 0.2, n)
    elif profile == "city":
        target, current = _targets_changing(rng, seconds, hz, (10, 40), (10, 50), (40, 120)), 0.0
    elif profile == "motorway":
        target = _targets_changing(rng, seconds, hz, (60, 200), (90, 130), None)
        current = float(target[0])
    else:
        raise ValueError(f"unknown drive profile {profile!r}: one of {', '.join(PROFILES)}")
    speed = np.empty(n)
    step = 9.0 / hz  # 2.5 m/s^2 is 9 km/h per second
    for i in range(n):
        current += float(np.clip(target[i] - current, -step, step))
        speed[i] = current
    return speed


def route(rng: random.Random, seconds: int, t0: float, hz: int = 10, start: tuple[float, float] | None = None,
          profile: str = "stop-and-go") -> Track:
    """A drive of ``profile`` (PROFILES: one speed held all drive; speed changes with two or three
    stops; slow city driving with frequent stops; motorway), a wandering heading, from ``start``
    (lat, lon) or a random start between 55 S and 65 N. Steps past a pole come back down the other
    side; longitude wraps at the antimeridian. Stop-and-go draws as this function always did."""
    n = seconds * hz
    speed = _speeds(rng, profile, seconds, hz)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(np.random.default_rng(rng.getrandbits(32)).normal(0, 0.01, n))
    metres = speed / 3.6 / hz
    lat0, lon0 = rng.uniform(-55, 65), rng.uniform(-179, 175)  # drawn either way: the rest of the drive stays the seed's
    if start is not None:
        lat0, lon0 = start
    lat = lat0 + np.cumsum(metres * np.cos(heading)) / 111_320
    lon = lon0 + np.cumsum(metres * np.sin(heading) / (111_320 * np.maximum(np.abs(np.cos(np.radians(lat))), 1e-3)))
    lat, lon = normalize(lat, lon)
    odometer = rng.uniform(1_000, 200_000) + np.cumsum(metres) / 1000
    return Track(t0 + np.arange(n) / hz, speed, lat, lon, odometer)


@dataclass
class Layout:
    """The drawn DBC: its text, and the configuration lines that map it."""
    dbc: str
    signals: dict  # VSS name -> list of mapping entries
    position: list = field(default_factory=list)  # (message name, {signal: "lat"|"lon"})
    motion: tuple = ()  # (message name, speed signal, speed scale to km/h, odometer signal or None)
    wheels: tuple = ()  # (message name, four wheel-speed signals in the speed's unit, each wheel's factor)
    sensors: tuple = ()  # (message name, camera signal)
    vin: tuple = ()  # (message name, index signal)
    fillers: list = field(default_factory=list)  # (message name, cycle ms)
    cycles: dict = field(default_factory=dict)  # message name -> cycle ms


def _name(rng: random.Random, prefix: str = "") -> str:
    word = rng.choice(string.ascii_uppercase) + "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 6)))
    return f"{prefix}{word}{rng.randint(0, 99)}"


def _signal(name: str, start: int, length: int, big_endian: bool, signed: bool, scale: float, offset: float,
            lo: float, hi: float, unit: str = "") -> str:
    order = "0" if big_endian else "1"
    sign = "-" if signed else "+"
    return f" SG_ {name} : {start}|{length}@{order}{sign} ({scale:.10g},{offset:.10g}) [{lo:.10g}|{hi:.10g}] \"{unit}\" TCU\n"


def _start(byte: int, length: int, big_endian: bool) -> int:
    """The DBC start bit of a byte-aligned field: its LSB (Intel) or its MSB (Motorola)."""
    return byte * 8 + 7 if big_endian else byte * 8


def draw_layout(rng: random.Random) -> Layout:
    ids = iter(rng.sample(range(0x100, 0x6FF), 16))
    text, cycles = [], {}
    signals: dict = {"Vehicle.CurrentLocation.Latitude": [], "Vehicle.CurrentLocation.Longitude": []}
    layout = Layout("", signals)

    def message(name: str, size: int, body: str, cycle: int) -> None:
        frame_id = next(ids)
        text.append(f"BO_ {frame_id} {name}: {size} GW\n{body}\n")
        cycles[name] = (frame_id, cycle)

    coords = ("lat", "lon") if rng.random() < 0.5 else ("lon", "lat")
    split = rng.random() < 0.3  # latitude and longitude in two messages
    big = rng.random() < 0.5
    scale, unsigned = rng.choice((1e-7, 1e-6)), rng.random() < 0.3
    groups = [[coords[0]], [coords[1]]] if split else [list(coords)]
    for group in groups:
        name, body, names = _name(rng, "Pos"), "", {}
        for slot, coord in enumerate(group):
            sig = _name(rng)
            limit = 90 if coord == "lat" else 180
            offset = -limit if unsigned else 0.0
            body += _signal(sig, _start(4 * slot, 32, big), 32, big, not unsigned, scale, offset, -limit, limit, "deg")
            names[sig] = coord
            key = "Latitude" if coord == "lat" else "Longitude"
            signals[f"Vehicle.CurrentLocation.{key}"].append({"signal": f"{name}.{sig}"})
        message(name, 8, body, 100)
        layout.position.append((name, names))
    name, speed_sig, odo_sig = _name(rng, "Drv"), _name(rng), None
    in_ms = rng.random() < 0.4
    speed_scale = rng.choice((0.01, 0.05, 1 / 256)) if not in_ms else 0.01
    speed_unit, top = ("m/s", 120) if in_ms else ("km/h", 400)
    body = _signal(speed_sig, _start(0, 16, big), 16, big, False, speed_scale, 0, 0, top, speed_unit)
    signals["Vehicle.Speed"] = [{"signal": f"{name}.{speed_sig}", **({"transform": {"math": "x * 3.6"}} if in_ms else {})}]
    if rng.random() < 0.6:
        odo_sig = _name(rng)
        body += _signal(odo_sig, _start(4, 32, big), 32, big, False, 0.01, 0, 0, 40_000_000, "km")
        signals["Vehicle.TraveledDistance"] = [{"signal": f"{name}.{odo_sig}"}]
    message(name, 8, body, 100)
    layout.motion = (name, speed_sig, 3.6 if in_ms else 1.0, odo_sig)
    name, wheels = _name(rng, "Whl"), [_name(rng) for _ in range(4)]
    message(name, 8, "".join(_signal(w, _start(2 * k, 16, big), 16, big, False, speed_scale, 0, 0, top, speed_unit)
                             for k, w in enumerate(wheels)), rng.choice((20, 50)))
    layout.wheels = (name, wheels, [rng.uniform(0.98, 1.02) for _ in wheels])
    name, cam, bit = _name(rng, "Adas"), _name(rng), rng.randrange(0, 16)
    message(name, 2, _signal(cam, bit, 1, False, False, 1, 0, 0, 1), 200)
    signals["Vehicle.ADAS.Camera.IsActive"] = [
        {"signal": f"{name}.{cam}", "transform": {"mapping": [{"from": 0, "to": False}, {"from": 1, "to": True}]}}]
    layout.sensors = (name, cam)
    name, index = _name(rng, "Id"), _name(rng)
    body = f" SG_ {index} M : 0|8@1+ (1,0) [0|2] \"\" TCU\n" + "".join(
        f" SG_ {index}_C{k} m{k} : 8|56@1+ (1,0) [0|0] \"\" TCU\n" for k in range(3))
    message(name, 8, body, 1000)
    signals["Vehicle.VehicleIdentification.VIN"] = [{"vin": {"message": name, "index": index, "first_byte": 1, "chars_per_frame": 7}}]
    layout.vin = (name, index)
    for _ in range(rng.randint(2, 5)):
        name, cycle = _name(rng, "Ecu"), rng.choice((20, 50, 100, 200))
        body = "".join(_signal(_name(rng), 16 * k, 16, False, False, 0.1, 0, 0, 6553.5, rng.choice(FILLER_UNITS))
                       for k in range(rng.randint(1, 4)))
        message(name, 8, body, cycle)
        layout.fillers.append((name, cycle))
    cycle_lines = "".join(f'BA_ "GenMsgCycleTime" BO_ {frame_id} {cycle};\n' for frame_id, cycle in cycles.values())
    layout.dbc = ('VERSION "gatewatch bench generated"\n\nNS_ :\n\nBS_:\n\nBU_: GW TCU\n\n' + "".join(text)
                  + 'BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;\nBA_DEF_DEF_ "GenMsgCycleTime" 0;\n' + cycle_lines)
    layout.cycles = {name: cycle for name, (_, cycle) in cycles.items()}
    return layout


def can_log(layout: Layout, db: cantools.database.Database, track: Track, camera: tuple[float, float],
            vin: str, rng: random.Random, forged: tuple[float, float, float] | None = None) -> CanLog:
    """Every message at its cycle time with a little jitter, the signals following the track.
    ``forged`` (start s, end s, factor): a masquerade of the wheel speeds, which report the
    vehicle's speed times the factor in place of the genuine frames, at their times."""
    log, t0, end = CanLog(), float(track.ts[0]), float(track.ts[-1])

    def times(cycle_ms: int):
        phase = rng.uniform(0, cycle_ms / 1000)
        return np.arange(t0 + phase, end, cycle_ms / 1000)

    def add(name: str, t: float, values: dict) -> None:
        message = db.get_message_by_name(name)
        log.add(t + rng.uniform(0, 0.002), message.frame_id, message.encode(values))

    for name, roles in layout.position:
        for t in times(100).tolist():
            i = min(int((t - t0) * 10), len(track.ts) - 1)
            add(name, t, {sig: float(track.lat[i] if coord == "lat" else track.lon[i]) for sig, coord in roles.items()})
    name, speed, per_kmh, odometer = layout.motion
    for t in times(100).tolist():
        i = min(int((t - t0) * 10), len(track.ts) - 1)
        values = {speed: round(float(track.speed_kmh[i]) / per_kmh, 2)}
        if odometer:
            values[odometer] = round(float(track.odometer_km[i]), 2)
        add(name, t, values)
    name, wheels, factors = layout.wheels
    for t in times(layout.cycles[name]).tolist():
        i = min(int((t - t0) * 10), len(track.ts) - 1)
        speed = float(track.speed_kmh[i]) / per_kmh
        if forged and forged[0] <= t - t0 < forged[1]:
            factors_now = [forged[2]] * len(wheels)
        else:
            factors_now = factors
        add(name, t, {w: round(max(0.0, speed * f + rng.gauss(0, 0.05)), 2) for w, f in zip(wheels, factors_now, strict=True)})
    name, cam = layout.sensors
    for t in times(200).tolist():
        add(name, t, {cam: int(camera[0] <= t - t0 < camera[1])})
    name, index = layout.vin
    for t in times(1000).tolist():
        for k in range(3):
            add(name, t + 0.001 * k, {index: k, f"{index}_C{k}": int.from_bytes(vin[7 * k : 7 * k + 7].ljust(7, "\0").encode(), "little")})
    for name, cycle in layout.fillers:
        message = db.get_message_by_name(name)
        level = {s.name: rng.uniform(100, 6000) for s in message.signals}
        for t in times(cycle).tolist():
            level = {k: min(6553.0, max(0.0, v + rng.gauss(0, 5))) for k, v in level.items()}
            add(name, t, {k: round(v, 1) for k, v in level.items()})
    return log
