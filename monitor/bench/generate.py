"""``gatewatch bench detect``'s generated drives: one folder per seed with a random vehicle's DBC,
its configuration, the CAN log and uplink capture of a drive of ten minutes or more, and the
episodes it holds (``truth.json``). The same seed gives the same drive, byte for byte."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import yaml

from ..canbus.dbc import load_dbc
from .episodes import Drive, Episode, beacon, mapping, plaintext, taint, video, vin_leak
from .episodes_remote import (
    api_calls,
    doip_session,
    downlink,
    fleet_telemetry,
    inbound_shell,
    ntp,
    software_download,
)
from .scene import Capture
from .vehicle import can_log, draw_layout, random_vin, route

PROTOCOLS = ("jt808", "gbt32960", "teltonika", "gt06", "queclink", "taip", "osmand", "nmea")
TAINT_ENCODINGS = ("text", "nmea", "int32", "float32-le", "float32-be", "float64-le", "float64-be")
EPISODES: dict[str, Callable[[Drive], Episode]] = {
    "video": video, "beacon": beacon, "mapping": mapping,
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


def generate(seed: int, folder: Path, seconds: int = 600) -> list[Episode]:
    """Write the drive of ``seed`` into ``folder``; returns its episodes."""
    if seconds < 600:
        raise ValueError(f"a generated drive lasts ten minutes or more, not {seconds} s")
    rng = random.Random(seed)
    t0 = 1_704_067_200.0 + round(rng.uniform(0, 2 * 365 * 86400))  # some time in 2024-2025
    track = route(rng, seconds, t0)
    on = rng.uniform(60, seconds - 200)
    camera = (on, on + rng.uniform(45, 120))
    vin, layout = random_vin(rng), draw_layout(rng)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vehicle.dbc").write_text(layout.dbc)
    db = load_dbc(folder / "vehicle.dbc")
    can_log(layout, db, track, camera, vin, rng).write(folder / "can.log")
    drive = Drive(track, Capture(), rng, vin, camera, "")
    drive.fleet_domain = drive.hostname().split(".", 1)[1]
    episodes = [build(drive) for build in EPISODES.values()]
    drive.cap.write(folder / "capture.pcap")
    config = {"version": 1, "dbc": ["vehicle.dbc"], "signals": layout.signals,
              "destinations": {"fleet": {"domains": [f"*.{drive.fleet_domain}"]}},
              "rules": RULES, "default": "alert", "alerts": {"vehicle_id": f"generated-{seed}"},
              "detectors": {"can": {"learn_s": 60}}}  # the CAN rules learn the bus: nothing on it is an attack
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (folder / "truth.json").write_text(json.dumps([asdict(e) for e in episodes], indent=1))
    return episodes
