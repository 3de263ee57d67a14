"""The ``alerts`` section: the vehicle's identity in the alert log and how the log is kept.

    alerts:
      vehicle_id: fleet-0042       # in every record and file name (default: this host's name)
      vehicle_model: ID.4 2024     # in every record: fleet questions compare detectors across models
      vehicle_country: US          # where the vehicle is registered (ISO 3166-1 alpha-2): regulatory tags
      position_decimals: 3         # round every position in the log (default: full precision)
      episode_quiet_s: 300         # an episode without hits this long (data time) is closed
      track_points: 256            # positions per record; a full track is written as an Update
      rotate_mb: 64                # start a new file past this size ...
      rotate_hours: 24             # ... or this age
      keep_files: 30               # delete the oldest files beyond this many (counted)
      fsync: always                # or milliseconds between syncs
      backlog: 10000               # records kept in memory while the disk is full (oldest dropped past it, counted)
      hmac_key_file: alert.key     # chain with HMAC-SHA-256 under this key instead of SHA-256
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..errors import PolicyError
from .yamlfile import Located, child, existing_file, known_keys

#: A key file holds a key, not a document: 4 KiB is far past any key and stops a wrong path
#: (a 4 GB image, /dev/zero) from being read into memory. alerts/chain.py reads keys within it.
MAX_KEY_BYTES = 4096

KEYS = ("vehicle_id", "vehicle_model", "vehicle_country", "position_decimals", "episode_quiet_s", "track_points",
        "rotate_mb", "rotate_hours", "keep_files", "fsync", "backlog", "hmac_key_file")


@dataclass(frozen=True)
class AlertSettings:
    vehicle_id: str = ""
    vehicle_model: str = ""
    vehicle_country: str | None = None  # policy/regulatory.py: whose rules follow the vehicle
    position_decimals: int | None = None
    episode_quiet_s: float = 300.0
    track_points: int = 256
    rotate_mb: float = 64.0
    rotate_hours: float = 24.0
    keep_files: int = 30
    fsync: str | float = "always"
    backlog: int = 10_000
    hmac_key_file: str | None = None

    def vehicle(self) -> str:
        return self.vehicle_id or socket.gethostname() or "vehicle"


def load_alerts(doc: Located, config_path: Path) -> AlertSettings:
    node = child(doc, "alerts", Located, "a mapping")
    known_keys(node, KEYS, "alerts")
    values: dict = {}
    if "vehicle_id" in node:
        if not isinstance(node["vehicle_id"], str) or not node["vehicle_id"].strip():
            raise PolicyError(f"{node.at('vehicle_id')}: vehicle_id must be a non-empty string")
        values["vehicle_id"] = node["vehicle_id"].strip()
    if "vehicle_model" in node:
        if not isinstance(node["vehicle_model"], str) or not node["vehicle_model"].strip():
            raise PolicyError(f"{node.at('vehicle_model')}: vehicle_model must be a non-empty string")
        values["vehicle_model"] = node["vehicle_model"].strip()
    if "vehicle_country" in node:
        country = node["vehicle_country"]
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise PolicyError(f"{node.at('vehicle_country')}: vehicle_country must be an ISO 3166-1 alpha-2 code, not {country!r}")
        values["vehicle_country"] = country.upper()
    if node.get("position_decimals") is not None:
        values["position_decimals"] = _number(node, "position_decimals", int, 0, 7)
    for key, kind, least, most in (("episode_quiet_s", float, 1, 86400 * 30), ("track_points", int, 1, 100_000),
                                   ("rotate_mb", float, 0.001, 1 << 20), ("rotate_hours", float, 0.001, 24 * 366),
                                   ("keep_files", int, 1, 1 << 20), ("backlog", int, 1, 1_000_000)):
        if key in node:
            values[key] = _number(node, key, kind, least, most)
    if "fsync" in node:
        value = node["fsync"]
        if value != "always" and (not isinstance(value, int | float) or isinstance(value, bool) or value <= 0):
            raise PolicyError(f"{node.at('fsync')}: fsync must be 'always' or milliseconds between syncs, not {value!r}")
        values["fsync"] = value if value == "always" else float(value)
    if "hmac_key_file" in node:
        values["hmac_key_file"] = _key_file(node, config_path)
    return AlertSettings(**values)


def _key_file(node: Located, config_path: Path) -> str:
    """The key file, checked here so a wrong path (a disk image, a log) is an error at its line,
    never read into memory: a key file holds at most MAX_KEY_BYTES."""
    path = existing_file(node, "hmac_key_file", config_path, "HMAC key file")
    try:
        size = os.stat(path).st_size
    except OSError as error:
        raise PolicyError(f"{node.at('hmac_key_file')}: HMAC key file {path!r}: {error.strerror or error}") from None
    if size > MAX_KEY_BYTES:
        raise PolicyError(f"{node.at('hmac_key_file')}: HMAC key file {path!r} is {size} bytes; "
                          f"a key file holds at most {MAX_KEY_BYTES}")
    return path


def _number(node: Located, key: str, kind: type, least: float, most: float):
    value = node[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and least <= value <= most
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok:
        raise PolicyError(f"{node.at(key)}: {key} must be a {'whole ' if kind is int else ''}number from {least} to {most}, not {value!r}")
    return kind(value)
