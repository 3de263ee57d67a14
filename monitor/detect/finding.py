"""Finding: what a detector reports. One shape for every detector family.

A finding says which category of data it is about (geolocation, video, mapping, identity, can;
"unknown" for a flow to a destination the policy names nowhere),
what was seen (a protocol or a pattern), where it came from (a flow, or CAN frames), the
destination's names, a decoded position where there is one, a confidence in [0, 1], and the
detector that made it. ``evidence`` holds the detector's own figures (measured bitrate, the
matched encoding, the checksum verdict...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from ..config.model import CATEGORIES
from ..net.direction import remote_side


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float
    time: str | None = None  # ISO 8601 UTC, where the format carries a time

    @property
    def plausible(self) -> bool:
        """In range and not the 0,0 devices send without a fix. Implausible fixes are still
        reported (the message is a location report) but flagged and given less confidence."""
        return -90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0 and (self.lat, self.lon) != (0.0, 0.0)

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"lat": round(self.lat, 7), "lon": round(self.lon, 7)}
        if self.time:
            out["time"] = self.time
        if not self.plausible:
            out["plausible"] = False
        return out


class FlowEvidence(TypedDict, total=False):
    """The flow a network finding is about, as the net stage describes it (NetView.describe),
    with the destination's place added by the pipeline; detectors may add the flow's counters."""

    flow_id: int
    community_id: str | None
    proto: str
    orig_h: str
    orig_p: int
    resp_h: str
    resp_p: int
    vlan: int
    direction: str
    names: list[dict]  # the remote side's names, each with how it was learned
    country: str | None
    country_source: str
    asn: int | None
    orig_bytes: int
    resp_bytes: int
    resp_pkts: int


class CanEvidence(TypedDict):
    """The CAN frames a finding is about (canview.can_ref)."""

    bus: str
    ids: list[str]  # "0x1A0"
    frames: int
    first_ts: float
    last_ts: float


@dataclass(frozen=True)
class Verdict:
    """The policy's decision on a finding: the action and the rule that made it."""

    action: str  # allow, alert, block
    rule: str | None  # the deciding rule's id, or "default"
    matched_set: str | None = None  # the destination set through which the rule matched

    def as_dict(self) -> dict:
        """As the alert record carries it."""
        out: dict[str, Any] = {"action": self.action, "rule": self.rule}
        if self.matched_set:
            out["destination_set"] = self.matched_set
        return out


@dataclass
class Finding:
    ts: float  # seconds, from the data
    detector: str
    category: str
    seen: str
    confidence: float
    flow: FlowEvidence | None = None
    names: list[str] = field(default_factory=list)
    can: CanEvidence | None = None
    position: Position | None = None
    evidence: dict = field(default_factory=dict)
    track: list[Position] = field(default_factory=list)  # every position of a batch upload (position: the first plausible)
    regulatory: list[dict] = field(default_factory=list)  # the rules' data categories it falls under, each with why
    verdict: Verdict | None = None  # the policy's, once it has decided

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown finding category {self.category!r}")
        self.confidence = round(min(1.0, max(0.0, float(self.confidence))), 3)

    @property
    def action(self) -> str | None:
        """The policy's action (allow, alert, block); None before the policy has decided."""
        return self.verdict.action if self.verdict else None

    @property
    def is_alert(self) -> bool:
        """What the alert log gets: every finding the policy does not allow."""
        return self.action != "allow"

    def as_dict(self) -> dict:
        out = asdict(self)
        out["position"] = self.position.as_dict() if self.position else None
        out["track"] = [p.as_dict() for p in self.track]
        out["verdict"] = self.verdict.as_dict() if self.verdict else None
        return {key: value for key, value in out.items() if value not in (None, [], {})}


@dataclass(frozen=True)
class Destination:
    address: str | None
    port: int | None = None
    proto: str | None = None  # "tcp", "udp", ...
    names: tuple[str, ...] = ()

    @staticmethod
    def of(finding: Finding) -> Destination | None:
        """The remote side of the finding's flow (the server, for a vehicle-initiated flow)."""
        flow = finding.flow
        if not flow:
            return None
        return Destination.of_flow(flow, finding.names)

    @staticmethod
    def of_flow(flow: dict, names) -> Destination:
        """The remote party's address and names, and the port the flow was opened to: the
        service, never an inbound connection's ephemeral source port (its address is the remote)."""
        side = remote_side(flow.get("direction"))
        return Destination(flow.get(f"{side}_h"), flow.get("resp_p"), flow.get("proto"), tuple(n.lower() for n in names))
