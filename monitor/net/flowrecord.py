"""Per-flow annotations (Community ID, names, application protocol) and finished flow records.

The FlowTable owns counters; FlowRecorder owns what is known *about* a flow: it is told when
a slot opens and closes, collects names as the application parsers learn them, and turns a
finished slot into a record like a line of Zeek's conn.log with the names joined in. A flow
whose packets came through tunnels also carries ``tunnel``: its encapsulation path, outermost
first, e.g. ``[{"type": "vxlan", "vni": 42, "outer": "10.0.0.1->10.0.0.2"}]`` (the outer
addresses of the outermost tunnel, as the flow's first tunnelled packet carried them).
Finishing flows are reported a batch at a time as columns (flowbatch.py): a sink that takes
batches (``BatchSink``, the flows command) writes their JSON lines from the columns
(flowjson.py); any other sink gets the records one by one.
"""

from __future__ import annotations

import socket
from itertools import repeat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .. import native
from .community_id import community_id, community_ids
from .direction import VehicleNetworks
from .flowbatch import AddressTexts, FlowBatch, directions, tcp_flags
from .flowcolumns import FlowColumns
from .names import NameCache

if TYPE_CHECKING:
    from .flows import FlowTable
    from .headers import Headers

PROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 47: "gre", 50: "esp"}

# Inspection modes of a flow (see app/inspect.py).
NEW, IGNORE, TLS, HTTP, HTTP_PENDING, QUIC, DONE = range(7)


@runtime_checkable
class BatchSink(Protocol):
    """A sink that takes finishing flows a batch at a time (the flows command's writer)."""

    def __call__(self, record: dict) -> None: ...

    def batch(self, flows: FlowBatch) -> None: ...


# A BatchSink whose ``takes_columns`` is true also has ``columns(flows: FlowColumns)``: with the
# native core it gets the numpy columns and has C write the lines (flowcolumns.py).


class FlowRecorder:
    def __init__(self, networks: VehicleNetworks | None = None, names: NameCache | None = None,
                 sink: Callable[[dict], None] | None = None) -> None:
        self.networks = networks or VehicleNetworks()
        self.name_cache = names or NameCache()
        self.sink = sink or self.records_append
        self.records: list[dict] = []
        self.mode = np.zeros(1024, dtype=np.uint8)
        self.flow_ids = np.zeros(1024, dtype=np.int64)  # flow_id per slot, for vectorized consumers
        self.community: dict[int, str | None] = {}
        self.learned: dict[int, dict[str, list[str]]] = {}  # slot -> name -> how it was learned
        self.app: dict[int, str] = {}
        self.app_state: dict[int, Any] = {}  # the parser's own state per flow (stream, QUIC keys)
        self.next_flow_id = 1
        self.flow_id: dict[int, int] = {}
        self.icmp: dict[int, tuple[int, int]] = {}
        self.tunnel: dict[int, list[dict]] = {}  # slot -> encapsulation path of its first tunnelled packet
        self.addresses = AddressTexts()
        self._per_slot = (self.community, self.learned, self.app, self.app_state, self.flow_id, self.icmp, self.tunnel)

    def records_append(self, record: dict) -> None:
        self.records.append(record)

    def drain(self) -> list[dict]:
        records, self.records = self.records, []
        return records

    # -------------------------------------------------- called by the FlowTable

    def opened(self, slot: int, key, a_initiates: bool, first_packet: tuple[bool, int, int]) -> None:
        if slot >= len(self.mode):
            grow = max(slot + 1, 2 * len(self.mode)) - len(self.mode)
            self.mode = np.concatenate([self.mode, np.zeros(grow, np.uint8)])
            self.flow_ids = np.concatenate([self.flow_ids, np.zeros(grow, np.int64)])
        self.mode[slot] = NEW
        self.closed(slot)  # nothing of an earlier flow in this slot may leak into this one
        if int(key["proto"]) in (1, 58):  # Zeek's convention: ICMP type and code stand in for ports
            a_is_src, sport, dport = first_packet
            self.icmp[slot] = (sport, dport)  # type and code of the first packet seen
            a, b = _packed(key, "a"), _packed(key, "b")
            # An ICMP ID depends on the first packet's type, so it is fixed now; others in bulk when reported.
            self.community[slot] = community_id(*((a, b) if a_is_src else (b, a)), int(key["proto"]), sport, dport)
        self.flow_id[slot] = self.next_flow_id
        self.flow_ids[slot] = self.next_flow_id
        self.next_flow_id += 1

    def closed(self, slot: int) -> None:
        for table in self._per_slot:
            if table:  # most are empty on most traffic: this runs once per flow opened and once per flow closed
                table.pop(slot, None)

    def note_tunnels(self, h: Headers, rows: np.ndarray, slots: np.ndarray) -> None:
        """Remember the tunnel layers of flows whose packets came tunnelled (once per flow: the
        first such packet's path and outer addresses; Python runs once per tunnelled flow and batch)."""
        if h.tunnel is None:
            return
        tunnelled = np.flatnonzero(h.depth[rows] > 0)
        if not len(tunnelled):
            return
        first_slots, first = np.unique(slots[tunnelled], return_index=True)
        for slot, row in zip(first_slots.tolist(), rows[tunnelled[first]].tolist(), strict=True):
            if slot not in self.tunnel:
                self.tunnel[slot] = h.layers(row)

    # -------------------------------------------------- called by the app parsers

    def community_of(self, table: FlowTable, slot: int) -> str | None:
        """The Community ID of a live flow (remembered; finishing flows get theirs in bulk)."""
        if slot not in self.community:
            key = table.key[slot]
            self.community[slot] = community_id(_packed(key, "a"), _packed(key, "b"), int(key["proto"]),
                                                int(key["a_port"]), int(key["b_port"]))
        return self.community[slot]

    def learn_name(self, slot: int, name: str, how: str) -> None:
        ways = self.learned.setdefault(slot, {}).setdefault(name.lower(), [])
        if how not in ways:
            ways.append(how)

    def set_app(self, slot: int, app: str) -> None:
        self.app.setdefault(slot, app)

    # -------------------------------------------------- records

    def describe(self, table: FlowTable, slot: int) -> dict:
        """Who talks to whom in a live or finishing flow: the identity part of its record."""
        key = table.key[slot]
        version = int(key["version"])
        a_int, b_int = _int(key, "a"), _int(key, "b")
        a_first = bool(table.a_initiates[slot])
        orig_int, resp_int = (a_int, b_int) if a_first else (b_int, a_int)
        orig_port, resp_port = (int(key["a_port"]), int(key["b_port"]))[:: 1 if a_first else -1]
        if slot in self.icmp:
            orig_port, resp_port = self.icmp[slot]
        proto = int(key["proto"])
        return {
            "flow_id": self.flow_id.get(slot, 0),
            "community_id": self.community_of(table, slot),
            "proto": PROTO_NAMES.get(proto, str(proto)),
            "orig_h": _text(version, orig_int), "orig_p": orig_port,
            "resp_h": _text(version, resp_int), "resp_p": resp_port,
            "vlan": int(key["vlan"]) or None,
            "direction": self.networks.direction_int(version, orig_int, version, resp_int),
        }

    def names_of(self, table: FlowTable, slot: int, remote: str) -> list[dict]:
        return self._names(slot, remote, int(table.first_ns[slot]))

    def report_many(self, table: FlowTable, slots: np.ndarray, reason: str) -> None:
        """The records of finishing slots, built as columns for the whole batch (flowbatch.py)
        and handed to the sink as a FlowBatch if it takes one, else record by record."""
        if not len(slots):
            return
        core = native.kernels
        if core is not None and getattr(self.sink, "takes_columns", False):
            self.sink.columns(FlowColumns.build(core, self, table, slots, reason))
            return
        batch = self.batch(table, slots, reason)
        if isinstance(self.sink, BatchSink):
            self.sink.batch(batch)
            return
        for record in batch.records():
            self.sink(record)

    def batch(self, table: FlowTable, slots: np.ndarray, reason: str) -> FlowBatch:
        """The finishing slots' records as columns, oriented from each flow's originator."""
        keys = table.key[slots]
        version = keys["version"]
        a_first = table.a_initiates[slots]
        a_in = self.networks.inside(version, np.stack([keys["a_hi"], keys["a_lo"]], 1))
        b_in = self.networks.inside(version, np.stack([keys["b_hi"], keys["b_lo"]], 1))
        slot_list = slots.tolist()
        first, last = table.first_ns[slots], table.last_ns[slots]
        first_list, first_seen = first.tolist(), (first / 1e9).tolist()  # the same float as int / 1e9 in Python
        columns: dict[str, list] = {
            "ts": first_seen, "flow_id": list(map(self.flow_id.get, slot_list, repeat(0))),
            "community_id": self._communities(keys, slot_list), "proto": _proto_names(keys["proto"]),
            **self._ends(keys, a_first, slot_list),
            "vlan": [vlan or None for vlan in keys["vlan"].tolist()],
            "direction": directions(np.where(a_first, a_in, b_in), np.where(a_first, b_in, a_in)),
            "orig_pkts": table.packets[slots, 0].tolist(), "orig_ip_bytes": table.bytes[slots, 0].tolist(),
            "resp_pkts": table.packets[slots, 1].tolist(), "resp_ip_bytes": table.bytes[slots, 1].tolist(),
            "orig_bytes": table.payload[slots, 0].tolist(), "resp_bytes": table.payload[slots, 1].tolist(),
            "first_seen": first_seen, "last_seen": (last / 1e9).tolist(),
            "duration": ((last - first) / 1e9).tolist(), "app_proto": list(map(self.app.get, slot_list)),
        }
        columns["names"] = self._name_column(slot_list, columns["resp_h"], first_list)
        is_tcp = keys["proto"] == 6
        return FlowBatch(reason, columns, list(map(self.tunnel.get, slot_list)),
                         tcp_flags(is_tcp, table.flags[slots, 0]), tcp_flags(is_tcp, table.flags[slots, 1]))

    def _communities(self, keys: np.ndarray, slot_list: list[int]) -> list[str | None]:
        """Community IDs in bulk; ICMP flows' (fixed when they opened) from the slot."""
        ids = community_ids(keys)
        for row in np.flatnonzero(np.isin(keys["proto"], (1, 58))).tolist():
            ids[row] = ids[row] or self.community.get(slot_list[row])
        return ids

    def _ends(self, keys: np.ndarray, a_first: np.ndarray, slot_list: list[int]) -> dict[str, list]:
        """Originator and responder addresses and ports (an ICMP flow's type and code as ports)."""
        pick = lambda a, b: (np.where(a_first, keys[a], keys[b]), np.where(a_first, keys[b], keys[a]))
        (orig_hi, resp_hi), (orig_lo, resp_lo) = pick("a_hi", "b_hi"), pick("a_lo", "b_lo")
        orig_p, resp_p = (ports.tolist() for ports in pick("a_port", "b_port"))
        for row in np.flatnonzero(np.isin(keys["proto"], (1, 58))).tolist():
            if slot_list[row] in self.icmp:
                orig_p[row], resp_p[row] = self.icmp[slot_list[row]]
        version = keys["version"]
        return {"orig_h": self.addresses.column(version, orig_hi, orig_lo), "orig_p": orig_p,
                "resp_h": self.addresses.column(version, resp_hi, resp_lo), "resp_p": resp_p}

    def _name_column(self, slot_list: list[int], responders: list[str], first_list: list[int]) -> list:
        """Per flow: its names (None for none), as ``_names`` gives them; looked up only for the
        flows that learned a name or whose responder has names in the cache."""
        cached = set(filter(self.name_cache.entries.__contains__, set(responders)))
        if not cached and not self.learned:
            return [None] * len(slot_list)
        learned = self.learned
        return [(self._names(slot, resp, first) or None) if slot in learned or resp in cached else None
                for slot, resp, first in zip(slot_list, responders, first_list, strict=True)]

    def _names(self, slot: int, responder: str, first_ns: int) -> list[dict]:
        learned = {name: list(ways) for name, ways in self.learned.get(slot, {}).items()}
        for name in self.name_cache.names_at(responder, first_ns):
            ways = learned.setdefault(name, [])
            if "dns" not in ways:
                ways.append("dns")
        return [{"name": name, "learned_from": ways} for name, ways in learned.items()]


def _proto_names(protos: np.ndarray) -> list[str]:
    names = {proto: PROTO_NAMES.get(proto, str(proto)) for proto in np.unique(protos).tolist()}
    return list(map(names.__getitem__, protos.tolist()))


def _int(key, side: str) -> int:
    return (int(key[f"{side}_hi"]) << 64) | int(key[f"{side}_lo"])


def _packed(key, side: str) -> bytes:
    return _int(key, side).to_bytes(4 if int(key["version"]) == 4 else 16, "big")


def _text(version: int, value: int) -> str:
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))
