"""Load a configuration file: DBCs, the DBC -> VSS signal map, detector thresholds, and the
policy (mode, uplinks, destination sets, rules: see policy.py), and the live sources.

Unknown keys and wrong types stop start-up with ``file:line: what is wrong``. The DBCs are
loaded and compiled into one decode plan here, and the signal map is checked against it and
compiled, once. Relative paths resolve against the file that names them. The detector
threshold sections are handed in (``sections``: name -> frozen dataclass), collected from the
detector registry by the caller, so this package knows no detector.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from pathlib import Path

from ..canbus.dbc import load_dbc
from ..canbus.plan import DecodePlan, compile_plan
from ..errors import PolicyError
from ..limits import MAX_MAPPING_ENTRIES
from ..resources import shipped_policies, shipped_policy
from . import model
from .alerts import load_alerts
from .policy import POLICY_KEYS, load_policy
from .signals import compile_signal_map
from .sources import load_sources
from .stream import load_stream
from .uplink import load_uplink
from .yamlfile import Located, LocatedList, dbc_files, known_keys, load_yaml

DEFAULT = "default"  # the shipped policy a run without --config uses
TOP_KEYS = ("version", "extends", "dbc", "vehicle_networks", "signals", "detectors", "sources", "alerts", "uplink", "stream",
            *POLICY_KEYS)
MAX_EXTENDS = 4


def load_config(path: str | Path | None = None, sections: Mapping[str, type] | None = None) -> model.Config:
    """``sections``: the detector threshold sections (``monitor.detect.threshold_sections()``);
    None accepts no ``detectors`` keys."""
    path = _config_path(path)
    if not path.is_file():
        raise PolicyError(f"{path}: no such configuration file")
    doc = _with_base(load_yaml(path), path, MAX_EXTENDS)
    if "vehicle_networks" in doc:
        _vehicle_networks(doc)
    if doc.get("version", 1) != 1:
        raise PolicyError(f"{doc.at('version')}: unsupported version {doc['version']!r} (this gatewatch reads 1)")
    dbc = tuple(_dbc_paths(doc))
    plan = _plan(dbc)
    sources = load_sources(doc, path)
    bus_plans = {bus.name: _plan(bus.dbc) for bus in sources.can if bus.dbc is not None}
    signals = _signals(doc.get("signals") or Located(), doc)
    return model.Config(
        path=str(path),
        dbc=dbc,
        vehicle_networks=tuple(_strings(doc, "vehicle_networks")) if "vehicle_networks" in doc else None,
        signals=signals,
        thresholds=_thresholds(doc, sections or {}),
        policy=load_policy(doc, path),
        sources=sources,
        alerts=load_alerts(doc, path),
        uplink=load_uplink(doc, path),
        stream=load_stream(doc),
        plan=plan,
        bus_plans=bus_plans,
        signal_map=compile_signal_map(signals, [plan, *bus_plans.values()]),
        key_at={key: doc.at(key) for key in doc},
    )


def _plan(paths) -> DecodePlan:
    return compile_plan([(load_dbc(name), name) for name in paths])


def _config_path(name: str | Path | None) -> Path:
    """A file, or a shipped policy by its bare name (``default``, ``strict``); none: default."""
    if not name:
        return shipped_policy(DEFAULT)
    path = Path(name)
    if not path.exists() and "/" not in str(name) and path.suffix == "":
        return shipped_policy(str(name))
    return path


def _thresholds(doc: Located, sections: Mapping[str, type]) -> model.Thresholds:
    node = doc.get("detectors")
    if node is None:
        return model.Thresholds.defaults(sections)
    if not isinstance(node, Located):
        raise PolicyError(f"{doc.at('detectors')}: detectors must be a mapping")
    known_keys(node, tuple(sections), "detectors")
    return model.Thresholds({name: _section(kind, node.get(name), node, name) for name, kind in sections.items()})


def _with_base(doc: Located, path: Path, depth: int) -> Located:
    """``extends``: top-level keys this file does not set come from that file: a shipped policy
    by its bare name (``extends: default``), or a file relative to this one."""
    known_keys(doc, TOP_KEYS, "the top level")
    _resolve_paths(doc, path)
    if "extends" not in doc:
        return doc
    name = doc["extends"]
    base_path = _base_policy(name, path)
    if base_path is None:
        raise PolicyError(f"{doc.at('extends')}: extends {name!r}: no such policy next to {path} "
                          f"and none shipped by that name (shipped: {', '.join(shipped_policies())})")
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


def _base_policy(name, path: Path) -> Path | None:
    """A file of that name next to ``path``, else a shipped policy (``default``, ``strict``;
    ``default.yaml`` too)."""
    if not isinstance(name, str) or not name:
        return None
    candidate = path.parent / name
    if candidate.is_file():
        return candidate
    if "/" in name:
        return None
    try:
        return shipped_policy(name.removesuffix(".yaml"))
    except PolicyError:
        return None


def _resolve_paths(doc: Located, path: Path) -> None:
    """DBC paths resolved against the file that names them, before an ``extends`` merge (so
    each file keeps its own)."""
    if "dbc" in doc:
        doc["dbc"] = dbc_files(doc, "dbc", path)  # plain paths from here on


def _dbc_paths(doc: Located) -> list[str]:
    return list(doc["dbc"]) if "dbc" in doc else []


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
    if not isinstance(transform, Located):
        raise PolicyError(f"{entry.at('transform')}: transform is a mapping with math or mapping")
    known_keys(transform, ("math", "mapping"), "transform")
    math = transform.get("math")
    if math is not None and not isinstance(math, str | int | float):
        raise PolicyError(f"{transform.at('math')}: math must be an expression over x, like 'x * 0.1 - 40'")
    return model.SignalSource(message, signal, None if math is None else str(math), _value_mapping(transform), at)


def _value_mapping(transform: Located) -> tuple:
    """``mapping: [{from: 1, to: open}, ...]`` as ((from, to), ...), within MAX_MAPPING_ENTRIES."""
    if "mapping" not in transform:
        return ()
    entries = transform["mapping"]
    if not isinstance(entries, LocatedList):
        raise PolicyError(f"{transform.at('mapping')}: mapping must be a list of {{from: VALUE, to: VALUE}}")
    if len(entries) > MAX_MAPPING_ENTRIES:
        raise PolicyError(f"{transform.at('mapping')}: a value mapping of {len(entries)} entries "
                          f"(at most {MAX_MAPPING_ENTRIES})")
    for i, item in enumerate(entries):
        if not isinstance(item, Located) or set(item) != {"from", "to"}:
            raise PolicyError(f"{entries.at(i)}: each mapping entry is {{from: VALUE, to: VALUE}}")
    return tuple((item["from"], item["to"]) for item in entries)
