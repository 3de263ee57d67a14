"""Deciding: a finding (or a flow to a destination in no named set) -> a verdict with the id
of the rule that made it.

Rules are tried in file order and the first that matches decides; a finding no rule matches
gets the policy's ``default`` action, a flow no rule matches is allowed. The same policy and
the same input give the same verdicts: nothing here depends on time or arrival order.
"""

from __future__ import annotations

import ipaddress

from ..config.model import DestinationSet, Policy, Rule
from ..detect.finding import Destination, Finding, Verdict
from .countries import Countries

DEFAULT_RULE = "default"


class Decider:
    def __init__(self, policy: Policy, countries: Countries | None = None) -> None:
        self.policy = policy
        self.countries = countries or Countries(policy.geoip)
        self.sets = {d.name: d for d in policy.destinations}
        self.counts: dict[str, int] = {}
        # Flows to unknown destinations are only worth looking at if some rule acts on them.
        self.watches_unknown = any(r.action != "allow" for r in self._rules_for("unknown"))

    def decide(self, finding: Finding) -> Verdict:
        destination = Destination.of(finding)
        for rule in self._rules_for(finding.category):
            matched = self._rule_matches(rule, destination)
            if matched is not False:
                return self._count(Verdict(rule.action, rule.id, matched if isinstance(matched, str) else None))
        return self._count(Verdict(self.policy.default, DEFAULT_RULE))

    def decide_unknown(self, destination: Destination) -> Verdict | None:
        """The verdict of the "unknown" rules on a flow, judged by its destination alone: a rule
        with "to" takes flows to destinations in those sets, one without takes flows to
        destinations in no set. None when no unknown rule takes it."""
        in_some_set = None
        for rule in self._rules_for("unknown"):
            if rule.to is not None:
                matched = self._rule_matches(rule, destination)
                if matched:
                    return self._count(Verdict(rule.action, rule.id, matched if isinstance(matched, str) else None))
                continue
            if in_some_set is None:
                in_some_set = any(self.in_set(dest, destination) for dest in self.sets.values())
            if not in_some_set:
                return self._count(Verdict(rule.action, rule.id))
        return None

    def in_set(self, dest: DestinationSet, destination: Destination) -> bool:
        if dest.ports and not any(_port_matches(p, destination) for p in dest.ports):
            return False
        if dest.any_address:
            return True
        address = _address(destination.address)
        if address is not None and any(address in network for network in dest.cidrs):
            return True
        return self.named_or_placed(dest, destination.names, address)

    def named_or_placed(self, dest: DestinationSet, names, address) -> bool:
        """In the set by one of its domain names, or by the address's country or AS number
        (what a DNS answer can put an address into a set by; CIDRs and ports aside)."""
        if any(name_matches(pattern, name) for pattern in dest.domains for name in names):
            return True
        if address is not None and (dest.countries or dest.asns):
            place = self.countries.place(str(address))
            country, asn = place.country, place.asn
            return country in dest.countries or asn in dest.asns
        return False

    def _rules_for(self, category: str) -> list[Rule]:
        return [r for r in self.policy.rules if r.category in (category, "any")
                and not (r.category == "any" and r.to is not None and category in ("can", "unknown"))]

    def _rule_matches(self, rule: Rule, destination: Destination | None) -> str | bool:
        """False, True (any destination), or the name of the set that matched."""
        if rule.to is None:
            return True
        if destination is None:
            return False
        return next((name for name in rule.to if self.in_set(self.sets[name], destination)), False)

    def _count(self, verdict: Verdict) -> Verdict:
        key = f"{verdict.rule}:{verdict.action}"
        self.counts[key] = self.counts.get(key, 0) + 1
        return verdict


def name_matches(pattern: str, name: str) -> bool:
    """"*.example.com" matches names under example.com (not example.com itself); anything else
    matches only itself. Names compare case-insensitively, without a trailing dot."""
    name = name.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


def _port_matches(ports, destination: Destination) -> bool:
    if destination.port is None:
        return False
    if ports.proto and ports.proto != destination.proto:
        return False
    return ports.first <= destination.port <= ports.last


def _address(text: str | None):
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None
