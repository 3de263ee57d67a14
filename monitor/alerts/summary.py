"""Alert logs summed up: by category, destination, detector and vehicle (episodes, hits and
positions), from the records' Create and Close activities; and the names the vehicle looked up,
from the DNS logs beside them (dnslog.LookedUp), inside the vehicle networks and outside."""

from __future__ import annotations

from collections import Counter, defaultdict

from .dnslog import LookedUp
from .read import flat


def summarize(records, looked_up: LookedUp | None = None) -> dict:
    episodes: dict[str, dict] = {}
    vehicles: dict[str, dict] = defaultdict(lambda: {"episodes": 0, "hits": 0, "vin": None})
    for record in records:
        row = flat(record)
        uid = row["episode"] or f"{row['vehicle']}:{row['seq']}"
        episode = episodes.setdefault(uid, {**row, "hits": 0, "positions": 0})
        episode["hits"] = max(episode["hits"], row["count"] or 1)
        episode["positions"] = max(episode["positions"], ((record["unmapped"]["gatewatch"].get("track") or {})
                                                          .get("positions_total", 0)))
        vin = record["unmapped"]["gatewatch"]["vehicle"].get("vin")
        if vin:
            vehicles[row["vehicle"]]["vin"] = vin
    out: dict = {"episodes": len(episodes), "hits": sum(e["hits"] for e in episodes.values()),
                 "positions": sum(e["positions"] for e in episodes.values())}
    for group, key in (("by_category", "category"), ("by_destination", "where"), ("by_detector", "detector"),
                       ("by_vehicle", "vehicle"), ("by_action", "action"), ("by_country", "country")):
        episodes_by: Counter = Counter()
        hits_by: Counter = Counter()
        for e in episodes.values():
            name = _where(e) if key == "where" else str(e[key] or "-") if key == "country" else str(e[key])
            episodes_by[name] += 1
            hits_by[name] += e["hits"]
        out[group] = {name: {"episodes": n, "hits": hits_by[name]} for name, n in episodes_by.most_common()}
    for name, entry in out["by_vehicle"].items():
        entry["vin"] = vehicles[name]["vin"]
    if looked_up is not None:  # the DNS logs were read (a caller with records alone says nothing of names)
        out["dns"] = looked_up.as_dict()
    return out


def _where(e: dict) -> str:
    name = e["names"][0] if e["names"] else e["destination"]
    return f"{name}:{e['port']}" if e["port"] is not None else str(name)


def format_summary(summary: dict) -> str:
    lines = [f"{summary['episodes']} episodes, {summary['hits']} hits, {summary['positions']} positions"]
    for group in ("by_category", "by_action", "by_country", "by_destination", "by_detector", "by_vehicle"):
        lines.append(group.replace("_", " ") + ":")
        for name, entry in list(summary[group].items())[:20]:
            vin = f"  VIN {entry['vin']}" if entry.get("vin") else ""
            lines.append(f"  {entry['episodes']:>6} episodes {entry['hits']:>8} hits  {name}{vin}")
    return "\n".join(lines + (_names_looked_up(summary["dns"]) if "dns" in summary else []))


def _names_looked_up(dns: dict, top: int = 20) -> list[str]:
    lines = [f"names looked up: {dns['lookups']} lookups of {dns['distinct_names']} names"]
    for name, entry in list(dns["names"].items())[:top]:
        where = ", ".join(f"{way} {n}" for way, n in entry.items() if way != "lookups")
        lines.append(f"  {entry['lookups']:>6} lookups  {name}  ({where})")
    if len(dns["names"]) > top:
        lines.append(f"  ... and {len(dns['names']) - top} more names (--json lists them all)")
    return lines
