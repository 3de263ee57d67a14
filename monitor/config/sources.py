"""The ``sources`` section: what the live daemon reads.

    sources:
      can:                              # buses, in python-can's own terms
        - name: powertrain              # what frames are labelled with: CAN rules and known_ids use it
          interface: socketcan          # socketcan: the raw AF_CAN fast path; anything else: python-can
          channel: can0
          bitrate: 500000               # fd, data_bitrate, receive_own_messages too
          dbc: [../dbc/my-bus.dbc]      # this bus's own DBCs (default: the top-level list)
          options: {}                   # any other keyword the python-can interface takes
      ip:
        - interface: wwan0              # an uplink (or an in-vehicle interface)
          filter: "not port 22"         # BPF, tcpdump syntax, runs in the kernel
          snaplen: 2048
      reorder_ms: 300                   # how long the merge waits for a late source
      queue_batches: 64                 # bound of each source's queue; drops are counted
      max_flows: 262144                 # flows tracked at once (about 1 kB each); the oldest go first, counted

Without a ``sources`` section the daemon captures on the policy's ``uplinks`` and reads no
CAN bus. Paths resolve against the file that names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PolicyError
from .yamlfile import Located, LocatedList, child, dbc_files, known_keys

CAN_KEYS = ("name", "interface", "channel", "bitrate", "fd", "data_bitrate", "receive_own_messages", "dbc", "options")
IP_KEYS = ("interface", "filter", "snaplen")


@dataclass(frozen=True)
class CanBusSource:
    name: str
    interface: str
    channel: str | int | None = None
    bitrate: int | None = None
    fd: bool = False
    data_bitrate: int | None = None
    receive_own_messages: bool = False
    dbc: tuple[str, ...] | None = None  # None: the configuration's top-level DBCs
    options: dict = field(default_factory=dict)
    where: str = ""

    def python_can_kwargs(self) -> dict:
        out: dict = {"interface": self.interface, "channel": self.channel, "fd": self.fd,
                     "receive_own_messages": self.receive_own_messages}
        if self.bitrate is not None:
            out["bitrate"] = self.bitrate
        if self.data_bitrate is not None:
            out["data_bitrate"] = self.data_bitrate
        return {**out, **self.options}


@dataclass(frozen=True)
class IpSource:
    interface: str
    filter: str | None = None
    snaplen: int = 2048
    where: str = ""


@dataclass(frozen=True)
class Sources:
    can: tuple[CanBusSource, ...] = ()
    ip: tuple[IpSource, ...] = ()
    reorder_ms: int = 300
    queue_batches: int = 64
    max_flows: int = 262_144
    configured: bool = False  # False: no sources section (the daemon uses the policy's uplinks)


def load_sources(doc: Located, config_path: Path) -> Sources:
    node = doc.get("sources")
    if node is None:
        return Sources()
    if not isinstance(node, Located):
        raise PolicyError(f"{doc.at('sources')}: sources must be a mapping with can and/or ip lists")
    known_keys(node, ("can", "ip", "reorder_ms", "queue_batches", "max_flows"), "sources")
    buses = tuple(_can(entry, _list(node, "can"), i, config_path) for i, entry in enumerate(_list(node, "can")))
    names = [bus.name for bus in buses]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise PolicyError(f"{buses[i].where}: CAN bus name {name!r} is used twice")
    return Sources(can=buses, ip=tuple(_ip(entry, _list(node, "ip"), i) for i, entry in enumerate(_list(node, "ip"))),
                   reorder_ms=_whole(node, "reorder_ms", 300, 0), queue_batches=_whole(node, "queue_batches", 64, 1),
                   max_flows=_whole(node, "max_flows", 262_144, 16), configured=True)


def _list(node: Located, key: str) -> LocatedList:
    return child(node, key, LocatedList, "a list")


def _whole(node: Located, key: str, default: int, least: int) -> int:
    value = node.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise PolicyError(f"{node.at(key)}: {key} must be a whole number >= {least}, not {value!r}")
    return value


def _can(entry, items: LocatedList, i: int, config_path: Path) -> CanBusSource:
    if not isinstance(entry, Located):
        raise PolicyError(f"{items.at(i)}: each CAN source is a mapping (name, interface, channel, ...)")
    known_keys(entry, CAN_KEYS, "a CAN source")
    for key in ("name", "interface"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise PolicyError(f"{entry.at(key) if key in entry else entry.at()}: a CAN source needs {key} (a string)")
    for key in ("bitrate", "data_bitrate"):
        if key in entry and (not isinstance(entry[key], int) or isinstance(entry[key], bool) or entry[key] <= 0):
            raise PolicyError(f"{entry.at(key)}: {key} must be a positive whole number of bit/s")
    for key in ("fd", "receive_own_messages"):
        if key in entry and not isinstance(entry[key], bool):
            raise PolicyError(f"{entry.at(key)}: {key} must be true or false")
    options = entry.get("options") or {}
    if not isinstance(options, dict):
        raise PolicyError(f"{entry.at('options')}: options must be a mapping of python-can keywords")
    return CanBusSource(name=entry["name"], interface=entry["interface"], channel=entry.get("channel"),
                        bitrate=entry.get("bitrate"), fd=entry.get("fd", False), data_bitrate=entry.get("data_bitrate"),
                        receive_own_messages=entry.get("receive_own_messages", False),
                        dbc=_dbc_list(entry, config_path), options=dict(options), where=entry.at())


def _dbc_list(entry: Located, config_path: Path) -> tuple[str, ...] | None:
    return tuple(dbc_files(entry, "dbc", config_path)) if "dbc" in entry else None


def _ip(entry, items: LocatedList, i: int) -> IpSource:
    if not isinstance(entry, Located):
        raise PolicyError(f"{items.at(i)}: each IP source is a mapping (interface, filter, snaplen)")
    known_keys(entry, IP_KEYS, "an IP source")
    if not isinstance(entry.get("interface"), str) or not entry["interface"]:
        raise PolicyError(f"{entry.at('interface') if 'interface' in entry else entry.at()}: an IP source needs interface")
    if "filter" in entry and not isinstance(entry["filter"], str):
        raise PolicyError(f"{entry.at('filter')}: filter must be a BPF expression (a string)")
    snaplen = _whole(entry, "snaplen", 2048, 64)
    return IpSource(entry["interface"], entry.get("filter"), snaplen, entry.at())
