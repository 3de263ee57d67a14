"""The alert uplink: the vehicle's chained alert files, published record by record to the
fleet's MQTT broker (v5, QoS 1, a persistent session), to ``gatewatch/<vehicle>/alerts``.

The files are the source of truth and are written (and synced) first; the uplink reads them.
Its cursor (cursor.py) moves only over the contiguous prefix the broker acknowledged, and is
saved atomically, so after any crash or lost link it re-sends from there: delivery is at least
once, and the collector removes duplicates by vehicle and sequence number. Each PUBLISH
carries one record or, while a backlog drains, a few (JSON Lines), with the first and last
sequence numbers and the last record's hash as user properties; the drain is rate-bounded.

Only what the writer synced is sent: records up to the sequence number the log's head names
(the head is rewritten after each fsync). A record that is in the file but not yet synced waits,
so a record the disk then loses (an fsync that fails with EIO stops the daemon) never reaches
the collector to conflict with the one the restarted writer puts in its place; records the
writer could not write at all (a full disk) are not in the file, so the cursor never passes
them. A folder without a head (written before heads existed) is sent as it stands.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..alerts.chain import chain_of
from ..alerts.logfiles import chain_files
from ..alerts.head import read_head
from .broker import Broker, connect_properties
from .cursor import Cursor

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 86400


@dataclass
class UplinkStats:
    published: int = 0  # records handed to the broker (again after a reconnect or restart)
    acknowledged: int = 0
    connects: int = 0
    connect_failures: int = 0
    skipped_lines: int = 0  # not records (a line a crash cut off): the verifier reports them
    waiting_for_sync: int = 0  # times a record in the file waited for the head to name it (not yet synced)
    last_error: str = ""


@dataclass
class _Sent:
    records: int
    file: str
    end: int
    seq: int
    acked: bool = False


@dataclass
class Uplink:
    folder: Path
    broker: Broker
    state_dir: Path
    batch: int = 20
    rate: float = 200.0  # records per second at most while a backlog drains
    keepalive: int = 20  # seconds: a dead cellular link is noticed in about 1.5 times this
    window: int = 100  # records in flight at once
    client_name: str = ""  # the MQTT client id's tail (default: the vehicle of the folder's log)
    stats: UplinkStats = field(default_factory=UplinkStats)

    def __post_init__(self) -> None:
        self._find_log()
        self.cursor_path = self.state_dir / "uplink.cursor"
        self.cursor = Cursor.load(self.cursor_path)
        self._read = Cursor(self.cursor.file, self.cursor.offset, self.cursor.seq)  # how far this run has sent
        self._inflight: deque[_Sent] = deque()
        self._pending: deque[tuple[str, int, bytes]] = deque()  # read, not yet published
        self._by_mid: dict[int, _Sent] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._saved_at = 0.0

    def _find_log(self) -> None:
        """The folder's alert log (none yet when the uplink starts before the first alert)."""
        files = chain_files(self.folder)
        self.stem = files[0].name.rsplit("-", 1)[0] if files else ""
        self.vehicle = self.stem.removeprefix("alerts-") or "unknown"

    # ------------------------------------------------------------ connection

    def _client(self):
        client = self.broker.client(f"gatewatch-uplink-{self.client_name or self.vehicle}")
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        # paho doubles the wait after each failed reconnect, up to 60 s; a random first wait keeps
        # a fleet that lost its link together from coming back in step.
        client.reconnect_delay_set(random.randint(1, 4), 60)
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.stats.last_error = f"broker refused the connection: {reason_code}"
            return
        self.stats.connects += 1
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        self.stats.last_error = f"disconnected: {reason_code}"

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            sent = self._by_mid.pop(mid, None)
            if sent is None:
                return
            sent.acked = True
            self.stats.acknowledged += sent.records
            while self._inflight and self._inflight[0].acked:
                done = self._inflight.popleft()
                self.cursor = Cursor(done.file, done.end, done.seq)

    def connect(self, client, stop: threading.Event) -> bool:
        """Connect with exponential back-off and jitter (many vehicles coming back after an
        outage must not reconnect in step); False when stopped first."""
        delay = 1.0
        self.state_dir.mkdir(parents=True, exist_ok=True)
        while not stop.is_set():
            try:
                client.connect(self.broker.host, self.broker.port, keepalive=self.keepalive, clean_start=False,
                               properties=connect_properties(SESSION_EXPIRY_S))
                client.loop_start()
                return True
            except OSError as error:
                self.stats.connect_failures += 1
                self.stats.last_error = f"cannot reach {self.broker.host}:{self.broker.port}: {error}"
                stop.wait(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 60.0)
        return False

    # ------------------------------------------------------------ records

    def _new_lines(self) -> list[tuple[str, int, bytes]]:
        """(file, offset after it, line) of whole lines after what this run has sent."""
        files = chain_files(self.folder, self.stem) if self.stem else []
        names = [f.name for f in files]
        start = names.index(self._read.file) if self._read.file in names else 0
        out: list[tuple[str, int, bytes]] = []
        for path in files[start:]:
            offset = self._read.offset if path.name == self._read.file else 0
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(1 << 20)
            end = data.rfind(b"\n") + 1  # a line still being written waits
            for line in data[:end].split(b"\n")[:-1]:
                offset += len(line) + 1
                out.append((path.name, offset, line))
            if out:
                return out
        return out

    def _synced_lines(self) -> list[tuple[str, int, bytes]]:
        """Up to ``batch`` pending lines, as far as the head says the writer synced."""
        limit = self._synced_seq() if self._pending else None
        lines: list[tuple[str, int, bytes]] = []
        while self._pending and len(lines) < self.batch:
            seq = _seq_of(self._pending[0][2])
            if limit is not None and seq is not None and seq > limit:
                self.stats.waiting_for_sync += 1
                break
            lines.append(self._pending.popleft())
        return lines

    def _synced_seq(self) -> int | None:
        """The last synced sequence number (the head's); None: no head, send what is there."""
        head, problem = read_head(self.folder / f"{self.stem}.head")
        if problem:
            self.stats.last_error = f"{self.stem}.head: {problem}; records wait"
            return 0
        return None if head is None else head.seq

    def _publish(self, client, lines: list[tuple[str, int, bytes]]) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        records = []
        for name, end, line in lines:
            try:
                record = json.loads(line)
                chain = chain_of(record)
                records.append((name, end, line, int(chain["seq"]), str(chain["hash"])))
            except (ValueError, KeyError, TypeError):
                self.stats.skipped_lines += 1
                self._read = Cursor(name, end, self._read.seq)
        if not records:
            return
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = [("seq", f"{records[0][3]}-{records[-1][3]}"), ("hash", records[-1][4])]
        info = client.publish(f"gatewatch/{self.vehicle}/alerts", b"\n".join(r[2] for r in records), qos=1,
                              properties=properties)
        name, end, _, seq, _ = records[-1]
        with self._lock:
            sent = _Sent(len(records), name, end, seq)
            self._inflight.append(sent)
            self._by_mid[info.mid] = sent
        self.stats.published += len(records)
        self._read = Cursor(name, end, seq)

    def _save_cursor(self, force: bool = False) -> None:
        if force or time.monotonic() - self._saved_at >= 0.2:
            with self._lock:
                cursor = Cursor(self.cursor.file, self.cursor.offset, self.cursor.seq)
            cursor.save(self.cursor_path)
            self._saved_at = time.monotonic()

    def run(self, stop: threading.Event, until_idle: bool = False) -> UplinkStats:
        """Publish until ``stop`` (or, with ``until_idle``, until everything is acknowledged)."""
        client = self._client()
        if not self.connect(client, stop):
            return self.stats
        try:
            while not stop.is_set():
                if not self._connected.wait(0.5) or len(self._inflight) >= self.window:
                    self._save_cursor()
                    continue
                if not self.stem:
                    self._find_log()
                if not self._pending and self.stem:
                    self._pending.extend(self._new_lines())
                lines = self._synced_lines()
                if lines:
                    self._publish(client, lines)
                    stop.wait(len(lines) / self.rate)
                elif until_idle and not self._inflight:
                    break
                else:
                    stop.wait(0.1)
                self._save_cursor()
        finally:
            self._save_cursor(force=True)
            client.loop_stop()
            client.disconnect()
        return self.stats


def _seq_of(line: bytes) -> int | None:
    """A line's chain sequence number; None for a line that is not a record (sent to be skipped)."""
    try:
        seq = chain_of(json.loads(line)).get("seq")
    except (ValueError, AttributeError, TypeError):
        return None
    return seq if isinstance(seq, int) else None
