"""Recall, false alerts and time to first alert over generated drives, scored strictly.

Each drive is replayed as a user would (its own configuration, the alert log) and every alerting
record (action alert or block) is matched to the drive's episodes: it is TRUE when an episode
on the address it names (as destination, or as the outside source of an inbound connection)
has its category and, where the episode gives a time span, holds the alert's time; every other
alerting record is FALSE: a benign destination, a destination no episode owns, the wrong
category, outside the span (CAN findings on the bus included). Nothing is excused by a table: a
finding that is true belongs in the truth. An episode is found by its first TRUE alert, and its
time to first alert is that alert's time minus the episode's start.
"""

from __future__ import annotations

import ipaddress
import shutil
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from monitor.alerts.read import flat, records
from monitor.scenarios import Scenario, run_scenario
from monitor.testing.episodes import Episode
from .generate import PROFILES, generate, profile_of

ALERTING = ("alert", "block")
NO_EPISODE = "no episode"
FIRST_ALERT_S = {"mapping": 120.0}  # by the kind's family (before the colon); others DEFAULT_FIRST_ALERT_S
DEFAULT_FIRST_ALERT_S = 30.0
BEACON_MIN_S, BEACON_PERIODS, BEACON_SLACK_S = 60.0, 5, 5.0
MAPPING_AFTER_SECOND_S = 30.0  # uploads 500 m-1 km apart in town come minutes apart: 120 s or the second upload + 30 s


def first_alert_limit(episode: Episode) -> float:
    """How long after its start an episode may take to raise its first alert. A beacon: five
    periods or a minute, whichever is later, counted from its first upload (one period after the
    handshake that starts it), plus a few seconds of slack. Mapping: 120 s, or 30 s after its second
    upload when the uploads are further apart than that (no detector can judge one upload)."""
    family = episode.kind.split(":")[0]
    if family == "beacon" and episode.period:
        return max(BEACON_PERIODS * episode.period, BEACON_MIN_S) + episode.period + BEACON_SLACK_S
    if family == "mapping" and episode.period:  # one upload shows no volume that follows distance: the second is needed
        return max(FIRST_ALERT_S["mapping"], episode.period + MAPPING_AFTER_SECOND_S)
    return FIRST_ALERT_S.get(family, DEFAULT_FIRST_ALERT_S)


def _same(address: str | None) -> str | None:
    """One spelling per address (IPv6 text forms differ); bus names pass through."""
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return address


def _ends(row: dict) -> set[str | None]:
    """The addresses an alert names: its destination, and the source when it is given (the
    outside host of an inbound connection)."""
    return {_same(row.get("destination")), _same(row.get("source"))} - {None}


def _within(row: dict, episode: Episode) -> bool:
    """Is the alert episode's first record (``time``, epoch seconds) inside the episode's span?"""
    return episode.end is None or episode.start <= float(row["time"]) <= episode.end


def _true_for(row: dict, episode: Episode) -> bool:
    """The alert's category is the episode's (or one its traffic also truly carries), on its
    address, within its span."""
    return (episode.category is not None and row["category"] in (episode.category, *episode.also)
            and _same(episode.address) in _ends(row) and _within(row, episode))


def judge(episodes: list[Episode], rows: list[dict]) -> dict:
    """Per episode kind: found or not, by which detectors, the first alert's delay and its limit;
    every alerting row that is true for no episode, as a false alert."""
    alerting = [r for r in rows if r["action"] in ALERTING]
    out: dict = {"episodes": {}, "false_alerts": []}
    for episode in episodes:
        if episode.category is None:
            continue
        hits = [r for r in alerting if r["category"] == episode.category and _true_for(r, episode)]
        first = min((float(r["time"]) for r in hits), default=None)
        out["episodes"][episode.kind] = {
            "detectors": sorted({r["detector"] for r in hits}), "detail": episode.detail,
            "first_s": None if first is None else round(first - episode.start, 1) + 0.0,  # no "-0"
            "limit_s": round(first_alert_limit(episode), 1)}
    for row in alerting:
        if any(_true_for(row, e) for e in episodes):
            continue
        owners = sorted({e.kind for e in episodes if _same(e.address) in _ends(row)}) or [NO_EPISODE]
        out["false_alerts"].append({"kind": "/".join(owners), "category": row["category"], "detector": row["detector"],
                                    "destination": row["destination"], "seen": row["seen"], "time": row["time"]})
    return out


def sources(folder: Path) -> dict[str, str]:
    """Per alert episode uid, the source address of its first record's evidence."""
    out: dict[str, str] = {}
    for record in records([folder]):
        evidences = record.get("evidences") or [{}]
        source = (evidences[0].get("src_endpoint") or {}).get("ip") if isinstance(evidences[0], dict) else None
        out.setdefault(flat(record)["episode"], source)
    return out


def run_drive(seed: int, workdir: Path, seconds: int = 600, keep: bool = False,
              start: tuple[float, float] | None = None) -> dict:
    """Generate the drive of ``seed`` (from ``start``, else the seed's own), replay it, judge it."""
    folder = workdir / f"drive-{seed}"
    if folder.exists():
        shutil.rmtree(folder)
    episodes = generate(seed, folder, seconds, start)
    scenario = Scenario(folder, folder / "config.yaml", f"generated-{seed}", [], [], exhaustive=False)
    outcome = run_scenario(scenario, folder / "alerts")
    source = sources(folder / "alerts")
    rows = [{**row, "source": source.get(row["episode"])} for row in outcome.rows]
    result = {"seed": seed, "profile": profile_of(seed), **judge(episodes, rows), "errors": outcome.problems}
    if not keep:
        shutil.rmtree(folder)
    return result


class Tally:
    """Per episode kind: drives holding it and drives finding it (each per profile), the
    detectors that found it, its first-alert delays; the misses and the late first alerts."""

    def __init__(self) -> None:
        self.held: dict = defaultdict(Counter)
        self.found: dict = defaultdict(Counter)
        self.detectors: dict = defaultdict(Counter)
        self.delays: dict = defaultdict(list)
        self.missed: dict = defaultdict(list)
        self.late: list[str] = []

    def add(self, result: dict) -> None:
        seed, profile = result["seed"], result["profile"]
        for kind, e in result["episodes"].items():
            self.held[kind][profile] += 1
            self.detectors[kind].update(e["detectors"])
            detail = f" {e['detail']}" if e["detail"] else ""
            if e["first_s"] is None:
                self.missed[kind].append(f"{seed} ({profile}{',' + detail if detail else ''})")
                continue
            self.found[kind][profile] += 1
            self.delays[kind].append(e["first_s"])
            if e["first_s"] > e["limit_s"]:
                self.late.append(f"seed {seed} ({profile}) {kind}{detail}: first alert after {e['first_s']:g} s, limit {e['limit_s']:g} s")


def summarise(results: list[dict]) -> dict:
    """Recall per kind and per profile, false alerts per kind and category, first-alert delays."""
    tally = Tally()
    for result in results:
        tally.add(result)
    kinds = sorted(tally.held)
    held, found = tally.held, tally.found
    false = [{"seed": r["seed"], "profile": r["profile"], **a} for r in results for a in r["false_alerts"]]
    profiles = [p for p in PROFILES if any(r["profile"] == p for r in results)]
    return {"seeds": [r["seed"] for r in results], "profiles": {p: [r["seed"] for r in results if r["profile"] == p] for p in profiles},
            "recall": {k: _ratio(sum(found[k].values()), sum(held[k].values())) for k in kinds},
            "recall_by_profile": {p: _ratio(sum(found[k][p] for k in kinds), sum(held[k][p] for k in kinds)) for p in profiles},
            "recall_by_kind_and_profile": {k: {p: _ratio(found[k][p], held[k][p]) for p in profiles if held[k][p]} for k in kinds},
            "found": {k: sum(found[k].values()) for k in kinds}, "held": {k: sum(held[k].values()) for k in kinds},
            "detectors": {k: dict(tally.detectors[k]) for k in kinds}, "missed": dict(tally.missed),
            "first_alert_s": {k: {"median": statistics.median(v), "max": max(v)} for k, v in tally.delays.items()},
            "late": tally.late, "false_alerts": false,
            "false_by_kind": dict(Counter(a["kind"] for a in false)),
            "false_by_category": dict(Counter(a["category"] for a in false)),
            "errors": [f"seed {r['seed']}: {e}" for r in results for e in r["errors"]]}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def format_table(summary: dict) -> str:
    n, profiles = len(summary["seeds"]), list(summary["profiles"])
    lines = [f"generated drives: {n} seed(s) ({summary['seeds'][0]}..{summary['seeds'][-1]}), scored strictly: an alert is "
             "true only for an episode of its category on the address it names (within the episode's span)",
             "profiles: " + ", ".join(f"{p} {len(s)} (seeds {s})" for p, s in summary["profiles"].items()),
             f"{'episode':<28}{'found':>8}{'recall':>7}  " + "".join(f"{p:>12}" for p in profiles)
             + f"{'first alert median/max s':>26}  detectors"]
    for kind, recall in summary["recall"].items():
        by = summary["recall_by_kind_and_profile"][kind]
        cells = "".join(f"{'-' if by.get(p) is None else format(by[p], '.2f'):>12}" for p in profiles)
        first = summary["first_alert_s"].get(kind)
        timing = f"{first['median']:g} / {first['max']:g}" if first else "-"
        named = ", ".join(f"{d} {c}" for d, c in sorted(summary["detectors"][kind].items(), key=lambda x: -x[1]))
        lines.append(f"{kind:<28}{summary['found'][kind]:>4}/{summary['held'][kind]:<3}{recall:>7.2f}  {cells}{timing:>26}  {named}")
    lines.append(f"{'all episodes, by profile':<45}" + "".join(
        f"{'-' if summary['recall_by_profile'][p] is None else format(summary['recall_by_profile'][p], '.2f'):>12}" for p in profiles))
    lines += [f"  missed {kind}: seeds {', '.join(seeds)}" for kind, seeds in summary["missed"].items()]
    lines += [f"  late: {text}" for text in summary["late"]]
    lines.append(f"false alerts: {len(summary['false_alerts'])}; by the kind owning the destination {summary['false_by_kind']}; "
                 f"by category {summary['false_by_category']}")
    lines += [f"  seed {a['seed']} ({a['profile']}) {a['kind']}: {a['category']} {a['detector']} to {a['destination']}: {a['seen']}"
              for a in summary["false_alerts"]]
    lines += [f"  error: {e}" for e in summary["errors"]]
    return "\n".join(lines)
