"""``gatewatch bench fleet``: records per second through uplink -> Mosquitto -> collector on
loopback, and the named fleet questions' times on DuckDB and on Spark (local mode) over a
synthetic fleet (by default 1,000 vehicles, 1 M records, two days), with both engines' answers
compared."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..fleet.queries import QUERIES, run_queries
from ..fleet.tables import write_tables


def transfer(folder: Path, alerts: int) -> dict:
    """One vehicle's alert log (``alerts`` episodes, two records each) through the uplink, a
    local Mosquitto and the collector: records per second end to end."""
    from ..fleet.broker import Broker
    from ..fleet.collector import Collector
    from ..fleet.uplink import Uplink
    from ..testing.mosquitto import Mosquitto
    from ..testing.scene import many_alerts

    capture = many_alerts(folder, alerts)
    subprocess.run([sys.executable, "-m", "monitor", "replay", "-o", str(folder / "log"), "--force", "--vehicle-id", "bench-car",
                    str(capture)], check=True, capture_output=True)
    broker = Mosquitto.create()
    broker.start()
    try:
        collector = Collector(Broker.parse(broker.url), folder / "fleet")
        stop = threading.Event()
        receiving = threading.Thread(target=collector.run, args=(stop,))
        receiving.start()
        time.sleep(0.5)
        started = time.perf_counter()
        stats = Uplink(folder / "log", Broker.parse(broker.url), folder / "state", rate=1e9).run(threading.Event(), until_idle=True)
        while collector.counts["records"] < stats.acknowledged and time.perf_counter() - started < 300:
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        stop.set()
        receiving.join(30)
    finally:
        broker.remove()
    return {"records": stats.acknowledged, "collected": collector.counts["records"], "seconds": round(seconds, 3),
            "records_per_s": round(stats.acknowledged / seconds)}


CATEGORIES = ("geolocation", "video", "mapping", "identity", "can", "remote", "unknown")
MODELS = ("ID.4 2024", "Model 3 2023", "EX30 2025", "Atto 3 2024")
DETECTORS = ("wire.jt808", "taint.position", "behaviour.video", "behaviour.mapping", "wire.identifier", "can.uds")


def synthetic_fleet(folder: Path, vehicles: int, records: int, days: int = 2, seed: int = 1,
                    destinations: int = 2000) -> Path:
    """Flat rows (fleet/rows.py) of ``vehicles`` vehicles, ``records`` in all, over ``days``."""
    rng = random.Random(seed)
    per_vehicle = records // vehicles
    start = 1_767_225_600_000  # 2026-01-01 UTC, in ms
    addresses = [f"198.51.{i >> 8}.{i & 255}" for i in range(destinations)]
    for v in range(vehicles):
        name = f"car-{v:05d}"
        for day in range(days):
            rows = []
            for i in range(per_vehicle // days):
                seq = day * (per_vehicle // days) + i + 1
                category = rng.choice(CATEGORIES)
                rows.append({"time": start + day * 86_400_000 + i * 1000, "seq": seq, "hash": f"{v:x}-{seq:x}",
                             "model": MODELS[v % len(MODELS)] if v % 7 else None,
                             "activity": "Create" if i % 2 == 0 else "Close", "class_uid": 2004, "severity_id": 3,
                             "category": category, "detector": rng.choice(DETECTORS), "action": "alert", "rule": "default",
                             "dst_ip": rng.choice(addresses), "dst_port": 443, "country": rng.choice(("DE", "US", "CN", None)),
                             "names": None, "message": category})
            part = folder / f"day=2026-01-0{day + 1}" / f"vehicle={name}"
            part.mkdir(parents=True, exist_ok=True)
            (part / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_tables(folder)  # the Parquet table the queries read
    return folder


def queries(folder: Path, engines: list[str]) -> dict:
    """All six questions in one session per engine (Spark's start-up included), each question
    alone on DuckDB, and whether the engines agree."""
    out: dict = {}
    answers = {}
    for engine in engines:
        started = time.perf_counter()
        answers[engine] = run_queries(list(QUERIES), folder, engine)
        out[engine] = {"seconds_all": round(time.perf_counter() - started, 2)}
    if "duckdb" in engines:
        for name in QUERIES:
            started = time.perf_counter()
            run_queries([name], folder, "duckdb")
            out["duckdb"][name] = round(time.perf_counter() - started, 3)
    out["same_answers"] = len({json.dumps(a, sort_keys=True, default=str) for a in answers.values()}) == 1
    return out


def run(alerts: int, vehicles: int, records: int, engines: list[str], folder: Path) -> dict:
    """The transfer and the queries, their broker data, collected records and synthetic fleet
    written in ``folder`` (the user's --out folder, or a temporary one)."""
    (folder / "transfer").mkdir(exist_ok=True)
    report = {"transfer": transfer(folder / "transfer", alerts)}
    fleet = synthetic_fleet(folder / "fleet", vehicles, records)
    report["fleet"] = {"vehicles": vehicles, "records": records}
    report["queries"] = queries(fleet, engines)
    return report


def format_report(report: dict) -> str:
    t = report["transfer"]
    lines = [(f"uplink -> mosquitto -> collector on loopback: {t['records']} records in {t['seconds']} s "
              f"({t['records_per_s']:,} records/s; collected {t['collected']})"),
             f"fleet questions over {report['fleet']['vehicles']:,} vehicles, {report['fleet']['records']:,} records:"]
    q = report["queries"]
    for engine in ("duckdb", "spark"):
        if engine in q:
            lines.append(f"  {engine}: every question, in one session: {q[engine]['seconds_all']} s")
    if "duckdb" in q:
        lines += [f"    {name:<30} {q['duckdb'][name]:.3f} s (duckdb, alone)" for name in QUERIES]
    lines.append(f"  engines give the same answers: {'yes' if q['same_answers'] else 'NO'}")
    return "\n".join(lines)
