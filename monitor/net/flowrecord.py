"""Per-flow annotations (Community ID, names, application protocol) and finished flow records.

The FlowTable owns counters; FlowRecorder owns what is known *about* a flow: it is told when
a slot opens and closes, collects names as the application parsers learn them, and turns a
finished slot into a record like a line of Zeek's conn.log with the names joined in. A flow
whose packets came through tunnels also carries ``tunnel``: its encapsulation path, outermost
first, e.g. ``[{"type": "vxlan", "vni": 42, "outer": "10.0.0.1->10.0.0.2"}]`` (the outer
addresses of the outermost tunnel, as the flow's first tunnelled packet carried them).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .community_id import community_id, community_ids
from .direction import VehicleNetworks, flow_direction
from .names import NameCache

if TYPE_CHECKING:
    from .flows import FlowTable
    from .headers import Headers

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
        self.community: dict[int, str | None] = {}
        self.learned: dict[int, dict[str, list[str]]] = {}  # slot -> name -> how it was learned
        self.app: dict[int, str] = {}
        self.app_state: dict[int, Any] = {}  # the parser's own state per flow (stream, QUIC keys)
        self.next_flow_id = 1
        self.flow_id: dict[int, int] = {}
        self.icmp: dict[int, tuple[int, int]] = {}
        self.tunnel: dict[int, list[dict]] = {}  # slot -> encapsulation path of its first tunnelled packet
        self._texts: dict[tuple[int, int], str] = {}

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
        for table in (self.community, self.learned, self.app, self.app_state, self.flow_id, self.icmp, self.tunnel):
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
        """The records of finishing slots, their columns gathered at once with numpy (a flow
        record per slot in Python cost about 40 us; most of it was scalar numpy access)."""
        if not len(slots):
            return
        keys = table.key[slots]
        version = keys["version"]
        a_in = self.networks.inside(version, np.stack([keys["a_hi"], keys["a_lo"]], 1))
        b_in = self.networks.inside(version, np.stack([keys["b_hi"], keys["b_lo"]], 1))
        a_first = table.a_initiates[slots]
        cols = _columns(table, slots, keys, a_first, np.where(a_first, a_in, b_in), np.where(a_first, b_in, a_in))
        cids = community_ids(keys)
        for i, slot in enumerate(slots.tolist()):
            row = {name: values[i] for name, values in cols.items()}
            if slot in self.icmp:
                row["orig_p"], row["resp_p"] = self.icmp[slot]
            version = row["v"]
            orig, resp = self._text(version, row["orig_int"]), self._text(version, row["resp_int"])
            first, last, proto = row["first_ns"], row["last_ns"], row["proto_n"]
            record = {"ts": first / 1e9, "flow_id": self.flow_id.get(slot, 0),
                      "community_id": cids[i] or self.community.get(slot), "proto": PROTO_NAMES.get(proto, str(proto)), "orig_h": orig, "orig_p": row["orig_p"],
                      "resp_h": resp, "resp_p": row["resp_p"], "vlan": row["vlan"] or None,
                      "direction": flow_direction(row["orig_in"], row["resp_in"]),
                      "orig_pkts": row["orig_pkts"], "orig_ip_bytes": row["orig_ip_bytes"],
                      "resp_pkts": row["resp_pkts"], "resp_ip_bytes": row["resp_ip_bytes"],
                      "orig_bytes": row["orig_bytes"], "resp_bytes": row["resp_bytes"],
                      "first_seen": first / 1e9, "last_seen": last / 1e9, "duration": (last - first) / 1e9,
                      "app_proto": self.app.get(slot), "names": self._names(slot, resp, first), "reason": reason}
            if slot in self.tunnel:
                record["tunnel"] = self.tunnel[slot]
            if proto == 6:
                record["tcp_flags_orig"] = f"{row['flags_orig']:02x}"
                record["tcp_flags_resp"] = f"{row['flags_resp']:02x}"
            self.sink(record)

    def _text(self, version: int, value: int) -> str:
        """An address as text, remembered (the same few addresses end most flows)."""
        text = self._texts.get((version, value))
        if text is None:
            if len(self._texts) >= MAX_TEXTS:
                self._texts.clear()
            text = self._texts[(version, value)] = _text(version, value)
        return text

    def _names(self, slot: int, responder: str, first_ns: int) -> list[dict]:
        learned = {name: list(ways) for name, ways in self.learned.get(slot, {}).items()}
        for name in self.name_cache.names_at(responder, first_ns):
            ways = learned.setdefault(name, [])
            if "dns" not in ways:
                ways.append("dns")
        return [{"name": name, "learned_from": ways} for name, ways in learned.items()]


MAX_TEXTS = 65_536


def _columns(table: FlowTable, slots: np.ndarray, keys, a_first, orig_in, resp_in) -> dict[str, list]:
    """Per-slot values as Python lists, oriented from the originator."""
    a_int = _ints(keys["a_hi"], keys["a_lo"])
    b_int = _ints(keys["b_hi"], keys["b_lo"])
    first = a_first.tolist()
    return {
        "v": keys["version"].tolist(), "proto_n": keys["proto"].tolist(),
        "orig_int": [a if f else b for a, b, f in zip(a_int, b_int, first, strict=True)],
        "resp_int": [b if f else a for a, b, f in zip(a_int, b_int, first, strict=True)],
        "orig_p": np.where(a_first, keys["a_port"], keys["b_port"]).tolist(),
        "resp_p": np.where(a_first, keys["b_port"], keys["a_port"]).tolist(),
        "vlan": keys["vlan"].tolist(), "orig_in": orig_in.tolist(), "resp_in": resp_in.tolist(),
        "first_ns": table.first_ns[slots].tolist(), "last_ns": table.last_ns[slots].tolist(),
        "orig_pkts": table.packets[slots, 0].tolist(), "resp_pkts": table.packets[slots, 1].tolist(),
        "orig_ip_bytes": table.bytes[slots, 0].tolist(), "resp_ip_bytes": table.bytes[slots, 1].tolist(),
        "orig_bytes": table.payload[slots, 0].tolist(), "resp_bytes": table.payload[slots, 1].tolist(),
        "flags_orig": table.flags[slots, 0].tolist(), "flags_resp": table.flags[slots, 1].tolist(),
    }


def _ints(hi: np.ndarray, lo: np.ndarray) -> list[int]:
    return [(h << 64) | low for h, low in zip(hi.tolist(), lo.tolist(), strict=True)]


def _int(key, side: str) -> int:
    return (int(key[f"{side}_hi"]) << 64) | int(key[f"{side}_lo"])


def _packed(key, side: str) -> bytes:
    return _int(key, side).to_bytes(4 if int(key["version"]) == 4 else 16, "big")


def _text(version: int, value: int) -> str:
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))
