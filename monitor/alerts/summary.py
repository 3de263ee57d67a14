"""Alert logs summed up: by category, destination, detector and vehicle (episodes, hits and
positions), from the records' Create and Close activities; and the names the vehicle looked up,
from the DNS logs beside them (dnslog.LookedUp), inside the vehicle networks and outside.
Streamed: counters only, whatever the log's length (tally.py)."""

from __future__ import annotations

from collections.abc import Iterable

from .dnslog import LookedUp
from .read import flat
from .tally import Counts, Episodes, clip, terminal

GROUPS = (("by_category", "category"), ("by_destination", "where"), ("by_detector", "detector"),
          ("by_vehicle", "vehicle"), ("by_action", "action"), ("by_country", "country"))


def summarize(records: Iterable[dict], looked_up: LookedUp | None = None) -> dict:
    """The counts of these records (each checked by read.flat: a caller with unchecked records
    gets NotARecord)."""
    return summarize_rows((flat(record) for record in records), looked_up)


def summarize_rows(rows: Iterable[dict], looked_up: LookedUp | None = None) -> dict:
    """The counts of a stream of flat rows (read.rows_of): one record at a time, counters only
    (tally.py bounds them)."""
    tracker = Episodes()
    counts = {group: Counts() for group, _ in GROUPS}
    vins: dict[str, str] = {}
    totals = [0, 0, 0]  # episodes, hits, positions

    def count(episode: dict) -> None:
        totals[0], totals[1], totals[2] = totals[0] + 1, totals[1] + episode["hits"], totals[2] + episode["positions"]
        for group, key in GROUPS:
            counts[group].add(_where(episode) if key == "where" else str(episode[key] or "-") if key == "country"
                              else str(episode[key]), episode["hits"])

    for row in rows:
        if row["vin"] and len(vins) < counts["by_vehicle"].max_names:
            vins[clip(str(row["vehicle"]))] = clip(row["vin"])
        for episode in tracker.add(row):
            count(episode)
    for episode in tracker.finish():
        count(episode)
    out: dict = {"episodes": totals[0], "hits": totals[1], "positions": totals[2]}
    for group, _ in GROUPS:
        out[group] = {name: {"episodes": n, "hits": hits} for name, (n, hits) in counts[group].ranked()}
    for name, entry in out["by_vehicle"].items():
        entry["vin"] = vins.get(name)
    if tracker.finished_early:
        out["episodes_finished_early"] = tracker.finished_early  # more than tally.MAX_OPEN open at once
    if looked_up is not None:  # the DNS logs were read (a caller with records alone says nothing of names)
        out["dns"] = looked_up.as_dict()
    return out


def _where(e: dict) -> str:
    name = e["names"][0] if e["names"] else e["destination"]
    return f"{name}:{e['port']}" if e["port"] is not None else str(name)


def format_summary(summary: dict) -> str:
    lines = [f"{summary['episodes']} episodes, {summary['hits']} hits, {summary['positions']} positions"]
    if summary.get("filters"):  # a filtered summary says so, and that the DNS names are left out
        lines.append(f"of the records kept by {terminal(summary['filters'])} (names looked up left out)")
    for group in ("by_category", "by_action", "by_country", "by_destination", "by_detector", "by_vehicle"):
        lines.append(group.replace("_", " ") + ":")
        for name, entry in list(summary[group].items())[:20]:
            vin = f"  VIN {terminal(entry['vin'])}" if entry.get("vin") else ""
            lines.append(f"  {entry['episodes']:>6} episodes {entry['hits']:>8} hits  {terminal(name)}{vin}")
    return "\n".join(lines + (_names_looked_up(summary["dns"]) if "dns" in summary else []))


def _names_looked_up(dns: dict, top: int = 20) -> list[str]:
    lines = [f"names looked up: {dns['lookups']} lookups of {dns['distinct_names']} names"]
    for name, entry in list(dns["names"].items())[:top]:
        where = ", ".join(f"{way} {n}" for way, n in entry.items() if way != "lookups")
        lines.append(f"  {entry['lookups']:>6} lookups  {terminal(name)}  ({terminal(where)})")
    if len(dns["names"]) > top:
        lines.append(f"  ... and {len(dns['names']) - top} more names (--json lists them all)")
    return lines
