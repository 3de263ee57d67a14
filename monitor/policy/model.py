"""The configuration model: frozen dataclasses, one per section. Defaults are the shipped
behaviour; every threshold a detector uses lives here, so a policy file can change it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

#: What a rule can be about: the finding categories, "unknown" (a flow to a destination in no
#: named set) and "any". Actions, mildest first.
RULE_CATEGORIES = ("geolocation", "video", "mapping", "identity", "can", "unknown", "any")
ACTIONS = ("allow", "alert", "block")
MODES = ("monitor", "enforce")
ON_STOP = ("fail-open", "fail-closed")


@dataclass(frozen=True)
class WireThresholds:
    repeat_s: float = 60.0  # one finding per flow and signature per this many seconds; the rest counted
    max_scan_packets: int = 64  # payloads scanned per flow after its last match before giving up
    rtp_min_packets: int = 10  # packets of one SSRC with sequential numbers before calling a flow RTP


@dataclass(frozen=True)
class TaintThresholds:
    position_tolerance_deg: float = 0.0005  # about 50 m: GNSS jitter between the CAN read and the send
    history_s: float = 300.0  # positions this old still count (batched uploads send the past)
    vin: bool = True


@dataclass(frozen=True)
class VideoThresholds:
    min_kbps: float = 250.0  # sub-streams run from tens to hundreds of kbit/s, main streams Mbit/s
    window_s: float = 5.0
    min_duration_s: float = 20.0
    camera_bonus: float = 0.3  # added confidence while a camera signal is active


@dataclass(frozen=True)
class BeaconThresholds:
    min_uploads: int = 6
    max_upload_bytes: int = 4096
    min_period_s: float = 1.0
    max_period_s: float = 900.0
    max_jitter: float = 0.2  # coefficient of variation of the intervals
    gap_s: float = 0.5  # uploads closer than this are one burst


@dataclass(frozen=True)
class MappingThresholds:
    min_km: float = 0.3
    min_bytes_per_km: float = 8000.0  # semantic map harvesting runs near 10 KB/km
    min_correlation: float = 0.5  # between per-window upload bytes and distance driven
    window_s: float = 10.0
    min_speed_kmh: float = 3.0


@dataclass(frozen=True)
class CanThresholds:
    known_ids: dict = field(default_factory=dict)  # bus -> ids allowed beyond the DBCs
    learn_s: float = 0.0  # seconds at the start of each bus to learn ids and rates from (0: DBC only)
    window_s: float = 0.5  # timing is judged per window, not per frame (bus jitter)
    rate_margin: int = 1  # frames a window may exceed the expected count by
    cycle_tolerance: float = 0.5  # DBC cycle time: flag windows with more than (1+this) x expected
    uds_ids: tuple = ()  # extra diagnostic ids (beyond 0x7DF, 0x7E0-0x7EF, 29-bit 0x18DA/0x18DB)


@dataclass(frozen=True)
class Thresholds:
    wire: WireThresholds = WireThresholds()
    taint: TaintThresholds = TaintThresholds()
    video: VideoThresholds = VideoThresholds()
    beacon: BeaconThresholds = BeaconThresholds()
    mapping: MappingThresholds = MappingThresholds()
    can: CanThresholds = CanThresholds()


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


@dataclass(frozen=True)
class Dns:
    """The enforcer's DNS forwarder: answers for names in destination sets fill the kernel
    sets, each address for its answer's TTL (capped by max_ttl)."""

    listen: tuple[tuple[str, int], ...] = ()  # (address, port) on the in-vehicle side
    upstream: tuple[tuple[str, int], ...] = ()  # resolvers to forward to
    max_ttl: int = 86400
    timeout_s: float = 2.0


@dataclass(frozen=True)
class Policy:
    mode: str = "monitor"
    on_stop: str = "fail-open"  # what the kernel does while the daemon is not running
    uplinks: tuple[str, ...] = ()  # interfaces towards the outside (cellular, Wi-Fi client)
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
    thresholds: Thresholds = Thresholds()
    policy: Policy = Policy()
