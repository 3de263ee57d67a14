"""A finding episode as an OCSF Detection Finding (class_uid 2004, OCSF schema 1.2.0).

One record per episode event: Create when the episode opens (written at once), Update when its
position track is full (so every position lands in a record), Close when its flow ends, it
goes quiet, or the input ends. OCSF's own attributes carry what OCSF has words for (time,
severity, confidence, finding_info with the detector as analytic, the endpoints with names,
observables, the vehicle as device); gatewatch's evidence sits in ``unmapped.gatewatch`` and
the hash chain in ``unmapped.chain`` (schema: alerts/detection-finding.schema.json).
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..detect.finding import Destination
from ..net.direction import remote_side

OCSF_VERSION = "1.2.0"
CLASS_UID, CATEGORY_UID = 2004, 2
ACTIVITIES = {1: "Create", 2: "Update", 3: "Close"}
SEVERITIES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
CATEGORY_SEVERITY = {"geolocation": 3, "video": 3, "mapping": 3, "identity": 3, "can": 2, "remote": 4, "unknown": 2}
OBSERVABLE_TYPES = {"hostname": (1, "Hostname"), "ip": (2, "IP Address"), "port": (11, "Port")}
COORDINATE_KEYS = frozenset({"lat", "lon", "latitude", "longitude"})


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def severity_id(category: str, action: str | None) -> int:
    base = CATEGORY_SEVERITY.get(category, 2)
    return min(5, base + 1) if action == "block" else base


def build(episode: Any, activity_id: int, vehicle: dict, decimals: int | None) -> dict:
    """The record of one episode event, without the chain (the writer adds it)."""
    finding = episode.first
    action = finding.action
    sev = severity_id(finding.category, action)
    confidence = episode.confidence
    gatewatch = {
        "vehicle": vehicle,
        "category": finding.category,
        "detector": finding.detector,
        "seen": finding.seen,
        "confidence": confidence,
        "verdict": finding.verdict.as_dict() if finding.verdict else None,
        "rule": finding.verdict.rule if finding.verdict else None,
        "action_taken": episode.action_taken(),
        "episode": episode.summary(activity_id),
        "evidence": _rounded(finding.evidence, decimals),
    }
    if finding.flow:
        gatewatch["flow"] = {k: v for k, v in finding.flow.items() if k not in ("names", "country", "country_source", "asn")}
        gatewatch["destination"] = {"names": _names(finding), "country": finding.flow.get("country"),
                                    "country_source": finding.flow.get("country_source")}
        if finding.flow.get("asn") is not None:
            gatewatch["destination"]["asn"] = finding.flow["asn"]
    gatewatch["regulatory"] = finding.regulatory
    if finding.can:
        gatewatch["can"] = finding.can
    track = episode.track_record(activity_id, decimals)
    if track:
        gatewatch["track"] = track
    if finding.position:
        gatewatch["position"] = _rounded(finding.position.as_dict(), decimals)
    record: dict = {
        "activity_id": activity_id, "activity_name": ACTIVITIES[activity_id],
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "class_uid": CLASS_UID, "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + activity_id, "type_name": f"Detection Finding: {ACTIVITIES[activity_id]}",
        "time": ms(episode.event_time(activity_id)),
        "start_time": ms(episode.first_ts), "end_time": ms(episode.last_ts),
        "count": episode.count,
        "severity_id": sev, "severity": SEVERITIES[sev],
        "confidence_score": round(confidence * 100),
        "confidence_id": 3 if confidence >= 0.8 else 2 if confidence >= 0.5 else 1,
        "message": _message(finding),
        "metadata": {"version": OCSF_VERSION, "log_name": "alerts",
                     "product": {"name": "gatewatch", "vendor_name": "gatewatch", "version": __version__}},
        "finding_info": {"uid": episode.uid, "title": finding.seen, "types": [finding.category],
                         "analytic": {"name": finding.detector, "uid": finding.detector, "type_id": 1, "type": "Rule"},
                         "first_seen_time": ms(episode.first_ts), "last_seen_time": ms(episode.last_ts)},
        "device": {"type_id": 99, "type": "Vehicle", "uid": vehicle["id"], "name": vehicle["id"]},
        "unmapped": {"gatewatch": gatewatch},
    }
    if finding.flow:
        record["evidences"] = [_evidence(finding)]
        record["observables"] = _observables(finding)
    return record


def _message(finding) -> str:
    where = ""
    destination = Destination.of(finding)
    if destination is not None:
        name = destination.names[0] if destination.names else destination.address
        port = f":{destination.port}" if destination.port is not None else ""
        where = f" from {name} to {finding.flow.get('resp_h')}{port}" if _inbound(finding) else f" to {name}{port}"
    elif finding.can:
        where = f" on {finding.can.get('bus')}"
    return f"{finding.category}: {finding.seen}{where}"


def _names(finding) -> list[dict]:
    """The destination's names with how each was learned (DNS answer, TLS/QUIC SNI, HTTP Host)."""
    entries = (finding.flow or {}).get("names")
    if entries:
        return entries
    return [{"name": name, "learned_from": []} for name in finding.names]


def _inbound(finding) -> bool:
    return remote_side((finding.flow or {}).get("direction")) == "orig"


def _evidence(finding) -> dict:
    """The endpoints as the connection ran: ``src_endpoint`` opened it, ``dst_endpoint`` took it.
    The remote party (with its name and country) is the destination of an outbound flow and the
    source of an inbound one (an outside host reaching into the vehicle)."""
    flow = finding.flow
    far = remote_side(flow.get("direction"))
    remote: dict = {"ip": flow.get(f"{far}_h"), "port": flow.get(f"{far}_p")}
    if finding.names:
        remote["hostname"] = finding.names[0]
    if flow.get("country"):
        remote["location"] = {"country": flow["country"]}
    near = "resp" if far == "orig" else "orig"  # the vehicle's end
    vehicle = {"ip": flow.get(f"{near}_h"), "port": flow.get(f"{near}_p")}
    src, dst = (remote, vehicle) if far == "orig" else (vehicle, remote)
    direction_id = {"inbound": 1, "outbound": 2, "internal": 3}.get(flow.get("direction"), 0)
    return {
        "src_endpoint": {k: v for k, v in src.items() if v is not None},
        "dst_endpoint": {k: v for k, v in dst.items() if v is not None},
        "connection_info": {"protocol_name": flow.get("proto"), "direction_id": direction_id,
                            "direction": {0: "Unknown", 1: "Inbound", 2: "Outbound", 3: "Lateral"}[direction_id],
                            "uid": flow.get("community_id")},
    }


def _observables(finding) -> list[dict]:
    """The remote party's address and names (where the evidence puts it), and the port connected to."""
    destination = Destination.of(finding)
    remote = "src_endpoint" if _inbound(finding) else "dst_endpoint"
    out = []
    if destination is not None and destination.address:
        out.append(_observable(f"{remote}.ip", "ip", destination.address))
    if destination is not None and destination.port is not None:
        out.append(_observable("dst_endpoint.port", "port", str(destination.port)))
    out += [_observable(f"{remote}.hostname", "hostname", name) for name in finding.names]
    return out


def _observable(name: str, kind: str, value: str) -> dict:
    type_id, type_name = OBSERVABLE_TYPES[kind]
    return {"name": name, "type_id": type_id, "type": type_name, "value": value}


def rounded_position(lat: float, lon: float, decimals: int | None) -> tuple[float, float]:
    if decimals is None:
        return lat, lon
    return round(lat, decimals), round(lon, decimals)


def _rounded(value, decimals: int | None):
    """Coordinates anywhere in the evidence rounded to the configured precision."""
    if decimals is None:
        return value
    if isinstance(value, dict):
        return {k: (round(v, decimals) if k in COORDINATE_KEYS and isinstance(v, float) else _rounded(v, decimals))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v, decimals) for v in value]
    return value


def overflow(vehicle: dict, dropped: int, first_s: float, last_s: float, why: str) -> dict:
    """The record of alert records the log had to drop (the disk was full and the backlog too):
    a finding about the monitor itself, category ``monitor``, so the chain says what it lacks."""
    uid = f"{vehicle['id']}:alert_log.overflow:{ms(first_s)}"
    seen = f"{dropped} alert record(s) dropped: {why}"
    return {
        "activity_id": 1, "activity_name": "Create", "category_uid": CATEGORY_UID, "category_name": "Findings",
        "class_uid": CLASS_UID, "class_name": "Detection Finding", "type_uid": CLASS_UID * 100 + 1,
        "type_name": "Detection Finding: Create", "time": ms(last_s), "start_time": ms(first_s), "end_time": ms(last_s),
        "count": dropped, "severity_id": 4, "severity": SEVERITIES[4], "confidence_score": 100, "confidence_id": 3,
        "message": f"monitor: {seen}",
        "metadata": {"version": OCSF_VERSION, "log_name": "alerts",
                     "product": {"name": "gatewatch", "vendor_name": "gatewatch", "version": __version__}},
        "finding_info": {"uid": uid, "title": seen, "types": ["monitor"],
                         "analytic": {"name": "alert_log.overflow", "uid": "alert_log.overflow", "type_id": 1, "type": "Rule"},
                         "first_seen_time": ms(first_s), "last_seen_time": ms(last_s)},
        "device": {"type_id": 99, "type": "Vehicle", "uid": vehicle["id"], "name": vehicle["id"]},
        "unmapped": {"gatewatch": {
            "vehicle": vehicle, "category": "monitor", "detector": "alert_log.overflow", "seen": seen, "confidence": 1.0,
            "verdict": {"action": "alert", "rule": "gatewatch"}, "rule": "gatewatch", "action_taken": "alerted",
            "episode": {"uid": uid, "state": "closed", "count": dropped, "first_ts": first_s, "last_ts": last_s,
                        "positions_total": 0},
            "evidence": {"records_dropped": dropped, "why": why}, "regulatory": []}},
    }
