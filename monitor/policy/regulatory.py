"""Which rule applies to this data going to this country: regulatory tags per finding, from the
table shipped as data (policy/data/regulatory-categories.yaml). Each rule there names the data
categories it covers, where the data must come from (origin) and where it must go (destination);
this module only evaluates them, so a new rule or a changed country list is a data change.

Decisions, each stated in the table's comments and here:
- US 28 CFR 202 concerns transactions by US persons, and 15 CFR 791 vehicles in the US market:
  both apply only when the vehicle is in the US or is configured as registered there
  (``alerts.vehicle_country: US``), and only towards the countries each rule names.
- China's rules concern data collected in China: the vehicle's position at the finding is in
  mainland China (Hong Kong and Macau are outside it) and the destination is not. Registration
  stands in only when the position is unknown.
- GDPR Chapter V: personal data from a vehicle in the EEA, or one registered there (its data
  follows its EEA controller wherever it drives), to a country without an adequacy decision.
  The US decision covers only organisations certified under the Data Privacy Framework, which a
  capture cannot show: a US destination gets the tag as "may" apply, saying so.
- A destination whose country is unknown (a special-purpose address, no registry entry) gets
  every tag its data and origin call for as "may" apply, with the reason: guessing either way
  would hide it.
Every tag says why: the data (a decoded position's precision against a rule's threshold), where
the vehicle was, and where the data went.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..config.model import CATEGORIES
from ..config.policy import shipped_country_lists
from ..detect.finding import Finding
from ..errors import PolicyError
from ..state import VehicleState
from .countries import regulatory_categories
from .wherevehicle import VehiclePlace, vehicle_place

METRES_PER_DEGREE = 111_320.0
TABLE = "monitor/policy/data/regulatory-categories.yaml"
REGISTERED = ("also", "if-position-unknown")


@dataclass(frozen=True)
class CountryList:
    name: str
    countries: frozenset[str]
    partial: tuple[tuple[str, str], ...] = ()  # (country, why it is covered only in part)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    regulation: str
    paragraph: str
    categories: frozenset[str]
    max_precision_m: float | None
    origin: tuple[CountryList, ...]
    registered: str  # one of REGISTERED
    within: tuple[CountryList, ...]  # destination in one of these
    outside: tuple[CountryList, ...]  # destination in none of these

    def header(self) -> dict:
        return {"id": self.id, "name": self.name, "regulation": self.regulation, "paragraph": self.paragraph}


def tags(finding: Finding, state: VehicleState | None = None, registered: str | None = None) -> list[dict]:
    """The tags of every rule whose data, origin and destination conditions this finding meets."""
    out: list[dict] = []
    place: list[VehiclePlace | None] = []  # looked up once, and only when a rule needs it
    for rule in rules():
        if finding.category not in rule.categories:
            continue
        data = _data_why(rule, finding)
        if data is None:
            continue
        if not place:
            place.append(vehicle_place(finding, state))
        origin = _origin_why(rule, place[0], registered)
        destination = _destination(rule, finding) if origin is not None else None
        if origin is None or destination is None:
            continue
        applies, where = destination
        out.append({**rule.header(), "applies": applies, "why": f"{data}; {origin}; {where}"})
    return out


def _data_why(rule: Rule, finding: Finding) -> str | None:
    limit = rule.max_precision_m
    if limit is None:
        return f"{finding.category} data ({finding.detector}: {finding.seen})"
    if finding.position is None:
        return None  # precision unknown (behaviour of a flow): the rule's threshold cannot be shown
    precision = _precision_m(finding)
    if precision > limit:
        return None
    return (f"a decoded position ({finding.detector}, {finding.evidence.get('encoding') or finding.seen}) "
            f"precise to about {precision:g} m, within {limit:g} m")


def _origin_why(rule: Rule, place: VehiclePlace | None, registered: str | None) -> str | None:
    """Why the data comes from where the rule looks, or None."""
    here = place.country if place is not None else None
    if place is not None and (named := _named(rule.origin, here)):
        return f"{place.describe()}, in {named}"
    if registered is None or not _named(rule.origin, registered):
        return None
    if here is None:
        where = place.describe() if place is not None else "no position of the vehicle is known"
        return f"{where}; the vehicle is registered in {registered} (alerts.vehicle_country)"
    if rule.registered == "also":
        return f"the vehicle is registered in {registered} (alerts.vehicle_country), now in {here}"
    return None


def _destination(rule: Rule, finding: Finding) -> tuple[str, str] | None:
    """("yes" or "may", why) when the destination meets the rule, else None."""
    flow = finding.flow or {}
    country = flow.get("country")
    if not country:
        return "may", f"the destination's country is unknown ({flow.get('country_source') or 'no flow'})"
    if rule.within:
        named = _named(rule.within, country)
        return ("yes", f"the destination is in {country}, in {named}") if named else None
    for listed in rule.outside:
        if country in listed.countries:
            partial = dict(listed.partial).get(country)
            return ("may", f"the destination is in {country}, in {listed.name} only in part: {partial}") if partial else None
    return "yes", f"the destination is in {country}, outside {', '.join(x.name for x in rule.outside)}"


def _named(lists: tuple[CountryList, ...], country: str | None) -> str | None:
    return next((x.name for x in lists if country in x.countries), None) if country else None


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    """The table compiled once; a malformed entry is a PolicyError naming it."""
    doc = regulatory_categories()
    lists = {name: CountryList(name, frozenset(entry["countries"])) for name, entry in shipped_country_lists().items()}
    for name, entry in doc["lists"].items():
        codes = [*entry["countries"], *(entry.get("partial") or {})]
        if not all(isinstance(code, str) and len(code) == 2 and code.isupper() for code in codes):
            raise PolicyError(f"{TABLE}: list {name!r}: countries are ISO 3166-1 alpha-2 codes (quote NO), not {codes}")
        lists[name] = CountryList(name, frozenset(entry["countries"]), tuple(sorted((entry.get("partial") or {}).items())))
    return tuple(_rule(entry, lists) for entry in doc["rules"])


def _rule(entry: dict, lists: dict[str, CountryList]) -> Rule:
    where = f"{TABLE}: rule {entry.get('id')!r}"
    keys = {"id", "name", "regulation", "paragraph", "categories", "max_precision_m", "origin", "destination"}
    if set(entry) - keys or not set(entry) >= keys - {"max_precision_m"}:
        raise PolicyError(f"{where}: keys must be {sorted(keys)}, not {sorted(entry)}")
    unknown = set(entry["categories"]) - set(CATEGORIES)
    origin, destination = entry["origin"], entry["destination"]
    if unknown or origin.get("registered") not in REGISTERED or len(destination) != 1 or set(destination) - {"in", "not_in"}:
        raise PolicyError(f"{where}: categories from {CATEGORIES}, origin.registered one of {REGISTERED}, "
                          "destination either 'in' or 'not_in'")
    return Rule(entry["id"], entry["name"], entry["regulation"], entry["paragraph"], frozenset(entry["categories"]),
                entry.get("max_precision_m"), _lists(origin["countries"], lists, where), origin["registered"],
                _lists(destination.get("in", ()), lists, where), _lists(destination.get("not_in", ()), lists, where))


def _lists(names, lists: dict[str, CountryList], where: str) -> tuple[CountryList, ...]:
    out = []
    for name in names:
        if name in lists:
            out.append(lists[name])
        elif len(name) == 2 and name.isupper():
            out.append(CountryList(name, frozenset([name])))
        else:
            raise PolicyError(f"{where}: {name!r} is neither a country list ({', '.join(sorted(lists))}) nor a country code")
    return tuple(out)


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
