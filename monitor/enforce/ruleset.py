"""The nftables ruleset of a policy, as libnftables JSON commands (never rule text).

Everything lives in one table of gatewatch's own (``inet gatewatch``); other tables are never
read or touched. Egress means: forwarded, leaving through an uplink, from an in-vehicle
network. In order, for such a packet:

1. destinations blocked at run time (a finding a rule blocks) and sets an ``any`` rule
   blocks are refused (TCP reset, else ICMP admin-prohibited), established flows included;
2. established and related flows pass;
3. destinations in a named set pass: the set's CIDRs, and the addresses its names resolved
   to (filled by the DNS forwarder, each for its answer's TTL), on the set's ports if any;
4. anything else: dropped if the policy blocks unknown destinations, else passed.

Per destination set N (index) there are four kernel sets: N4/N6 (CIDRs, interval) and
N4dns/N6dns (addresses from DNS answers, with per-element timeouts).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from ..config.model import DestinationSet, Policy
from ..net.direction import DEFAULT_VEHICLE_NETWORKS

FAMILY, TABLE = "inet", "gatewatch"
BLOCK4, BLOCK6 = "block4", "block6"


@dataclass(frozen=True)
class KernelSet:
    """Where one destination set lives in the kernel."""

    destination: DestinationSet
    index: int
    blocked: bool  # an "any" rule blocks it: refuse instead of accept

    def name(self, version: int, dns: bool = False) -> str:
        return f"d{self.index}_{version}{'dns' if dns else ''}"


def kernel_sets(policy: Policy) -> list[KernelSet]:
    return [KernelSet(dest, i, _any_rule_action(policy, dest.name) == "block")
            for i, dest in enumerate(policy.destinations)]


def build(policy: Policy, vehicle_networks: Iterable[str] | None) -> list[dict]:
    """Commands that replace gatewatch's table atomically (add, delete, add: one transaction)."""
    sets = kernel_sets(policy)
    commands = _fresh_table()
    commands += [_add({"set": s}) for s in _set_definitions(sets)]
    commands += [_add({"chain": c}) for c in _chains()]
    rules = _egress_rules(policy, sets, vehicle_networks)
    commands += [_add({"rule": {**_base(), "chain": "forward", "expr": [_uplinks(policy), {"jump": {"target": "egress"}}],
                                "comment": "egress: leaving through an uplink"}})]
    commands += [_add({"rule": {**_base(), "chain": "egress", **rule}}) for rule in rules]
    commands += [_add({"rule": {**_base(), "chain": "refuse", "expr": expr}}) for expr in _refusals()]
    return commands


def closed(policy: Policy, vehicle_networks: Iterable[str] | None) -> list[dict]:
    """fail-closed while the daemon is not running: nothing leaves from the in-vehicle networks."""
    commands = [*_fresh_table(), _add({"chain": _forward_chain()})]
    for version, networks in _by_version(vehicle_networks).items():
        commands.append(_add({"rule": {**_base(), "chain": "forward", "comment": "gatewatch stopped: fail-closed",
                                       "expr": [_uplinks(policy), _match(_addr(version, "saddr"), _anonymous(networks)),
                                                {"counter": None}, {"drop": None}]}}))
    return commands


def remove() -> list[dict]:
    return _fresh_table()[:2]


def element(set_name: str, address: str, timeout: int | None = None, delete: bool = False) -> dict:
    elem: object = address if timeout is None else {"elem": {"val": address, "timeout": timeout}}
    return {"delete" if delete else "add": {"element": {**_base(), "name": set_name, "elem": [elem]}}}


# ------------------------------------------------------------------ pieces

def _base() -> dict:
    """What sets, chains and rules say to name their table."""
    return {"family": FAMILY, "table": TABLE}


def _add(obj: dict) -> dict:
    return {"add": obj}


def _fresh_table() -> list[dict]:
    """Add (a no-op if it exists), delete, add: the table is replaced in one transaction."""
    table = {"table": {"family": FAMILY, "name": TABLE}}
    return [{"add": table}, {"delete": table}, {"add": table}]


def _set_definitions(sets: list[KernelSet]) -> list[dict]:
    out = [{**_base(), "name": BLOCK4, "type": "ipv4_addr"}, {**_base(), "name": BLOCK6, "type": "ipv6_addr"}]
    for kset in sets:
        for version in (4, 6):
            cidrs = [c for c in kset.destination.cidrs if c.version == version]
            static = {**_base(), "name": kset.name(version), "type": f"ipv{version}_addr", "flags": ["interval"]}
            if cidrs:
                static["elem"] = [_prefix(c) for c in cidrs]
            out.append(static)
            out.append({**_base(), "name": kset.name(version, dns=True), "type": f"ipv{version}_addr",
                        "flags": ["timeout"]})
    return out


def _chains() -> list[dict]:
    return [_forward_chain(), {**_base(), "name": "egress"}, {**_base(), "name": "refuse"}]


def _forward_chain() -> dict:
    """The base chain on the forward hook: accepts by default, only the egress jump judges."""
    return {**_base(), "name": "forward", "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}


def _egress_rules(policy: Policy, sets: list[KernelSet], vehicle_networks: Iterable[str] | None) -> list[dict]:
    rules: list[dict] = []
    networks = _by_version(vehicle_networks)
    for version in (4, 6):  # only traffic from the in-vehicle networks is ours to judge
        if version in networks:
            rules.append({"expr": [_match(_addr(version, "saddr"), _anonymous(networks[version]), "!="), {"return": None}]})
        else:
            rules.append({"expr": [_match({"meta": {"key": "nfproto"}}, f"ipv{version}"), {"return": None}]})
    rules += [{"expr": [_match(_addr(v, "daddr"), f"@{name}"), {"counter": None}, {"jump": {"target": "refuse"}}],
               "comment": "blocked at run time"} for v, name in ((4, BLOCK4), (6, BLOCK6))]
    rules += _set_rules([s for s in sets if s.blocked], {"jump": {"target": "refuse"}})
    rules.append({"expr": [_match({"ct": {"key": "state"}}, {"set": ["established", "related"]}, "in"), {"accept": None}]})
    rules += _set_rules([s for s in sets if not s.blocked], {"accept": None})
    unknown = _unknown_action(policy)
    rules.append({"expr": [{"counter": None}, {"drop": None} if unknown == "block" else {"accept": None}],
                  "comment": f"destinations in no set: {unknown}"})
    return rules


def _set_rules(sets: list[KernelSet], verdict: dict) -> list[dict]:
    rules = []
    for kset in sets:
        ports = _port_matches(kset.destination)
        comment = f"destination set {kset.destination.name}"
        targets = [[]] if kset.destination.any_address else [
            [_match(_addr(v, "daddr"), f"@{kset.name(v, dns)}")] for v in (4, 6) for dns in (False, True)]
        for target in targets:
            for port in ports or [[]]:
                rules.append({"expr": [*target, *port, {"counter": None}, verdict], "comment": comment})
    return rules


def _port_matches(dest: DestinationSet) -> list[list[dict]]:
    """One match list per protocol: [l4proto tcp, th dport {443, 5000-5010}], ..."""
    by_proto: dict[str | None, list] = {}
    for p in dest.ports:
        by_proto.setdefault(p.proto, []).append(p.first if p.first == p.last else {"range": [p.first, p.last]})
    out = []
    for proto, ports in by_proto.items():
        for l4 in ([proto] if proto else ["tcp", "udp"]):
            out.append([_match({"meta": {"key": "l4proto"}}, l4),
                        _match({"payload": {"protocol": "th", "field": "dport"}}, {"set": ports})])
    return out


def _refusals() -> list[list[dict]]:
    return [[_match({"meta": {"key": "l4proto"}}, "tcp"), {"reject": {"type": "tcp reset"}}],
            [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]]


def _uplinks(policy: Policy) -> dict:
    return _match({"meta": {"key": "oifname"}}, {"set": list(policy.uplinks)})


def _match(left: dict, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": left, "right": right}}


def _addr(version: int, field: str) -> dict:
    return {"payload": {"protocol": "ip" if version == 4 else "ip6", "field": field}}


def _anonymous(networks: list) -> dict:
    return {"set": [_prefix(n) for n in networks]}


def _prefix(network) -> dict:
    return {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}


def _by_version(cidrs: Iterable[str] | None) -> dict[int, list]:
    """The in-vehicle networks by IP version; None: the monitor's defaults."""
    out: dict[int, list] = {}
    for cidr in DEFAULT_VEHICLE_NETWORKS if cidrs is None else cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        out.setdefault(network.version, []).append(network)
    return out


def _any_rule_action(policy: Policy, set_name: str) -> str | None:
    """The action of the first rule about every flow to this set: an "any" rule (with or
    without "to"), or an "unknown" rule naming the set."""
    return next((r.action for r in policy.rules
                 if (r.category == "any" and (r.to is None or set_name in r.to))
                 or (r.category == "unknown" and r.to is not None and set_name in r.to)), None)


def _unknown_action(policy: Policy) -> str:
    return next((r.action for r in policy.rules if r.category in ("unknown", "any") and r.to is None), "allow")
