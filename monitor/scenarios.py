"""Seed scenarios: a folder with recordings, a configuration and ``expect.yaml``, replayed and
checked. ``make demo`` and the seed test both run them through here.

expect.yaml:

    config: config.yaml            # the configuration and policy the scenario runs under
    vehicle: dashcam               # the vehicle id its alert log is written under
    alerts:                        # the alert episodes that must come out
      - {category: video, detector: wire.rtp, destination: 198.51.100.70, action: alert, episodes: 1}
      - {category: geolocation, detector: taint.position, min_hits: 3}
    absent:                        # what must not come out
      - {category: mapping}
    exhaustive: true               # every alert episode must match an entry of ``alerts``

An entry matches an episode when every key it names (category, detector, destination,
port, action, rule) equals the episode's; ``episodes`` (default 1) is how many must match,
``min_hits`` the fewest hits they must have together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .alerts.log import AlertLog, prepare
from .alerts.read import flat, records
from .config.model import Config
from .config.yamlfile import Located, LocatedList, child, known_keys, load_yaml
from .errors import PolicyError
from .pipeline import Monitor, Sinks, load_config, replay
from .recordings import sort_recordings

MATCH_KEYS = ("category", "detector", "destination", "port", "action", "rule", "seen")
ENTRY_KEYS = (*MATCH_KEYS, "episodes", "min_hits")
RECORDING_SUFFIXES = (".log", ".pcap", ".pcapng", ".asc", ".blf", ".trc")
MAX_COUNT = 1_000_000_000  # episodes or hits an expectation may name


@dataclass
class Expectation:
    match: dict
    episodes: int = 1
    min_hits: int = 0
    where: str = ""


@dataclass
class Scenario:
    folder: Path
    config: Path
    vehicle: str
    alerts: list[Expectation]
    absent: list[Expectation]
    exhaustive: bool = True

    @property
    def name(self) -> str:
        return self.folder.name

    def recordings(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.suffix in RECORDING_SUFFIXES)


@dataclass
class Check:
    """One entry of expect.yaml judged (an ``alerts`` or ``absent`` entry, or ``exhaustive``):
    ``gatewatch test`` makes each a JUnit test case, so a pipeline shows which one failed."""

    kind: str  # "alerts", "absent" or "exhaustive"
    name: str  # what it expects, in words
    where: str  # expect.yaml:line:column
    problems: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # the episodes that bear on it, described


@dataclass
class Outcome:
    scenario: Scenario
    rows: list[dict]  # one per alert episode (its Create record, with the hits of its last record)
    problems: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # detectors that raised (also in problems)

    @property
    def ok(self) -> bool:
        return not self.problems


def scenario_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/expect.yaml"))


def load_scenario(folder: Path) -> Scenario:
    doc = load_yaml(folder / "expect.yaml")
    known_keys(doc, ("config", "vehicle", "alerts", "absent", "exhaustive"), "expect.yaml")
    config = folder / str(doc.get("config", "config.yaml"))
    if not config.is_file():
        raise PolicyError(f"{doc.at('config')}: no configuration {config.name!r} in {folder}")
    return Scenario(folder, config, str(doc.get("vehicle", folder.name)),
                    _entries(child(doc, "alerts", LocatedList, "a list")),
                    _entries(child(doc, "absent", LocatedList, "a list")), bool(doc.get("exhaustive", True)))


def _entries(items: LocatedList) -> list[Expectation]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Located):
            raise PolicyError(f"{items.at(i)}: an expectation is a mapping of {', '.join(ENTRY_KEYS)}")
        known_keys(item, ENTRY_KEYS, "an expectation")
        out.append(Expectation({k: item[k] for k in MATCH_KEYS if k in item}, _count(item, "episodes", 1),
                               _count(item, "min_hits", 0), items.at(i)))
    return out


def _count(item: Located, key: str, default: int) -> int:
    """A count of an expectation: a whole number from 0 to MAX_COUNT (not a float, a string or a boolean)."""
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise PolicyError(f"{item.at(key)}: {key} is a whole number from 0 to {MAX_COUNT}, not {str(value)[:40]!r}")
    return value


def run_scenario(scenario: Scenario, output: Path, config_path: Path | None = None, config: Config | None = None) -> Outcome:
    """Replay the scenario's recordings into ``output`` (replaced) and check expect.yaml. A
    caller that tells a bad configuration from a bad recording loads ``config`` itself."""
    config = config or load_config(config_path or scenario.config)
    prepare(output, force=True)
    log = AlertLog(output, config.alerts, vehicle_id=scenario.vehicle)
    monitor = Monitor(config, Sinks.of_log(log))
    try:
        replay(monitor, *sort_recordings(scenario.recordings()))
    finally:
        log.close()
    rows = episodes(output)
    errors = [f"{scenario.folder}: detector {name} raised on {n} batch(es) (see the log)"
              for name, n in monitor.summary()["detector_errors"].items()]
    judged = checks(scenario, rows)
    return Outcome(scenario, rows, errors + [p for c in judged for p in c.problems], judged, errors)


def episodes(folder: Path) -> list[dict]:
    out: dict[str, dict] = {}
    for record in records([folder]):
        row = flat(record)
        entry = out.setdefault(row["episode"], row)
        entry["count"] = max(entry["count"] or 1, row["count"] or 1)
    return sorted(out.values(), key=lambda r: r["time"])


def _matches(row: dict, match: dict) -> bool:
    return all(str(row.get(key)) == str(value) for key, value in match.items())


def check(scenario: Scenario, rows: list[dict]) -> list[str]:
    return [problem for judged in checks(scenario, rows) for problem in judged.problems]


def checks(scenario: Scenario, rows: list[dict]) -> list[Check]:
    """Every entry of expect.yaml judged against the episodes, in file order, then ``exhaustive``."""
    out = [_present(want, rows) for want in scenario.alerts] + [_absent(never, rows) for never in scenario.absent]
    if scenario.exhaustive:
        matched = {i for want in scenario.alerts for i, row in enumerate(rows) if _matches(row, want.match)}
        unexpected = [row for i, row in enumerate(rows) if i not in matched]
        out.append(Check("exhaustive", "every alert episode is expected", f"{scenario.folder / 'expect.yaml'}",
                         [f"{scenario.folder / 'expect.yaml'}: unexpected alert: {row['category']} {row['detector']} "
                          f"to {row['destination']} ({row['action']}, {row['seen']})" for row in unexpected],
                         [describe(row) for row in unexpected]))
    return out


def _present(want: Expectation, rows: list[dict]) -> Check:
    hits = [row for row in rows if _matches(row, want.match)]
    total = sum(row["count"] or 1 for row in hits)
    judged = Check("alerts", f"{want.episodes} episode(s) of {_words(want.match)}"
                   + (f", at least {want.min_hits} hit(s)" if want.min_hits else ""), want.where,
                   seen=[describe(row) for row in hits or _near(rows, want.match)])
    if len(hits) != want.episodes:
        judged.problems.append(f"{want.where}: {want.match}: {len(hits)} episode(s), expected {want.episodes}")
    elif total < want.min_hits:
        judged.problems.append(f"{want.where}: {want.match}: {total} hit(s), expected at least {want.min_hits}")
    return judged


def _absent(never: Expectation, rows: list[dict]) -> Check:
    hits = [row for row in rows if _matches(row, never.match)]
    judged = Check("absent", f"no {_words(never.match)}", never.where, seen=[describe(row) for row in hits])
    if hits:
        judged.problems.append(f"{never.where}: {never.match} must not come out, but {len(hits)} episode(s) did")
    return judged


def _near(rows: list[dict], match: dict) -> list[dict]:
    """When nothing matched: the episodes of the same category or detector, to show what came out instead."""
    keys = [k for k in ("detector", "category") if k in match]
    return [row for row in rows if any(str(row.get(k)) == str(match[k]) for k in keys)]


def _words(match: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in match.items()) or "any alert"


def describe(row: dict) -> str:
    """One episode in a line: what, by which detector, to whom, the verdict, hits and when."""
    where = str(row["destination"]) + (f":{row['port']}" if row["port"] is not None else "")
    return (f"{row['category']} {row['detector']} to {where} ({row['action']}, rule {row['rule']}, "
            f"{row['count'] or 1} hit(s), {row['seen']})")
