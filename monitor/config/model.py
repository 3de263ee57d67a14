"""The configuration model: frozen dataclasses, one per section. Defaults are the shipped
behaviour. Detector thresholds are sections the detector modules own (``Thresholds``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..net.reassembly import StreamConfig
from .alerts import AlertSettings
from .sources import Sources
from .uplink import UplinkSettings

if TYPE_CHECKING:
    from ..canbus.plan import DecodePlan
    from .signals import SignalMap

#: What a rule can be about: the finding categories, "unknown" (a flow to a destination in no
#: named set) and "any". Actions, mildest first.
CATEGORIES = ("geolocation", "video", "mapping", "identity", "can", "remote", "unknown")  # of findings
RULE_CATEGORIES = (*CATEGORIES, "any")
ACTIONS = ("allow", "alert", "block")
MODES = ("monitor", "enforce")
ON_STOP = ("fail-open", "fail-closed")
#: ``dns.listen: [inside]``: this gateway's own addresses in the vehicle networks, on interfaces
#: other than the uplinks, found when the daemon starts (daemon/preflight.py).
INSIDE = "inside"


class Thresholds:
    """Detector threshold sections by name (``thresholds.video.min_kbps``). Each section is a
    frozen dataclass owned by its detector module; the loader gets the section types from the
    detector registry, so this module knows none of them."""

    def __init__(self, sections: Mapping[str, object]) -> None:
        object.__setattr__(self, "_sections", dict(sections))

    @classmethod
    def defaults(cls, types: Mapping[str, type]) -> Thresholds:
        return cls({name: kind() for name, kind in types.items()})

    def __getattr__(self, name: str):
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(f"no detector threshold section {name!r}") from None

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("thresholds are frozen")

    def with_sections(self, **sections: object) -> Thresholds:
        """A copy with some sections replaced (evaluations that tune one detector)."""
        return Thresholds({**self._sections, **sections})


@dataclass(frozen=True)
class SignalSource:
    """One DBC signal feeding a VSS signal (Kuksa dbc2vss style)."""

    message: str
    signal: str
    math: str | None = None  # e.g. "x * 3.6"
    mapping: tuple = ()  # ((from, to), ...)
    where: str = ""


@dataclass(frozen=True)
class VinSource:
    """A VIN assembled from multiplexed frames: an index signal and ASCII payload bytes."""

    message: str
    index: str
    first_byte: int = 1
    chars_per_frame: int = 7
    where: str = ""


@dataclass(frozen=True)
class PortRange:
    proto: str | None  # "tcp", "udp", or None for both
    first: int
    last: int


@dataclass(frozen=True)
class DestinationSet:
    """A named set of destinations. A destination belongs to it when it matches one of the
    address criteria (CIDRs, domain names, countries, ASNs; none given: any address) and,
    if ports are listed, one of the ports."""

    name: str
    domains: tuple[str, ...] = ()  # lower case; "*.example.com" is every name under example.com
    cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    ports: tuple[PortRange, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2, through the GeoIP country database
    asns: tuple[int, ...] = ()  # through the GeoIP ASN database
    where: str = ""

    @property
    def any_address(self) -> bool:
        return not (self.domains or self.cidrs or self.countries or self.asns)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str  # one of RULE_CATEGORIES
    action: str  # one of ACTIONS
    to: tuple[str, ...] | None = None  # destination set names; None: any destination
    where: str = ""


@dataclass(frozen=True)
class GeoIp:
    """MaxMind DB files the user provides (GeoLite2-Country / GeoLite2-ASN or compatible)."""

    country: str | None = None
    asn: str | None = None
    overrides: str | None = None  # CSV cidr,country checked before anything else


@dataclass(frozen=True)
class Dns:
    """The enforcer's DNS forwarder: answers for names in destination sets fill the kernel
    sets, each address for its answer's TTL (capped by max_ttl)."""

    listen: tuple[tuple[str, int], ...] = ()  # (address, port) on the in-vehicle side; address may be INSIDE
    listen_at: tuple[str, ...] = ()  # file:line:column of each listen item, for start-up errors
    upstream: tuple[tuple[str, int], ...] = ()  # resolvers to forward to
    max_ttl: int = 86400
    timeout_s: float = 2.0


@dataclass(frozen=True)
class Policy:
    mode: str = "monitor"
    on_stop: str = "fail-open"  # what the kernel does while the daemon is not running
    uplinks: tuple[str, ...] = ()  # interfaces towards the outside (cellular, Wi-Fi client)
    uplinks_at: tuple[str, ...] = ()  # file:line:column of each uplink, for start-up checks
    destinations: tuple[DestinationSet, ...] = ()
    rules: tuple[Rule, ...] = ()
    default: str = "alert"  # the action for a finding no rule matched
    geoip: GeoIp = GeoIp()
    dns: Dns = Dns()


@dataclass(frozen=True)
class Config:
    path: str
    dbc: tuple[str, ...] = ()
    vehicle_networks: tuple[str, ...] | None = None
    signals: dict = field(default_factory=dict)  # VSS path -> tuple[SignalSource | VinSource, ...]
    thresholds: Thresholds = field(default_factory=lambda: Thresholds({}))
    policy: Policy = Policy()
    sources: Sources = field(default_factory=lambda: Sources())
    alerts: AlertSettings = field(default_factory=lambda: AlertSettings())
    uplink: UplinkSettings | None = None
    stream: StreamConfig = StreamConfig()  # TCP reassembly
    plan: DecodePlan | None = None  # the DBCs compiled once, at load
    bus_plans: dict = field(default_factory=dict)  # bus name -> DecodePlan, for buses with their own DBCs
    signal_map: SignalMap | None = None  # ``signals`` checked against the plan and compiled
    key_at: Mapping[str, str] = field(default_factory=dict)  # top-level key -> file:line:column (after extends)
