"""Load a configuration file: DBCs, the DBC -> VSS signal map, detector thresholds, and the
policy (mode, uplinks, destination sets, rules: see sections.py).

Unknown keys and wrong types stop start-up with ``file:line: what is wrong``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from ..errors import PolicyError
from ..resources import shipped
from . import model
from .sections import POLICY_KEYS, load_policy
from .yamlfile import Located, known_keys, load_yaml

DEFAULT = "policies/default.yaml"
TOP_KEYS = ("version", "extends", "dbc", "vehicle_networks", "signals", "detectors", *POLICY_KEYS)
MAX_EXTENDS = 4


def load_config(path: str | Path | None = None) -> model.Config:
    path = Path(path) if path else shipped(DEFAULT)
    doc = _with_base(load_yaml(path), path, MAX_EXTENDS)
    if "vehicle_networks" in doc:
        _vehicle_networks(doc)
    if doc.get("version", 1) != 1:
        raise PolicyError(f"{doc.at('version')}: unsupported version {doc['version']!r} (this gatewatch reads 1)")
    return model.Config(
        path=str(path),
        dbc=tuple(_dbc_paths(doc, path)),
        vehicle_networks=tuple(_strings(doc, "vehicle_networks")) if "vehicle_networks" in doc else None,
        signals=_signals(doc.get("signals") or Located(), doc),
        thresholds=_section(model.Thresholds, doc.get("detectors"), doc, "detectors"),
        policy=load_policy(doc, path),
    )


def _with_base(doc: Located, path: Path, depth: int) -> Located:
    """``extends: default.yaml``: top-level keys this file does not set come from that file
    (found next to this one, then among the shipped policies)."""
    known_keys(doc, TOP_KEYS, "the top level")
    if "extends" not in doc:
        return doc
    name = doc["extends"]
    candidates = [path.parent / str(name), shipped("policies") / str(name)]
    base_path = next((c for c in candidates if c.is_file()), None)
    if not isinstance(name, str) or base_path is None:
        raise PolicyError(f"{doc.at('extends')}: extends {name!r}: no such policy next to {path} or shipped")
    if depth == 0:
        raise PolicyError(f"{doc.at('extends')}: extends chains deeper than {MAX_EXTENDS} files (a loop?)")
    merged = _with_base(load_yaml(base_path), base_path, depth - 1)
    merged.pop("extends", None)
    for key, value in doc.items():
        if key != "extends":
            merged[key] = value
            merged.marks[key] = doc.marks[key]
            merged.key_paths[key] = doc.path
    return merged


def _strings(doc: Located, key: str) -> list[str]:
    value = doc[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{doc.at(key)}: {key} must be a list of strings")
    return value


def _vehicle_networks(doc: Located) -> None:
    items = doc["vehicle_networks"]
    for i, value in enumerate(items if isinstance(items, list) else []):
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError as error:
            raise PolicyError(f"{items.at(i)}: vehicle network {value!r} is not a CIDR: {error}") from None


def _dbc_paths(doc: Located, config_path: Path) -> list[str]:
    """DBC paths relative to the config file, then to the gatewatch install."""
    out = []
    for name in _strings(doc, "dbc") if "dbc" in doc else []:
        candidates = [config_path.parent / name, config_path.parent.parent / name, shipped(name)]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise PolicyError(f"{doc.at('dbc')}: DBC file {name!r} not found next to {config_path} or in gatewatch")
        out.append(str(found))
    return out


def _section(cls, node, parent: Located, key: str):
    """Build a frozen dataclass from a mapping, checking names and types."""
    if node is None:
        return cls()
    if not isinstance(node, Located):
        raise PolicyError(f"{parent.at(key)}: {key} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    known_keys(node, tuple(fields), key)
    values = {}
    for name, value in node.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            values[name] = _section(type(default), value, node, name)
        else:
            values[name] = _typed(value, default, node, name)
    return cls(**values)


def _typed(value, default, node: Located, key: str):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        value = type(default)(value) if ok and not (isinstance(default, int) and value != int(value)) else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list)
        value = tuple(value) if ok else value
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
        value = dict(value) if ok else value
    else:
        ok = True
    if not ok:
        raise PolicyError(f"{node.at(key)}: {key} must be {type(default).__name__} (non-negative), not {value!r}")
    return value


def _signals(node: Located, doc: Located) -> dict:
    if not isinstance(node, Located):
        raise PolicyError(f"{doc.at('signals')}: signals must map VSS names to lists of sources")
    out = {}
    for vss, sources in node.items():
        if not isinstance(vss, str) or not vss.startswith("Vehicle."):
            raise PolicyError(f"{node.at(vss)}: {vss!r} is not a VSS signal name (Vehicle.…)")
        if not isinstance(sources, list) or not sources:
            raise PolicyError(f"{node.at(vss)}: {vss} needs a list of sources")
        out[vss] = tuple(_source(s, node.at(vss)) for s in sources)
    return out


def _source(entry, at: str) -> model.SignalSource | model.VinSource:
    if not isinstance(entry, Located):
        raise PolicyError(f"{at}: each source is a mapping with 'signal: Message.Signal' or 'vin: {{...}}'")
    at = entry.at()
    if "vin" in entry:
        known_keys(entry, ("vin",), "a VIN source")
        vin = entry["vin"]
        if not isinstance(vin, Located):
            raise PolicyError(f"{at}: vin needs message, index, first_byte, chars_per_frame")
        known_keys(vin, ("message", "index", "first_byte", "chars_per_frame"), "vin")
        try:
            return model.VinSource(message=str(vin["message"]), index=str(vin["index"]),
                                   first_byte=int(vin.get("first_byte", 1)),
                                   chars_per_frame=int(vin.get("chars_per_frame", 7)), where=at)
        except KeyError as missing:
            raise PolicyError(f"{at}: vin needs {missing}") from None
    known_keys(entry, ("signal", "transform"), "a signal source")
    name = entry.get("signal")
    if not isinstance(name, str) or name.count(".") != 1:
        raise PolicyError(f"{at}: signal must be 'Message.Signal', not {name!r}")
    message, signal = name.split(".")
    transform = entry.get("transform") or Located()
    known_keys(transform, ("math", "mapping"), "transform")
    mapping = tuple((m["from"], m["to"]) for m in transform.get("mapping", []))
    return model.SignalSource(message, signal, transform.get("math"), mapping, at)
