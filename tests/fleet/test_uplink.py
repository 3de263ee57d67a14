"""The uplink and the collector against a real Mosquitto: every record of a vehicle's alert
log arrives once after deduplication, through an uplink SIGKILLed mid-send and restarted, a
broker restart, and a tampered record published into the broker, which the collector catches.

Every wait is for an observable event (the broker granting the collector's subscription, the
collector's record count, the uplink's saved cursor, its last error), never a fixed time."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from monitor.alerts.logfiles import chain_files, sequences
from monitor.testing.scene import many_alerts
from monitor.fleet.broker import Broker
from monitor.fleet.collector import Collector
from monitor.fleet.cursor import Cursor
from monitor.fleet.uplink import Uplink
from tests.builders import run
from tests.loaded import GENEROUS, wait_until

PROJECT = Path(__file__).resolve().parents[2]


def alert_log(tmp_path: Path, alerts: int = 100) -> tuple[Path, dict[int, str]]:
    capture = many_alerts(tmp_path, alerts)
    code, _, err = run("replay", "-o", str(tmp_path / "log"), "--vehicle-id", "car-7", str(capture))
    assert code == 0, err
    records = {seq: hashes[0] for seq, hashes in sequences(chain_files(tmp_path / "log")).items()}
    return tmp_path / "log", records


def collected(out: Path, vehicle: str = "car-7") -> dict[int, list[str]]:
    """Sequence -> hashes of what a collector filed for the vehicle (several: a duplicate kept)."""
    return sequences(sorted(out.glob(f"day=*/vehicle={vehicle}/alerts-*.jsonl")))


class Running:
    """A collector in a thread, started once the broker granted its subscription (records
    published before that are not delivered to a new session), until closed."""

    def __init__(self, broker: Broker, out: Path, group: str | None = None, client_id: str = "gatewatch-collector") -> None:
        self.collector = Collector(broker, out, group, client_id)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.collector.run, args=(self.stop,))
        self.thread.start()
        if not self.collector.subscribed.wait(GENEROUS):
            self.close()
            raise AssertionError("the collector's subscription was not granted")

    def wait_for(self, want: int, timeout: float = GENEROUS) -> None:
        wait_until(lambda: self.collector.counts["records"] >= want, f"the collector to file {want} records", timeout)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)


def test_every_record_arrives_once_and_matches_the_vehicle_s_log(tmp_path: Path, mosquitto) -> None:
    log, records = alert_log(tmp_path)
    broker = Broker.parse(mosquitto.url)
    collector = Running(broker, tmp_path / "fleet")
    try:
        stats = Uplink(log, broker, tmp_path / "state").run(threading.Event(), until_idle=True)
        collector.wait_for(len(records))
    finally:
        collector.close()
    assert stats.acknowledged == len(records) and Cursor.load(tmp_path / "state" / "uplink.cursor").seq == max(records)
    assert collected(tmp_path / "fleet") == {seq: [digest] for seq, digest in records.items()}
    assert not (tmp_path / "fleet" / "collector-findings.jsonl").exists()
    # The Parquet table has every row; and the readers of alert logs take the collector's folder.
    import duckdb

    [rows] = list((tmp_path / "fleet" / "tables" / "alerts").glob("day=*/vehicle=car-7/part-0.parquet"))
    assert duckdb.sql(f"SELECT COUNT(*) FROM '{rows}'").fetchall() == [(len(records),)]
    code, _, err = run("report", "-o", str(tmp_path / "fleet.html"), str(tmp_path / "fleet"))
    assert code == 0 and "car-7" in (tmp_path / "fleet.html").read_text(), err
    code, out, err = run("alerts", "verify", str(tmp_path / "fleet"))
    assert code == 0 and f"{len(records)} records" in out and "BROKEN" not in out, out + err


def test_sigkilled_uplink_and_restarted_broker_lose_nothing_and_leave_no_duplicate(tmp_path: Path, mosquitto) -> None:
    log, records = alert_log(tmp_path, 150)
    broker = Broker.parse(mosquitto.url)
    collector = Running(broker, tmp_path / "fleet")
    state = tmp_path / "state"
    uplink = [sys.executable, "-m", "monitor", "uplink", str(log), "--broker", mosquitto.url, "--state", str(state),
              "--rate", "100", "--once"]
    try:
        for _ in range(2):  # killed mid-send twice; each restart resumes from the saved cursor
            before = Cursor.load(state / "uplink.cursor").seq
            process = subprocess.Popen(uplink, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:  # killed as soon as it has saved progress: mid-send, however slow its start-up was
                wait_until(lambda: Cursor.load(state / "uplink.cursor").seq > before,
                           "the uplink to save a cursor past the last one", alive=process, step=0.01)
            finally:
                process.send_signal(signal.SIGKILL)
                process.wait()
            cursor = Cursor.load(state / "uplink.cursor")
            assert 0 < cursor.seq < max(records)
            wait_until(lambda: all(s in collected(tmp_path / "fleet") for s in range(1, cursor.seq + 1)),
                       "the collector to file every record the cursor says was acknowledged")
        mosquitto.restart()  # the broker goes away and comes back (its queue persisted)
        finished = subprocess.run(uplink, cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False)
        assert finished.returncode == 0, finished.stderr
        collector.wait_for(len(records))
    finally:
        collector.close()
    got = collected(tmp_path / "fleet")
    assert got == {seq: [digest] for seq, digest in records.items()}  # every record once: duplicates were dropped
    assert Cursor.load(state / "uplink.cursor").seq == max(records)


def test_a_tampered_record_published_into_the_broker_is_caught(tmp_path: Path, mosquitto) -> None:
    from paho.mqtt import publish

    log, _ = alert_log(tmp_path, 5)
    line = next(path for path in chain_files(log)).read_bytes().splitlines()[0]
    record = json.loads(line)
    record["message"] = record.get("message", "") + " (edited)"
    broker = Broker.parse(mosquitto.url)
    collector = Running(broker, tmp_path / "fleet")
    try:
        publish.single("gatewatch/car-7/alerts", json.dumps(record), qos=1, hostname="127.0.0.1", port=mosquitto.port)
        wait_until(lambda: collector.collector.counts["findings_tampered"], "the collector to catch the tampered record")
    finally:
        collector.close()
    findings = [json.loads(x) for x in (tmp_path / "fleet" / "collector-findings.jsonl").read_text().splitlines()]
    assert [(f["vehicle"], f["kind"], f["seq"]) for f in findings] == [("car-7", "tampered", 1)]
    assert collected(tmp_path / "fleet") == {}


def test_a_dead_link_is_noticed_and_the_backlog_drains_when_it_returns(tmp_path: Path, mosquitto) -> None:
    from tests.fleet.proxy import LinkProxy

    log, records = alert_log(tmp_path, 150)
    proxy = LinkProxy(mosquitto.port)
    collector = Running(Broker.parse(mosquitto.url), tmp_path / "fleet")
    uplink = Uplink(log, Broker.parse(f"mqtt://127.0.0.1:{proxy.port}"), tmp_path / "state", rate=100, keepalive=2)
    stop = threading.Event()
    sender = threading.Thread(target=uplink.run, args=(stop,))
    try:
        sender.start()
        wait_until(lambda: uplink.cursor.seq, "the first records acknowledged", step=0.01)
        proxy.cut()  # silence, as when the modem loses its signal: nothing is closed
        # 1.5 keep-alive intervals later the uplink notices; it reconnects once the link is back
        wait_until(lambda: uplink.stats.last_error.startswith("disconnected"), "the uplink to notice the dead link")
        cut_at = uplink.cursor.seq
        assert 0 < cut_at < max(records)
        assert uplink.stats.last_error.startswith("disconnected")
        proxy.restore()
        collector.wait_for(len(records))
    finally:
        stop.set()
        sender.join(30)
        collector.close()
        proxy.close()
    assert collected(tmp_path / "fleet") == {seq: [digest] for seq, digest in records.items()}
    assert uplink.stats.connects >= 2 and Cursor.load(tmp_path / "state" / "uplink.cursor").seq == max(records)


def test_tls_with_client_certificates_and_a_vehicle_without_one_is_refused(tmp_path: Path, mosquitto_tls) -> None:
    log, records = alert_log(tmp_path, 10)
    pki = mosquitto_tls.folder
    vehicle = Broker.parse(mosquitto_tls.url, str(pki / "ca.pem"), str(pki / "vehicle.pem"), str(pki / "vehicle.key"))
    fleet = Broker.parse(mosquitto_tls.url, str(pki / "ca.pem"), str(pki / "collector.pem"), str(pki / "collector.key"))
    collector = Running(fleet, tmp_path / "fleet")
    try:
        stats = Uplink(log, vehicle, tmp_path / "state").run(threading.Event(), until_idle=True)
        collector.wait_for(len(records))
        stranger = Uplink(log, Broker.parse(mosquitto_tls.url, str(pki / "ca.pem")), tmp_path / "stranger")
        stop = threading.Event()
        watcher = threading.Thread(target=stop_when, args=(lambda: stranger.stats.last_error, stop))
        watcher.start()
        refused = stranger.run(stop)
        watcher.join()
    finally:
        collector.close()
    assert stats.acknowledged == len(records) and collected(tmp_path / "fleet") == {s: [d] for s, d in records.items()}
    assert refused.acknowledged == 0 and refused.connects == 0 and refused.last_error, refused


def stop_when(condition, stop: threading.Event) -> None:
    """Set ``stop`` once ``condition`` holds (or after a generous timeout, so nothing hangs)."""
    deadline = time.monotonic() + GENEROUS
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()


def test_retention_keeps_what_the_uplink_has_not_sent(tmp_path: Path) -> None:
    from monitor.alerts.files import ChainedWriter, WriterSettings

    log, _ = alert_log(tmp_path, 2)
    record = json.loads(chain_files(log)[0].read_bytes().splitlines()[0])  # a real record, re-sealed below
    folder = tmp_path / "rotating"
    writer = ChainedWriter(folder, "car-7", WriterSettings(rotate_bytes=1, keep_files=2))
    cursor = {"file": ""}
    writer.hold_from = lambda: cursor["file"]
    for _ in range(5):  # one record per file
        writer.append(json.loads(json.dumps(record)))
    assert len(chain_files(folder)) == 5 and writer.stats.files_held_for_uplink > 0  # nothing sent yet: all kept
    cursor["file"] = chain_files(folder)[3].name  # acknowledged up to the fourth file
    writer.append(json.loads(json.dumps(record)))
    writer.close()
    names = [p.name for p in chain_files(folder)]
    assert names[0] == cursor["file"] and len(names) == 3  # the sent ones went, oldest first; the rest stay


def test_collectors_in_a_shared_group_split_the_records_between_them(tmp_path: Path, mosquitto) -> None:
    log, records = alert_log(tmp_path, 100)
    broker = Broker.parse(mosquitto.url)
    first = Running(broker, tmp_path / "a", group="fleet", client_id="collector-a")
    second = Running(broker, tmp_path / "b", group="fleet", client_id="collector-b")
    try:
        Uplink(log, broker, tmp_path / "state", batch=1).run(threading.Event(), until_idle=True)
        wait_until(lambda: first.collector.counts["records"] + second.collector.counts["records"] >= len(records),
                   "the group to receive every record")
    finally:
        first.close()
        second.close()
    a, b = collected(tmp_path / "a"), collected(tmp_path / "b")
    assert a and b and not set(a) & set(b)  # each record went to one of them
    assert {**a, **b} == {seq: [digest] for seq, digest in records.items()}
    assert not (tmp_path / "a" / "collector-findings.jsonl").exists()  # part of a chain is no gap in a group
