"""``gatewatch collect``: the fleet side of the uplink. It subscribes to every vehicle's alert
records (a shared subscription, so several collectors split the load), checks each vehicle's
chain as records arrive, drops duplicates by vehicle and sequence number, and files the
records in day- and vehicle-partitioned JSON Lines (``day=YYYY-MM-DD/vehicle=ID/alerts-ID-...jsonl``,
named as a vehicle's own alert files are, so ``gatewatch report`` and ``alerts`` read them too),
with the flat rows of fleet/rows.py beside them. The rows become the Parquet table of tables.py
(``tables/alerts/day=.../vehicle=.../part-0.parquet``, one explicit schema): each partition
that took records is rewritten every ``TABLE_EVERY_S`` and when the collector stops.

Anyone who can publish to the topic is an author of what arrives, so nothing is read before it
is checked, and nothing a PUBLISH holds can stop the collector or cost it unbounded work:

- a PUBLISH on a topic that names no vehicle, over ``Limits.message_bytes`` or with more than
  ``Limits.message_lines`` lines is quarantined whole, unread (one entry, its lines counted);
- each vehicle (as its topic names it) may send ``Limits.vehicle_rate`` lines a second (a bucket
  of ``vehicle_burst``); past that its lines are quarantined (``rate``);
- a line is a record only if it passes validate.py (the record schema, with bounded times,
  sequence numbers, strings and nesting); others are quarantined (``invalid``);
- a record must name the vehicle of its topic (``spoofed`` otherwise). The broker's ACL binds a
  topic to the client certificate that may publish on it (docs/fleet-collector.md): MQTT tells
  a subscriber nothing of who published;
- the chain's algorithm and key per vehicle come from the configuration (keys.py), never from
  the record.

What breaks a chain is a finding in ``collector-findings.jsonl``: a record whose seal is not the
one its vehicle must use or does not match its content (``tampered``, quarantined too), a
sequence number seen before with another hash (``conflict``, quarantined too), a record that does
not link to the one before it (``unlinked``, filed), and at the end the ranges that never came
(``gap``; ranges.py keeps them bounded). Every line received is filed, counted as a duplicate, or
quarantined with its reason; the counters go to ``collector-stats.json`` every 2 s and at exit.

A last-resort catch around each PUBLISH quarantines it (``internal``) and goes on. A write
error on the filed records or findings (disk full, read-only) stops the collector instead
(``CollectorError``): that PUBLISH is not acknowledged, so the broker delivers it again to the
next collector session, and nothing is lost.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..alerts.files import safe_name
from ..errors import MonitorError
from . import validate
from .broker import Broker, connect_properties
from .keys import Keys
from .limits import Bucket, Limits
from .quarantine import Quarantine
from .ranges import SeqRanges
from .rows import partition, records_file, row_of
from .tables import write_tables

log = logging.getLogger(__name__)

TOPIC = "gatewatch/+/alerts"
STATS_FILE = "collector-stats.json"
TABLE_EVERY_S = 60.0  # how stale the Parquet table may be while the collector runs
FINDINGS_FILE = "collector-findings.jsonl"
COUNTERS = ("messages", "messages_refused", "lines", "records", "duplicates", "internal_errors", "quarantine_full",
            "quarantine_write_errors")  # always in the stats, 0 or not; quarantined_<reason> and findings_<kind> as they occur


class CollectorError(MonitorError):
    """The collector cannot file what it received (disk full, read-only folder)."""


@dataclass
class Vehicle:
    seen: SeqRanges
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash of every record filed
    prevs: dict[int, str] = field(default_factory=dict)  # seq -> the hash it says came before it
    first_jcs: int | None = None  # the lowest sequence number sealed over JCS: no older form may come after it
    last_old_form: int | None = None  # the highest sequence number sealed in the old sorted-keys form

    def downgrade(self, seq: int, jcs: bool) -> str | None:
        """Why this record moves the chain back from JCS to the old form; None when it does not
        (a chain may move to JCS, never back, as ``alerts verify`` checks). Notes the form."""
        if jcs:
            self.first_jcs = seq if self.first_jcs is None else min(self.first_jcs, seq)
            if self.last_old_form is not None and self.last_old_form > seq:
                return f"record {self.last_old_form}, in the old form, came after this JCS record {seq}"
            return None
        if self.first_jcs is not None and seq > self.first_jcs:
            return f"an old-form record after the chain moved to JCS at record {self.first_jcs} (a downgrade)"
        self.last_old_form = seq if self.last_old_form is None else max(self.last_old_form, seq)
        return None


@dataclass
class Collector:
    broker: Broker
    out: Path
    group: str | None = None
    client_id: str = "gatewatch-collector"
    counts: Counter = field(default_factory=Counter)
    keys: Keys = field(default_factory=Keys)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        self.vehicles: dict[str, Vehicle] = {}
        self._buckets: dict[str, Bucket] = {}
        self._open: dict[Path, BinaryIO] = {}
        self._dirty: set[Path] = set()  # partitions with rows not yet in the Parquet table
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.failed: CollectorError | None = None
        self.subscribed = threading.Event()  # the broker granted the subscription (tests wait for it)
        self.out.mkdir(parents=True, exist_ok=True)
        self.quarantine = Quarantine(self.out / "quarantine", self.counts, self.limits.quarantine_bytes)
        self._load()

    # ------------------------------------------------------------ what is already filed

    def _load(self) -> None:
        """Rebuild what was filed (a restarted collector must still drop duplicates). These
        files were checked when filed; a line edited since is skipped and counted."""
        for path in sorted(self.out.glob("day=*/vehicle=*/alerts-*.jsonl")):
            vehicle = self._vehicle(path.parent.name.removeprefix("vehicle="))
            for line in path.read_bytes().splitlines():
                try:
                    chain = json.loads(line)["unmapped"]["chain"]
                    seq, digest, prev = chain["seq"], chain["hash"], chain.get("prev")
                    if not (isinstance(seq, int) and 0 < seq <= validate.MAX_SEQ and isinstance(digest, str)):
                        raise TypeError
                except (ValueError, KeyError, TypeError, RecursionError):
                    self.counts["unreadable_filed_lines"] += 1
                    continue
                vehicle.hashes[seq], vehicle.prevs[seq] = digest, str(prev)
                vehicle.seen.add(seq)
                vehicle.downgrade(seq, chain.get("canon") == "jcs")

    def _vehicle(self, name: str) -> Vehicle:
        vehicle = self.vehicles.get(name)
        if vehicle is None:
            vehicle = self.vehicles[name] = Vehicle(SeqRanges(self.limits.gap_ranges))
        return vehicle

    def _bucket(self, name: str) -> Bucket | None:
        bucket = self._buckets.get(name)
        if bucket is None and len(self._buckets) < self.limits.vehicles:
            bucket = self._buckets[name] = Bucket(self.limits.vehicle_rate, self.limits.vehicle_burst)
        return bucket

    # ------------------------------------------------------------ arriving records

    def take(self, topic: str, payload: bytes) -> None:
        """One PUBLISH: a record or a few (JSON Lines) of the vehicle the topic names. Raises
        only ``CollectorError`` (then the PUBLISH must not be acknowledged)."""
        with self._lock:
            try:
                self._take(topic, payload)
                self._flush()  # before the PUBLISH is acknowledged
            except OSError as error:
                self.failed = CollectorError(f"{error.filename or self.out}: cannot file the fleet's records: "
                                             f"{error.strerror or error}")
                raise self.failed from error
            except Exception as error:  # noqa: BLE001 - the last resort: no PUBLISH stops the other vehicles
                self.counts["internal_errors"] += 1
                self.quarantine.put("internal", topic, payload, f"{type(error).__name__}: {error}")
                self.quarantine.flush()

    def _take(self, topic: str, payload: bytes) -> None:
        self.counts["messages"] += 1
        name = _topic_vehicle(topic)
        if name is None or len(payload) > self.limits.message_bytes:
            self._refuse_message("topic" if name is None else "oversized", topic, payload)
            return
        lines = [line for line in payload.split(b"\n") if line.strip()]
        if len(lines) > self.limits.message_lines:
            self._refuse_message("oversized", topic, payload, len(lines))
            return
        bucket = self._bucket(name)
        for line in lines:
            self.counts["lines"] += 1
            if bucket is None:
                self.quarantine.put("vehicles", topic, line, f"more than {self.limits.vehicles} vehicles")
            elif not bucket.take():
                self.quarantine.put("rate", topic, line, f"over {self.limits.vehicle_rate:g} lines/s for {name}")
            else:
                self._line(topic, name, line)

    def _refuse_message(self, reason: str, topic: str, payload: bytes, lines: int | None = None) -> None:
        """A whole PUBLISH quarantined as one entry, unread; its lines counted."""
        lines = lines if lines is not None else payload.count(b"\n") + (not payload.endswith(b"\n"))
        self.counts["messages_refused"] += 1
        self.counts["lines"] += lines
        detail = f"{len(payload)} bytes, {lines} lines" if reason == "oversized" else "not gatewatch/<vehicle>/alerts"
        self.quarantine.put(reason, topic, payload, detail, lines)

    def _line(self, topic: str, name: str, line: bytes) -> None:
        if len(line) > self.limits.record_bytes:
            self.quarantine.put("oversized", topic, line, f"a line of {len(line)} bytes")
            return
        try:
            record = validate.record(line)
        except validate.Invalid as error:
            self.quarantine.put("invalid", topic, line, str(error))
            return
        for said in validate.vehicle_ids(record):
            if safe_name(said) != name:
                self.quarantine.put("spoofed", topic, line, f"a record of vehicle {said[:64]!r} on the topic of {name!r}")
                return
        self._chain(topic, name, record, line)

    def _chain(self, topic: str, name: str, record: dict, line: bytes) -> None:
        chain = record["unmapped"]["chain"]
        seq, claimed = int(chain["seq"]), chain["hash"]
        problem = self.keys.problem(name, record, chain)
        if problem:
            self._finding(name, "tampered", seq, problem)
            self.quarantine.put("tampered", topic, line, problem)
            return
        vehicle = self._vehicle(name)
        known = vehicle.hashes.get(seq)
        if known is None:
            downgraded = vehicle.downgrade(seq, chain.get("canon") == "jcs")
            if downgraded and chain.get("canon") != "jcs":
                self._finding(name, "tampered", seq, downgraded)
                self.quarantine.put("tampered", topic, line, downgraded)
                return
            if downgraded:  # the old-form record is already filed: say so, and file this one
                self._finding(name, "tampered", vehicle.last_old_form or seq, downgraded)
        if known is not None:
            if known == claimed:
                self.counts["duplicates"] += 1
            else:
                self._finding(name, "conflict", seq, "a second record with this sequence number")
                self.quarantine.put("conflict", topic, line, f"a second record with sequence number {seq}")
            return
        before = vehicle.hashes.get(seq - 1)
        if before is not None and chain.get("prev") != before:
            self._finding(name, "unlinked", seq, f"does not link to record {seq - 1}")
        if seq + 1 in vehicle.prevs and vehicle.prevs[seq + 1] != claimed:  # the next one came first
            self._finding(name, "unlinked", seq + 1, f"does not link to record {seq}")
        vehicle.hashes[seq], vehicle.prevs[seq] = claimed, str(chain.get("prev"))
        vehicle.seen.add(seq)
        self._file(name, record, line)
        self.counts["records"] += 1

    def _file(self, name: str, record: dict, line: bytes) -> None:
        folder = partition(self.out, name, record)
        self._write(folder / records_file(name), line.rstrip(b"\n") + b"\n")
        self._write(folder / "rows.jsonl", json.dumps(row_of(record)).encode() + b"\n")
        self._dirty.add(folder)

    def _write(self, path: Path, data: bytes) -> None:
        try:
            self._handle(path).write(data)
        except OSError as error:  # a buffered write does not say which file: name it
            raise OSError(error.errno, error.strerror, str(path)) from error

    def _handle(self, path: Path) -> BinaryIO:
        """An open file per partition, the most recent 64 kept open (flushed after every PUBLISH)."""
        handle = self._open.pop(path, None) or path.open("ab")
        self._open[path] = handle
        while len(self._open) > 64:
            self._open.pop(next(iter(self._open))).close()
        return handle

    def _flush(self) -> None:
        for path, handle in self._open.items():
            try:
                handle.flush()
            except OSError as error:  # a buffered flush does not say which file: name it
                raise OSError(error.errno, error.strerror, str(path)) from error
        self.quarantine.flush()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def close(self) -> None:
        """Close the files, and write the Parquet table of each partition that took records."""
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        self.quarantine.close()
        self._write_tables()

    def _write_tables(self) -> None:
        """The Parquet files of the partitions with new rows (their rows flushed: under the lock)."""
        dirty = sorted(self._dirty)
        self.counts.update(write_tables(self.out, dirty))
        self._dirty.difference_update(dirty)  # only once written: a failed write is tried again

    def write_tables(self) -> None:
        with self._lock:
            try:
                self._flush()
                self._write_tables()
            except OSError as error:  # the table is derived: the rows are safe, it is written again at the end
                self.counts["table_write_errors"] += 1
                log.warning("cannot write the fleet table: %s", error)

    def _finding(self, name: str, kind: str, seq: int | None, detail: str) -> None:
        self.counts[f"findings_{kind}"] += 1
        if (name, kind) not in self._logged:  # once per vehicle and kind: the file has every one
            self._logged.add((name, kind))
            log.warning("vehicle %s: %s%s: %s", name, kind, f" at sequence {seq}" if seq else "", detail)
        with (self.out / FINDINGS_FILE).open("a") as handle:
            handle.write(json.dumps({"time": time.time(), "vehicle": name, "kind": kind, "seq": seq, "detail": detail}) + "\n")

    def gaps(self) -> dict[str, tuple[int, list[tuple[int, int]]]]:
        """Per vehicle with any: how many sequence numbers below its highest never arrived, and
        the first ten missing ranges (first, last)."""
        out = {}
        for name, vehicle in self.vehicles.items():
            count, holes = vehicle.seen.missing()
            if count:
                out[name] = (count, holes[:10])
        return out

    def stats(self) -> dict:
        forgotten = sum(vehicle.seen.forgotten for vehicle in self.vehicles.values())
        counts = {**dict.fromkeys(COUNTERS, 0), **self.counts}
        return {**dict(sorted(counts.items())), "vehicles": len(self.vehicles), "gap_numbers_forgotten": forgotten}

    def save_stats(self) -> None:
        """``collector-stats.json``, replaced atomically (a reader never sees half of it)."""
        path = self.out / STATS_FILE
        try:
            partial = path.with_suffix(".json.tmp")
            partial.write_text(json.dumps({"time": round(time.time(), 3), **self.stats()}, indent=1) + "\n")
            os.replace(partial, path)
        except OSError as error:
            self.counts["stats_write_errors"] += 1
            log.debug("cannot write %s: %s", path, error)

    # ------------------------------------------------------------ the subscription

    def run(self, stop: threading.Event, idle_s: float | None = None) -> Counter:
        """Receive until ``stop`` (or ``idle_s`` seconds without a record); the gaps left are
        recorded as findings. Raises ``CollectorError`` when it could not file."""
        client = self.broker.client(self.client_id)
        client.manual_ack_set(True)  # acknowledged once filed: a PUBLISH that could not be is sent again
        topic = f"$share/{self.group}/{TOPIC}" if self.group else TOPIC
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        observer = client.on_subscribe  # one the broker's client came with (a test's) keeps working

        def on_subscribe(c, u, mid, codes, p) -> None:
            self.subscribed.set()
            if observer is not None:
                observer(c, u, mid, codes, p)

        client.on_subscribe = on_subscribe
        last = [time.monotonic()]

        def on_message(c, u, message) -> None:
            if self.failed:
                return  # stopping: nothing more is acknowledged
            try:
                self.take(message.topic, message.payload)
            except CollectorError:
                return
            c.ack(message.mid, message.qos)
            last[0] = time.monotonic()

        client.on_message = on_message
        client.connect(self.broker.host, self.broker.port, keepalive=20, clean_start=False,
                       properties=connect_properties(86400))
        client.loop_start()
        try:
            self._wait(stop, idle_s, last)
        finally:
            client.loop_stop()
            client.disconnect()
            self._finish()
        return self.counts

    def _wait(self, stop: threading.Event, idle_s: float | None, last: list[float]) -> None:
        saved = tabled = time.monotonic()
        while not stop.wait(0.2) and not self.failed:
            if idle_s is not None and time.monotonic() - last[0] >= idle_s:
                break
            if time.monotonic() - saved >= 2.0:
                self.save_stats()
                saved = time.monotonic()
            if time.monotonic() - tabled >= TABLE_EVERY_S:
                self.write_tables()
                tabled = time.monotonic()

    def _finish(self) -> None:
        with self._lock:
            try:
                self.close()
                if not self.group and not self.failed:  # in a shared group each collector sees part of
                    # every chain: the chain-gaps-per-vehicle question over all their folders finds the gaps
                    for name, (count, holes) in self.gaps().items():
                        shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in holes)
                        self._finding(name, "gap", holes[0][0], f"{count} sequence number(s) never arrived: {shown}")
            except OSError as error:
                self.failed = self.failed or CollectorError(f"{error.filename or self.out}: {error.strerror or error}")
        self.save_stats()
        log.info("collector counts: %s", json.dumps(self.stats()))
        if self.failed:
            raise self.failed


def _topic_vehicle(topic: str) -> str | None:
    """The vehicle of ``gatewatch/<vehicle>/alerts``, spelt as its folders are; None for any other topic."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "gatewatch" or parts[2] != "alerts" or not parts[1]:
        return None
    return parts[1] if safe_name(parts[1]) == parts[1] else None
