"""The policy part of a configuration file: mode, uplinks, named destination sets, rules.

Every check names file:line:column of the offending key or list item: unknown keys, wrong
types, bad CIDRs, wildcards anywhere but the front of a name, bad ports, duplicate rule ids,
rules naming sets that do not exist, and rules that can never match because one above them
takes everything they would.
"""

from __future__ import annotations

import ipaddress
import re
from importlib import resources
from pathlib import Path

import yaml

from ..errors import PolicyError
from ..limits import MAX_DESTINATION_SETS, MAX_RULES
from . import model
from .yamlfile import Located, LocatedList, child, existing_file, known_keys

POLICY_KEYS = ("mode", "on_stop", "uplinks", "geoip", "dns", "destinations", "rules", "default", "country_lists")
SET_KEYS = ("domains", "cidrs", "ports", "countries", "asns")
RULE_KEYS = ("id", "category", "action", "to")
NOT_ADDRESSED = ("can", "unknown")  # rule categories about no finding's destination
# An "unknown" rule without "to" judges flows to destinations in no set; with "to", flows to
# destinations in those sets (every flow to a country of concern, say). A "can" rule has none.

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_PORT = re.compile(r"^(?:(tcp|udp)/)?(\d{1,5})(?:-(\d{1,5}))?$")
_RULE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def load_policy(doc: Located, config_path: Path) -> model.Policy:
    lists = _country_lists(doc)
    return model.Policy(
        mode=_choice(doc, "mode", model.MODES, "monitor"),
        on_stop=_choice(doc, "on_stop", model.ON_STOP, "fail-open"),
        uplinks=tuple(uplinks := _string_list(doc, "uplinks")),
        uplinks_at=tuple(uplinks.at(i) for i in range(len(uplinks))),
        destinations=(sets := _destination_sets(doc, lists)),
        rules=_rules(doc, {s.name for s in sets}),
        default=_choice(doc, "default", model.ACTIONS, "alert"),
        geoip=_geoip(doc, config_path, sets),
        dns=_dns(doc),
    )


# ------------------------------------------------------------------ scalars and lists

def _choice(node: Located, key: str, allowed: tuple, default: str) -> str:
    value = node.get(key, default)
    if value not in allowed:
        raise PolicyError(f"{node.at(key)}: {key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _string_list(node: Located, key: str) -> LocatedList:
    value = child(node, key, LocatedList, "a list")
    for i, item in enumerate(value):
        if not isinstance(item, str | int) or isinstance(item, bool):
            raise PolicyError(f"{value.at(i)}: {key} entries must be strings, not {item!r}")
    return value


def _each(node: Located, key: str, parse) -> tuple:
    """parse(item, "file:line:column" of the item) for every item of the list under key."""
    items = _string_list(node, key)
    return tuple(parse(value, items.at(i)) for i, value in enumerate(items))


def _mapping(node: Located, key: str) -> Located:
    return child(node, key, Located, "a mapping")


# ------------------------------------------------------------------ destination sets

def _destination_sets(doc: Located, lists: dict[str, tuple[str, ...]]) -> tuple[model.DestinationSet, ...]:
    sets = _mapping(doc, "destinations")
    if len(sets) > MAX_DESTINATION_SETS:
        raise PolicyError(f"{doc.at('destinations')}: {len(sets)} destination sets (at most {MAX_DESTINATION_SETS})")
    out = []
    for name, body in sets.items():
        if not isinstance(name, str) or not _RULE_ID.match(name):
            raise PolicyError(f"{sets.at(name)}: destination set name {name!r} must be letters, digits, . _ -")
        if not isinstance(body, Located):
            raise PolicyError(f"{sets.at(name)}: destination set {name!r} must be a mapping of {', '.join(SET_KEYS)}")
        known_keys(body, SET_KEYS, f"destination set {name!r}")
        out.append(model.DestinationSet(
            name=name,
            domains=_each(body, "domains", _domain),
            cidrs=_each(body, "cidrs", _cidr),
            ports=_each(body, "ports", _ports),
            countries=tuple(code for codes in _each(body, "countries", lambda v, at: _countries(v, at, lists))
                            for code in codes),
            asns=_each(body, "asns", _asn),
            where=sets.at(name),
        ))
    return tuple(out)


def _domain(value, at: str) -> str:
    """A host name, or "*.name" for every name below it. The wildcard only stands first and
    alone in its label: "*.example.com" yes; "*example.com", "a.*.com", "*" no."""
    text = str(value).lower().rstrip(".")
    rest = text.removeprefix("*.")
    labels = rest.split(".")
    if "*" in rest or len(rest) > 253 or not all(_LABEL.match(label) for label in labels) or (
            text.startswith("*.") and len(labels) < 2):
        raise PolicyError(f"{at}: {value!r} is not a domain name or a leading wildcard like '*.example.com'")
    return text


def _cidr(value, at: str):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as error:
        raise PolicyError(f"{at}: {value!r} is not a CIDR: {error}") from None


def _ports(value, at: str) -> model.PortRange:
    match = _PORT.match(str(value).lower())
    if match:
        proto, first, last = match.group(1), int(match.group(2)), int(match.group(3) or match.group(2))
        if 0 < first <= last <= 65535:
            return model.PortRange(proto, first, last)
    raise PolicyError(f"{at}: {value!r} is not a port: use 443, tcp/443, udp/5000-5010 (1-65535)")


def _country(value, at: str) -> str:
    if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z]{2}", value)):
        raise PolicyError(f"{at}: {value!r} is not an ISO 3166-1 alpha-2 country code (like DE)")
    return value.upper()


def _countries(value, at: str, lists: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A country code, or a named list (countries-of-concern) standing for its codes."""
    if isinstance(value, str) and value in lists:
        return lists[value]
    if isinstance(value, str) and len(value) > 2:
        raise PolicyError(f"{at}: {value!r} is not an ISO 3166-1 alpha-2 country code (like DE) "
                          f"or a named list ({', '.join(sorted(lists))})")
    return (_country(value, at),)


def shipped_country_lists() -> dict[str, dict]:
    """The named lists shipped as data (config/data/country-lists.yaml), with their sources."""
    text = resources.files("monitor.config").joinpath("data/country-lists.yaml").read_text()
    return yaml.safe_load(text)


def _country_lists(doc: Located) -> dict[str, tuple[str, ...]]:
    """Shipped lists, overridden or extended by the configuration's ``country_lists``."""
    lists = {name: tuple(entry["countries"]) for name, entry in shipped_country_lists().items()}
    node = _mapping(doc, "country_lists")
    for name, codes in node.items():
        if not isinstance(name, str) or not _LABEL.match(name) or len(name) <= 2:
            raise PolicyError(f"{node.at(name)}: {name!r} is not a list name (letters, digits, - and _; longer than 2)")
        items = codes if isinstance(codes, LocatedList) else None
        if items is None:
            raise PolicyError(f"{node.at(name)}: country list {name} must be a list of country codes")
        lists[name] = tuple(_country(code, items.at(i)) for i, code in enumerate(items))
    return lists


def _asn(value, at: str) -> int:
    text = str(value).upper().removeprefix("AS")
    if not text.isdigit() or not 0 < int(text) < 2**32:
        raise PolicyError(f"{at}: {value!r} is not an AS number (like 16509 or AS16509)")
    return int(text)


# ------------------------------------------------------------------ rules

def _rules(doc: Located, set_names: set[str]) -> tuple[model.Rule, ...]:
    entries = doc.get("rules")
    if entries is None:
        return ()
    if not isinstance(entries, LocatedList):
        raise PolicyError(f"{doc.at('rules')}: rules must be a list")
    if len(entries) > MAX_RULES:  # each rule is checked against all above it: bounded, quadratic
        raise PolicyError(f"{doc.at('rules')}: {len(entries)} rules (at most {MAX_RULES})")
    rules: list[model.Rule] = []
    first_at: dict[str, str] = {}
    for i, entry in enumerate(entries):
        rule = _rule(entry, entries.at(i), set_names)
        if rule.id in first_at:
            raise PolicyError(f"{rule.where}: duplicate rule id {rule.id!r} (first at {first_at[rule.id]})")
        first_at[rule.id] = rule.where
        for earlier in rules:
            if _shadows(earlier, rule):
                raise PolicyError(f"{rule.where}: rule {rule.id!r} can never match: rule {earlier.id!r} "
                                  f"at {earlier.where} comes first and takes everything it would")
        rules.append(rule)
    return tuple(rules)


def _rule(entry, at: str, set_names: set[str]) -> model.Rule:
    if not isinstance(entry, Located):
        raise PolicyError(f"{at}: a rule is a mapping with {', '.join(RULE_KEYS)}")
    known_keys(entry, RULE_KEYS, "a rule")
    for key in ("id", "category", "action"):
        if key not in entry:
            raise PolicyError(f"{entry.at()}: rule needs {key!r}")
    rule_id = entry["id"]
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise PolicyError(f"{entry.at('id')}: rule id {rule_id!r} must be 1-64 letters, digits, . _ -")
    category = _choice(entry, "category", model.RULE_CATEGORIES, "")
    action = _choice(entry, "action", model.ACTIONS, "")
    to = None
    if "to" in entry:
        if category == "can":
            raise PolicyError(f"{entry.at('to')}: a 'can' rule has no destination: remove 'to'")
        items = _one_or_list(entry, "to")
        to = tuple(items)
        if not to:
            raise PolicyError(f"{entry.at('to')}: 'to' lists no destination set (leave it out to mean any)")
        for i, name in enumerate(to):
            if name not in set_names:
                raise PolicyError(f"{items.at(i)}: rule {rule_id!r} names destination set {name!r}, "
                                  f"which is not defined under destinations")
    return model.Rule(id=rule_id, category=category, action=action, to=to, where=entry.at())


def _one_or_list(node: Located, key: str) -> LocatedList:
    """``to: fleet`` is ``to: [fleet]``."""
    value = node[key]
    if not isinstance(value, str):
        return _string_list(node, key)
    out = LocatedList([value])
    out.marks, out.mark, out.path = [node.marks[key]], node.marks[key], node.path
    return out


def _shadows(earlier: model.Rule, later: model.Rule) -> bool:
    """Does every finding or flow that ``later`` matches meet ``earlier`` first?"""
    if earlier.category == later.category == "unknown" and (earlier.to is None) != (later.to is None):
        return False  # in no set vs in these sets: disjoint
    covers_destinations = earlier.to is None or (later.to is not None and set(later.to) <= set(earlier.to))
    if earlier.category == "any":
        if earlier.to is None:
            return True
        return later.category not in NOT_ADDRESSED and covers_destinations
    return earlier.category == later.category and covers_destinations


# ------------------------------------------------------------------ geoip and dns

def _geoip(doc: Located, config_path: Path, sets: tuple[model.DestinationSet, ...]) -> model.GeoIp:
    """Countries come from the built-in RIR table unless a MaxMind country database overrides
    it; AS numbers need a MaxMind ASN database; ``overrides`` is a CSV of cidr,country."""
    node = _mapping(doc, "geoip")
    known_keys(node, ("country", "asn", "overrides"), "geoip")
    paths = {}
    for key in ("country", "asn", "overrides"):
        if key in node:
            what = "override table" if key == "overrides" else "database"
            paths[key] = existing_file(node, key, config_path, f"GeoIP {key} {what}", show_resolved=True)
    for dest in sets:
        if dest.asns and "asn" not in paths:
            raise PolicyError(f"{dest.where}: destination set {dest.name!r} lists asn values, "
                              "which need geoip: {asn: FILE.mmdb}")
    return model.GeoIp(**paths)


def _dns(doc: Located) -> model.Dns:
    node = _mapping(doc, "dns")
    known_keys(node, ("listen", "upstream", "max_ttl", "timeout_s"), "dns")
    max_ttl, timeout = node.get("max_ttl", 86400), node.get("timeout_s", 2.0)
    if not isinstance(max_ttl, int) or isinstance(max_ttl, bool) or max_ttl < 1:
        raise PolicyError(f"{node.at('max_ttl')}: max_ttl must be a whole number of seconds >= 1")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise PolicyError(f"{node.at('timeout_s')}: timeout_s must be a positive number of seconds")
    listen = _string_list(node, "listen")
    return model.Dns(listen=_each(node, "listen", _listen_endpoint), listen_at=tuple(listen.at(i) for i in range(len(listen))),
                     upstream=_each(node, "upstream", _endpoint), max_ttl=max_ttl, timeout_s=float(timeout))


def _parse_endpoint(text: str, default_port: int = 53) -> tuple[str, int]:
    """ "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353" -> (address, port)."""
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else -1
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text) if port_text.isdigit() else -1
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, port


def _listen_endpoint(value, at: str) -> tuple[str, int]:
    """An address as for upstream, or ``inside`` / ``inside:PORT`` (the gateway's own addresses
    in the vehicle networks, found at start)."""
    text = str(value)
    if text == model.INSIDE or text.startswith(f"{model.INSIDE}:"):
        port = text.partition(":")[2] or "53"
        if port.isdigit() and 0 < int(port) < 65536:
            return model.INSIDE, int(port)
        raise PolicyError(f"{at}: {text!r}: bad port (inside or inside:PORT, 1-65535)")
    try:
        return _parse_endpoint(text)
    except ValueError:
        raise PolicyError(f"{at}: {text!r} is not an address, address:port or {model.INSIDE}") from None


def _endpoint(value, at: str) -> tuple[str, int]:
    text = str(value)
    try:
        return _parse_endpoint(text)
    except ValueError:
        raise PolicyError(f"{at}: {text!r} is not an address or address:port") from None
