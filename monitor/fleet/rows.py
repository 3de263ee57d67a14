"""Alert records as flat rows: the OCSF fields fleet questions ask about, one column each, so
the same SQL runs on DuckDB and on Spark without either inferring nested JSON its own way.
The collector writes them beside the records (``rows.jsonl``) and, from those, the Parquet table
of tables.py with the one schema of schema.py; a folder of vehicles' alert folders is turned into
the same layout on the fly. ``day`` and ``vehicle`` are the partition folders, not columns of the
files."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from ..alerts.chain import chain_of
from ..alerts.files import safe_name
from ..alerts.logfiles import read_file, vehicle_logs
from ..net.direction import remote_side
from . import validate
from .tables import write_tables

log = logging.getLogger(__name__)


def row_of(record: dict) -> dict:
    gw = record.get("unmapped", {}).get("gatewatch", {})
    flow = gw.get("flow") or {}
    destination = gw.get("destination") or {}
    names = destination.get("names") or []
    chain = chain_of(record)
    return {"time": int(record.get("time", 0)), "seq": int(chain.get("seq", 0)), "hash": chain.get("hash"),
            "model": (gw.get("vehicle") or {}).get("model"),
            "activity": record.get("activity_name"), "class_uid": record.get("class_uid"),
            "severity_id": record.get("severity_id"), "category": gw.get("category"), "detector": gw.get("detector"),
            "action": (gw.get("verdict") or {}).get("action"), "rule": gw.get("rule"),
            "dst_ip": flow.get(f"{remote_side(flow.get('direction'))}_h"),  # the remote party, also of an inbound flow
            "dst_port": flow.get("resp_p"), "country": destination.get("country"),
            "names": ",".join(n.get("name", "") for n in names if isinstance(n, dict)) or None,
            "message": record.get("message"), **_position(gw.get("position")), **_can(gw.get("can"))}


def _position(position: object) -> dict:
    position = position if isinstance(position, dict) else {}
    return {"lat": position.get("lat"), "lon": position.get("lon")}


def _can(can: object) -> dict:
    can = can if isinstance(can, dict) else {}
    return {"can_bus": can.get("bus"), "can_ids": can.get("ids")}


def records_file(vehicle: str) -> str:
    """The name of a vehicle's records in a partition: a vehicle's own alert file name, so the
    readers of alert logs (report, alerts, verify) take a collector's folder as they take a vehicle's."""
    return f"alerts-{safe_name(vehicle)}-000000000001.jsonl"


def partition(out: Path, vehicle: str, record: dict) -> Path:
    """The record's day and vehicle folder (the record checked by validate.py: its time is in range)."""
    day = time.strftime("%Y-%m-%d", time.gmtime(int(record.get("time", 0)) / 1000))
    folder = out / f"day={day}" / f"vehicle={safe_name(vehicle)}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def materialize(paths: list[Path], out: Path) -> int:
    """Rows of the vehicles' alert logs under ``paths`` in the collector's layout; how many.
    A record that is not one by the collector's rules (validate.py) is left out, counted in the log."""
    count = refused = 0
    for (_, stem), files in vehicle_logs(paths).items():
        vehicle = stem.removeprefix("alerts-")
        for path in files:
            for entry in read_file(path):
                if entry.record is None:
                    continue
                try:
                    validate.check(entry.record)
                except validate.Invalid as error:
                    if not refused:
                        log.warning("%s:%d: not a record (%s), left out of the rows", path, entry.line, error)
                    refused += 1
                    continue
                with (partition(out, vehicle, entry.record) / "rows.jsonl").open("a") as handle:
                    handle.write(json.dumps(row_of(entry.record)) + "\n")
                count += 1
    if refused:
        log.warning("%d record(s) left out of the rows: not records by the collector's rules", refused)
    if count:
        write_tables(out)
    return count
