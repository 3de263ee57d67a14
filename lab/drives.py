"""Recall per episode type and false alerts on benign destinations over generated drives.

Each drive is replayed as a user would (its own configuration, the alert log) and its alert
episodes are matched to the drive's episodes by destination address and category: an episode
is found when an alert of its category names its destination; an alert on a benign
destination is a false alert; an alert that names no episode's destination is listed as other.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from monitor.scenarios import Scenario, run_scenario
from monitor.testing.episodes import Episode
from .generate import EPISODES, generate

ALERTING = ("alert", "block")


def _same(address: str | None) -> str | None:
    """One spelling per address (IPv6 text forms differ); bus names pass through."""
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return address


def judge(episodes: list[Episode], rows: list[dict]) -> dict:
    """Per episode kind: found or not and by which detectors; false and other alerts."""
    rows = [{**row, "destination": _same(row["destination"])} for row in rows]
    placed = [(episode, _same(episode.address)) for episode in episodes]  # each address spelled once
    by_address = {address: e for e, address in placed if e.end is None}
    timed = [(e, address) for e, address in placed if e.end is not None]
    out: dict = {"episodes": {}, "false_alerts": [], "other_alerts": []}
    for episode, address in placed:
        if episode.category is None:
            continue
        hits = [r for r in rows if r["destination"] == address and r["category"] == episode.category
                and r["action"] in ALERTING and _within(r, episode)]
        out["episodes"][episode.kind] = sorted({r["detector"] for r in hits})
    for row in rows:
        if row["action"] not in ALERTING:
            continue
        if any(row["destination"] == address and _within(row, e) for e, address in timed):
            continue
        owner = by_address.get(row["destination"])
        described = f"{row['category']} {row['detector']} to {row['destination']}: {row['seen']}"
        if owner is not None and owner.category is None:
            out["false_alerts"].append(f"{owner.kind}: {described}")
        elif owner is None:
            out["other_alerts"].append(described)
    return out


def _within(row: dict, episode: Episode) -> bool:
    """Is the alert episode's first record (``time``, epoch seconds) inside the episode's span?"""
    return episode.end is None or episode.start <= float(row["time"]) <= episode.end


def run_drive(seed: int, workdir: Path, seconds: int = 600, keep: bool = False,
              start: tuple[float, float] | None = None) -> dict:
    """Generate the drive of ``seed`` (from ``start``, else the seed's own), replay it, judge it."""
    folder = workdir / f"drive-{seed}"
    if folder.exists():
        shutil.rmtree(folder)
    episodes = generate(seed, folder, seconds, start)
    scenario = Scenario(folder, folder / "config.yaml", f"generated-{seed}", [], [], exhaustive=False)
    outcome = run_scenario(scenario, folder / "alerts")
    result = {"seed": seed, **judge(episodes, outcome.rows), "errors": outcome.problems}
    if not keep:
        shutil.rmtree(folder)
    return result


def summarise(results: list[dict]) -> dict:
    found: Counter = Counter()
    detectors: dict = defaultdict(Counter)
    kinds = [k for k in EPISODES if not k.startswith("benign:")]
    kinds += sorted({k for r in results for k in r["episodes"]} - set(kinds))  # the CAN masquerade
    for result in results:
        for kind, names in result["episodes"].items():
            found[kind] += bool(names)
            detectors[kind].update(names)
    return {"seeds": [r["seed"] for r in results],
            "recall": {k: found[k] / len(results) for k in kinds},
            "found": {k: found[k] for k in kinds},
            "detectors": {k: dict(detectors[k]) for k in kinds},
            "missed": {k: [r["seed"] for r in results if not r["episodes"].get(k)] for k in kinds if found[k] < len(results)},
            "false_alerts": [f"seed {r['seed']}: {a}" for r in results for a in r["false_alerts"]],
            "other_alerts": [f"seed {r['seed']}: {a}" for r in results for a in r["other_alerts"]],
            "errors": [f"seed {r['seed']}: {e}" for r in results for e in r["errors"]]}


def format_table(summary: dict) -> str:
    n = len(summary["seeds"])
    lines = [f"generated drives: {n} seed(s) ({summary['seeds'][0]}..{summary['seeds'][-1]}), ten minutes each; an "
             + "episode is found when an alert of its category names its destination",
             f"{'episode':<22}{'found':>8}{'recall':>8}  detectors (episodes found by each)"]
    for kind, recall in summary["recall"].items():
        named = ", ".join(f"{d} {c}" for d, c in sorted(summary["detectors"][kind].items(), key=lambda x: -x[1]))
        lines.append(f"{kind:<22}{summary['found'][kind]:>5}/{n:<2}{recall:>8.2f}  {named}")
    lines += [f"  missed {kind}: seeds {seeds}" for kind, seeds in summary["missed"].items()]
    lines.append(f"false alerts on benign destinations: {len(summary['false_alerts'])}")
    lines += [f"  {a}" for a in summary["false_alerts"]]
    lines.append(f"other alerts (no episode's destination): {len(summary['other_alerts'])}")
    lines += [f"  {a}" for a in summary["other_alerts"]]
    lines += [f"  error: {e}" for e in summary["errors"]]
    return "\n".join(lines)
