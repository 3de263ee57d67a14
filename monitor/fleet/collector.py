"""``gatewatch collect``: the fleet side of the uplink. It subscribes to every vehicle's alert
records (a shared subscription, so several collectors split the load), checks each vehicle's
chain as records arrive, drops duplicates by vehicle and sequence number, and files the
records in day- and vehicle-partitioned JSON Lines (``day=YYYY-MM-DD/vehicle=ID/alerts-ID-...jsonl``,
named as a vehicle's own alert files are, so ``gatewatch report`` and ``alerts`` read them too;
the layout DuckDB and Spark read as partitions), with the flat rows of fleet/rows.py beside them.

What breaks a chain is itself recorded, in ``collector-findings.jsonl``: a record whose hash
does not match its content (tampered), a sequence number seen before with another hash, a
record that does not link to the one before it, and at the end the numbers that never came.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..alerts.chain import chain_of, digest
from ..alerts.files import safe_name
from .broker import Broker, connect_properties
from .rows import partition, records_file, row_of, write_parquet

log = logging.getLogger(__name__)

TOPIC = "gatewatch/+/alerts"


@dataclass
class Vehicle:
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash of every record filed
    prevs: dict[int, str] = field(default_factory=dict)  # seq -> the hash it says came before it


@dataclass
class Collector:
    broker: Broker
    out: Path
    group: str | None = None
    client_id: str = "gatewatch-collector"
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.vehicles: dict[str, Vehicle] = {}
        self._open: dict[Path, BinaryIO] = {}
        self._touched: set[Path] = set()  # partitions whose files were closed to make room
        self._lock = threading.Lock()
        self.out.mkdir(parents=True, exist_ok=True)
        self._load()

    # ------------------------------------------------------------ what is already filed

    def _load(self) -> None:
        """Rebuild what was filed (a restarted collector must still drop duplicates)."""
        for path in sorted(self.out.glob("day=*/vehicle=*/alerts-*.jsonl")):
            vehicle = self._vehicle(path.parent.name.removeprefix("vehicle="))
            for line in path.read_bytes().splitlines():
                try:
                    chain = chain_of(json.loads(line))
                    vehicle.hashes[int(chain["seq"])] = str(chain["hash"])
                    vehicle.prevs[int(chain["seq"])] = str(chain.get("prev"))
                except (ValueError, KeyError, TypeError):
                    continue

    def _vehicle(self, name: str) -> Vehicle:
        return self.vehicles.setdefault(name, Vehicle())

    # ------------------------------------------------------------ arriving records

    def take(self, topic: str, payload: bytes) -> None:
        """One PUBLISH: a record or a few (JSON Lines) of the vehicle the topic names."""
        parts = topic.split("/")
        if len(parts) != 3 or parts[0] != "gatewatch":
            self.counts["foreign_topics"] += 1
            return
        name = safe_name(parts[1])
        with self._lock:
            for line in payload.split(b"\n"):
                if line.strip():
                    self._record(name, line)
            self.flush()  # before paho acknowledges the PUBLISH (when this returns)

    def _record(self, name: str, line: bytes) -> None:
        try:
            record = json.loads(line)
            chain = chain_of(record)
            seq, claimed = int(chain["seq"]), str(chain["hash"])
        except (ValueError, KeyError, TypeError, AttributeError):
            self._finding(name, "not a record", None, line[:120].decode("utf-8", "replace"))
            return
        vehicle = self._vehicle(name)
        if chain.get("alg") == "sha256" and digest(record, None) != claimed:
            self._finding(name, "tampered", seq, "the record does not match its hash")
            return
        known = vehicle.hashes.get(seq)
        if known is not None:
            if known == claimed:
                self.counts["duplicates"] += 1
            else:
                self._finding(name, "conflict", seq, "a second record with this sequence number")
            return
        before = vehicle.hashes.get(seq - 1)
        if before is not None and chain.get("prev") != before:
            self._finding(name, "unlinked", seq, f"does not link to record {seq - 1}")
        if seq + 1 in vehicle.prevs and vehicle.prevs[seq + 1] != claimed:  # the next one came first
            self._finding(name, "unlinked", seq + 1, f"does not link to record {seq}")
        vehicle.hashes[seq], vehicle.prevs[seq] = claimed, str(chain.get("prev"))
        self._file(name, record, line)
        self.counts["records"] += 1

    def _file(self, name: str, record: dict, line: bytes) -> None:
        folder = partition(self.out, name, record)
        self._handle(folder / records_file(name)).write(line.rstrip(b"\n") + b"\n")
        self._handle(folder / "rows.jsonl").write(json.dumps(row_of(record)).encode() + b"\n")

    def _handle(self, path: Path):
        """An open file per partition, the most recent 64 kept open (flushed after every PUBLISH)."""
        handle = self._open.pop(path, None) or path.open("ab")
        self._open[path] = handle
        while len(self._open) > 64:
            oldest = next(iter(self._open))
            self._touched.add(oldest.parent)
            self._open.pop(oldest).close()
        return handle

    def flush(self) -> None:
        for handle in self._open.values():
            handle.flush()

    def close(self) -> None:
        """Close the files, and write each partition touched as Parquet beside its rows."""
        touched = {path.parent for path in self._open} | self._touched
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        self._touched = set()
        write_parquet(sorted(touched))

    def _finding(self, name: str, kind: str, seq: int | None, detail: str) -> None:
        self.counts[f"findings_{kind}"] += 1
        log.warning("vehicle %s: %s%s: %s", name, kind, f" at sequence {seq}" if seq else "", detail)
        with (self.out / "collector-findings.jsonl").open("a") as handle:
            handle.write(json.dumps({"time": time.time(), "vehicle": name, "kind": kind, "seq": seq, "detail": detail}) + "\n")

    def gaps(self) -> dict[str, list[int]]:
        """Per vehicle, the sequence numbers below its highest that never arrived."""
        out = {}
        for name, vehicle in self.vehicles.items():
            if vehicle.hashes:
                first = min(vehicle.hashes)
                missing = [s for s in range(first, max(vehicle.hashes)) if s not in vehicle.hashes]
                if missing:
                    out[name] = missing
        return out

    # ------------------------------------------------------------ the subscription

    def run(self, stop: threading.Event, idle_s: float | None = None) -> Counter:
        """Receive until ``stop`` (or ``idle_s`` seconds without a record); the gaps left are
        recorded as findings."""
        client = self.broker.client(self.client_id)
        topic = f"$share/{self.group}/{TOPIC}" if self.group else TOPIC
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        last = [time.monotonic()]

        def on_message(c, u, message) -> None:
            self.take(message.topic, message.payload)
            last[0] = time.monotonic()

        client.on_message = on_message
        client.connect(self.broker.host, self.broker.port, keepalive=20, clean_start=False,
                       properties=connect_properties(86400))
        client.loop_start()
        try:
            while not stop.wait(0.2):
                if idle_s is not None and time.monotonic() - last[0] >= idle_s:
                    break
        finally:
            client.loop_stop()
            client.disconnect()
            self.close()
        if not self.group:  # in a shared group each collector sees part of every chain: the
            # chain-gaps-per-vehicle question over all their folders finds the gaps instead
            for name, missing in self.gaps().items():
                self._finding(name, "gap", missing[0], f"{len(missing)} sequence number(s) never arrived: {missing[:10]}")
        return self.counts
