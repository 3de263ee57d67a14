"""Per-flow annotations (Community ID, names, application protocol) and finished flow records.

The FlowTable owns counters; FlowRecorder owns what is known *about* a flow: it is told when
a slot opens and closes, collects names as the application parsers learn them, and turns a
finished slot into a record like a line of Zeek's conn.log with the names joined in.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .community_id import community_id
from .direction import VehicleNetworks
from .names import NameCache

if TYPE_CHECKING:
    from .flows import FlowTable

PROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 47: "gre", 50: "esp"}

# Inspection modes of a flow (see app/inspect.py).
NEW, IGNORE, TLS, HTTP, HTTP_PENDING, QUIC, DONE = range(7)


class FlowRecorder:
    def __init__(self, networks: VehicleNetworks | None = None, names: NameCache | None = None,
                 sink: Callable[[dict], None] | None = None) -> None:
        self.networks = networks or VehicleNetworks()
        self.name_cache = names or NameCache()
        self.sink = sink or self.records_append
        self.records: list[dict] = []
        self.mode = np.zeros(1024, dtype=np.uint8)
        self.flow_ids = np.zeros(1024, dtype=np.int64)  # flow_id per slot, for vectorized consumers
        self.community: dict[int, str] = {}
        self.learned: dict[int, dict[str, list[str]]] = {}  # slot -> name -> how it was learned
        self.app: dict[int, str] = {}
        self.app_state: dict[int, Any] = {}  # the parser's own state per flow (stream, QUIC keys)
        self.next_flow_id = 1
        self.flow_id: dict[int, int] = {}
        self.icmp: dict[int, tuple[int, int]] = {}

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
        a, b = _packed(key, "a"), _packed(key, "b")
        a_is_src, sport, dport = first_packet
        src, dst = (a, b) if a_is_src else (b, a)
        self.community[slot] = community_id(src, dst, int(key["proto"]), sport, dport)
        if int(key["proto"]) in (1, 58):  # Zeek's convention: ICMP type and code stand in for ports
            self.icmp[slot] = (sport, dport)  # type and code of the first packet seen
        self.flow_id[slot] = self.next_flow_id
        self.flow_ids[slot] = self.next_flow_id
        self.next_flow_id += 1

    def closed(self, slot: int) -> None:
        for table in (self.community, self.learned, self.app, self.app_state, self.flow_id, self.icmp):
            table.pop(slot, None)

    # -------------------------------------------------- called by the app parsers

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
            "community_id": self.community.get(slot),
            "proto": PROTO_NAMES.get(proto, str(proto)),
            "orig_h": _text(version, orig_int), "orig_p": orig_port,
            "resp_h": _text(version, resp_int), "resp_p": resp_port,
            "vlan": int(key["vlan"]) or None,
            "direction": self.networks.direction_int(version, orig_int, version, resp_int),
        }

    def names_of(self, table: FlowTable, slot: int, remote: str) -> list[dict]:
        return self._names(slot, remote, int(table.first_ns[slot]))

    def report(self, table: FlowTable, slot: int, reason: str) -> None:
        first, last = int(table.first_ns[slot]), int(table.last_ns[slot])
        record = {"ts": first / 1e9, **self.describe(table, slot)}
        resp = record["resp_h"]
        proto = int(table.key[slot]["proto"])
        record.update({
            "orig_pkts": int(table.packets[slot, 0]), "orig_ip_bytes": int(table.bytes[slot, 0]),
            "resp_pkts": int(table.packets[slot, 1]), "resp_ip_bytes": int(table.bytes[slot, 1]),
            "orig_bytes": int(table.payload[slot, 0]), "resp_bytes": int(table.payload[slot, 1]),
            "first_seen": first / 1e9, "last_seen": last / 1e9, "duration": (last - first) / 1e9,
            "app_proto": self.app.get(slot),
            "names": self._names(slot, resp, first),
            "reason": reason,
        })
        if proto == 6:
            record["tcp_flags_orig"] = f"{int(table.flags[slot, 0]):02x}"
            record["tcp_flags_resp"] = f"{int(table.flags[slot, 1]):02x}"
        self.sink(record)

    def _names(self, slot: int, responder: str, first_ns: int) -> list[dict]:
        learned = {name: list(ways) for name, ways in self.learned.get(slot, {}).items()}
        for name in self.name_cache.names_at(responder, first_ns):
            ways = learned.setdefault(name, [])
            if "dns" not in ways:
                ways.append("dns")
        return [{"name": name, "learned_from": ways} for name, ways in learned.items()]


def _int(key, side: str) -> int:
    return (int(key[f"{side}_hi"]) << 64) | int(key[f"{side}_lo"])


def _packed(key, side: str) -> bytes:
    return _int(key, side).to_bytes(4 if int(key["version"]) == 4 else 16, "big")


def _text(version: int, value: int) -> str:
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))
