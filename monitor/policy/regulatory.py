"""The data categories a finding falls under in the rules users cite (US 28 CFR 202, China's
automotive data and surveying-and-mapping rules, the EU GDPR), from the table shipped as data
(policy/data/regulatory-categories.yaml, each entry with its source and paragraph). Each tag says
why it applies to this finding."""

from __future__ import annotations

from ..detect.finding import Finding
from .countries import regulatory_categories

METRES_PER_DEGREE = 111_320.0


def tags(finding: Finding) -> list[dict]:
    out = []
    for entry in regulatory_categories():
        if finding.category not in entry["categories"]:
            continue
        why = _why(entry, finding)
        if why:
            out.append({"id": entry["id"], "name": entry["name"], "regulation": entry["regulation"],
                        "paragraph": entry["paragraph"], "why": why})
    return out


def _why(entry: dict, finding: Finding) -> str | None:
    limit = entry.get("max_precision_m")
    if limit is None:
        return f"{finding.category} data ({finding.detector}: {finding.seen})"
    if finding.position is None:
        return None  # precision unknown (behaviour of a flow): the rule's threshold cannot be shown
    precision = _precision_m(finding)
    if precision > limit:
        return None
    return (f"a decoded position ({finding.detector}, {finding.evidence.get('encoding') or finding.seen}) "
            f"precise to about {precision:g} m, within {limit} m")


def _precision_m(finding: Finding) -> float:
    """How finely the position was encoded: from the format's resolution where the detector
    says it, else from the digits the coordinates carry (at most 7 decimals)."""
    encoding = str(finding.evidence.get("encoding", ""))
    for marker, degrees in (("x1e7", 1e-7), ("x1e6", 1e-6), ("float64", 1e-9), ("float32", 1e-6), ("J1939", 1e-7)):
        if marker in encoding:
            return round(degrees * METRES_PER_DEGREE, 3)
    position = finding.position
    assert position is not None
    decimals = max(_decimals(position.lat), _decimals(position.lon))
    return round(10 ** -decimals * METRES_PER_DEGREE, 3)


def _decimals(value: float) -> int:
    text = f"{value:.7f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0
