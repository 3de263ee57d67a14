"""``make score``'s generated drives: one folder per seed with a random vehicle's DBC,
its configuration, the CAN log and uplink capture of a drive of ten minutes or more, and the
episodes it holds (``truth.json``). The same seed gives the same drive, byte for byte."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import yaml

from monitor.canbus.dbc import load_dbc
from monitor.testing.episodes import Drive, Episode, beacon, mapping, mapping_beside_video, plaintext, taint, video, vin_leak
from monitor.testing.episodes_remote import (
    api_calls,
    doip_session,
    downlink,
    fleet_telemetry,
    inbound_shell,
    ntp,
    software_download,
)
from monitor.testing.scene import Capture
from monitor.testing.vehicle import PROFILES, can_log, draw_layout, random_vin, route

# The speed profile of seed s is PROFILE_CYCLE[(s - 1) % 6]: seeds 1-4 hold every profile, and any
# six seeds in a row half constant speed, half the others (20 seeds: 10 constant, 10 others).
PROFILE_CYCLE = ("constant", "stop-and-go", "city", "motorway", "constant", "constant")
assert set(PROFILE_CYCLE) == set(PROFILES)
LEARN_S = 60  # the CAN rules learn each drive's bus for its first minute
PROTOCOLS = ("jt808", "gbt32960", "teltonika", "gt06", "queclink", "taip", "osmand", "nmea")
TAINT_ENCODINGS = ("text", "nmea", "int32", "float32-le", "float32-be", "float64-le", "float64-be")
EPISODES: dict[str, Callable[[Drive], Episode]] = {
    "video": video, "beacon": beacon, "mapping:distance": mapping("distance"), "mapping:time": mapping("time"),
    "mapping:video-destination": mapping_beside_video,  # after video: uploads to its destination
    **{f"taint:{encoding}": taint(encoding) for encoding in TAINT_ENCODINGS},
    "vin": vin_leak,
    **{f"plaintext:{protocol}": plaintext(protocol) for protocol in PROTOCOLS},
    **{f"remote:{protocol}": downlink(protocol) for protocol in ("jt808", "teltonika", "gt06", "gbt32960")},
    "remote:doip": doip_session, "remote:shell": inbound_shell,
    "benign:fleet-telemetry": fleet_telemetry, "benign:ntp": ntp, "benign:download": software_download,
    "benign:api": api_calls,
}
RULES = [{"id": "fleet-backend", "category": "any", "to": "fleet", "action": "allow"},
         {"id": "geolocation-elsewhere", "category": "geolocation", "action": "alert"},
         {"id": "video-elsewhere", "category": "video", "action": "alert"},
         {"id": "mapping-elsewhere", "category": "mapping", "action": "alert"},
         {"id": "remote-access", "category": "remote", "action": "alert"},
         {"id": "unlisted-destinations", "category": "unknown", "action": "allow"}]


class Masquerade:
    """The wheel speeds forged for 20-40 s while the vehicle moves (after the CAN rules learned
    the bus): all four wheels at zero, or at half or one and a half times the true speed."""

    def __init__(self, start: float, end: float, factor: float, t0: float) -> None:
        self.forged = (start, end, factor)
        self.episode = Episode("can:masquerade", "can", "can0", 0, t0 + start, end=t0 + end + 5)


def profile_of(seed: int) -> str:
    return PROFILE_CYCLE[(seed - 1) % len(PROFILE_CYCLE)]


def wheel_masquerade(rng: random.Random, track) -> Masquerade:
    seconds = float(track.ts[-1] - track.ts[0])
    best = (-1.0, 0.0, 0.0)
    for _ in range(100):  # a stretch where the vehicle moves at 30 km/h or more throughout
        start, length = rng.uniform(LEARN_S + 30, seconds - 60), rng.uniform(20, 40)
        i, j = int(start * 10), int((start + length) * 10)
        best = max(best, (float(track.speed_kmh[i:j].min()), start, length))
        if best[0] >= 30:
            break
    _, start, length = best  # in the city, the stretch of the most speed
    return Masquerade(start, start + length, rng.choice((0.0, 0.5, 1.5)), float(track.ts[0]))


def generate(seed: int, folder: Path, seconds: int = 600, start: tuple[float, float] | None = None) -> list[Episode]:
    """Write the drive of ``seed`` into ``folder``, from ``start`` (lat, lon) or the seed's own
    random start; returns its episodes."""
    if seconds < 600:
        raise ValueError(f"a generated drive lasts ten minutes or more, not {seconds} s")
    rng = random.Random(seed)
    t0 = 1_704_067_200.0 + round(rng.uniform(0, 2 * 365 * 86400))  # some time in 2024-2025
    track = route(rng, seconds, t0, start=start, profile=profile_of(seed))
    on = rng.uniform(60, seconds - 200)
    camera = (on, on + rng.uniform(45, 120))
    vin, layout = random_vin(rng), draw_layout(rng)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vehicle.dbc").write_text(layout.dbc)
    db = load_dbc(folder / "vehicle.dbc")
    masquerade = wheel_masquerade(rng, track)
    can_log(layout, db, track, camera, vin, rng, forged=masquerade.forged).write(folder / "can.log")
    drive = Drive(track, Capture(), rng, vin, camera, "")
    drive.fleet_domain = drive.hostname().split(".", 1)[1]
    episodes = [build(drive) for build in EPISODES.values()] + [masquerade.episode]
    drive.cap.write(folder / "capture.pcap")
    config = {"version": 1, "dbc": ["vehicle.dbc"], "signals": layout.signals,
              "destinations": {"fleet": {"domains": [f"*.{drive.fleet_domain}"]}},
              "rules": RULES, "default": "alert", "alerts": {"vehicle_id": f"generated-{seed}"},
              "detectors": {"can": {"learn_s": LEARN_S}}}  # the CAN rules learn the bus for a minute
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    truth = {"seed": seed, "profile": profile_of(seed), "episodes": [asdict(e) for e in episodes]}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return episodes
