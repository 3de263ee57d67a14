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
from .config.yamlfile import Located, LocatedList, child, known_keys, load_yaml
from .errors import PolicyError
from .pipeline import Monitor, Sinks, load_config, replay
from .recordings import sort_recordings

MATCH_KEYS = ("category", "detector", "destination", "port", "action", "rule", "seen")
ENTRY_KEYS = (*MATCH_KEYS, "episodes", "min_hits")
RECORDING_SUFFIXES = (".log", ".pcap", ".pcapng", ".asc", ".blf", ".trc")


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
class Outcome:
    scenario: Scenario
    rows: list[dict]  # one per alert episode (its Create record, with the hits of its last record)
    problems: list[str] = field(default_factory=list)

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
        out.append(Expectation({k: item[k] for k in MATCH_KEYS if k in item}, int(item.get("episodes", 1)),
                               int(item.get("min_hits", 0)), items.at(i)))
    return out


def run_scenario(scenario: Scenario, output: Path, config_path: Path | None = None) -> Outcome:
    """Replay the scenario's recordings into ``output`` (replaced) and check expect.yaml."""
    config = load_config(config_path or scenario.config)
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
    return Outcome(scenario, rows, errors + check(scenario, rows))


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
    problems = []
    matched: set[int] = set()
    for want in scenario.alerts:
        hits = [i for i, row in enumerate(rows) if _matches(row, want.match)]
        matched.update(hits)
        total = sum(rows[i]["count"] or 1 for i in hits)
        if len(hits) != want.episodes:
            problems.append(f"{want.where}: {want.match}: {len(hits)} episode(s), expected {want.episodes}")
        elif total < want.min_hits:
            problems.append(f"{want.where}: {want.match}: {total} hit(s), expected at least {want.min_hits}")
    for never in scenario.absent:
        seen = sum(1 for row in rows if _matches(row, never.match))
        if seen:
            problems.append(f"{never.where}: {never.match} must not come out, but {seen} episode(s) did")
    if scenario.exhaustive:
        for i, row in enumerate(rows):
            if i not in matched:
                problems.append(f"{scenario.folder / 'expect.yaml'}: unexpected alert: {row['category']} {row['detector']} "
                                f"to {row['destination']} ({row['action']}, {row['seen']})")
    return problems
