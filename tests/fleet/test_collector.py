"""A collector that holds, against a real Mosquitto: a poisoned vehicle sends records with a
time of "yesterday" and 1e20, a sequence number of 1e10 and 2^60, a claimed HMAC without a key,
no algorithm, records on another vehicle's topic, NaN, a line nested 10,000 deep and a PUBLISH
of 400,000 junk lines, while two honest vehicles publish through the real uplink. Every honest
record is filed once and its chain verifies; every bad one is in the quarantine with its reason,
counted; the collector keeps running, and after a restart (the poison waiting in its session)
it files new records. Keyed vehicles: the algorithm is the collector's, not the record's."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path


from monitor.alerts.chain import GENESIS, chain_of, digest, seal
from monitor.alerts.files import ChainedWriter, WriterSettings
from monitor.alerts.logfiles import chain_files, sequences
from monitor.fleet.broker import Broker
from monitor.fleet.collector import STATS_FILE, Collector, CollectorError
from monitor.fleet.keys import Keys
from monitor.fleet.limits import Limits
from monitor.fleet.rows import records_file
from monitor.fleet.uplink import Uplink
from tests.builders import run


def wait_until(condition: Callable[[], bool], timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def of_vehicle(template: dict, vehicle: str) -> dict:
    record = json.loads(json.dumps(template))
    record["unmapped"]["gatewatch"]["vehicle"]["id"] = vehicle
    record["device"]["uid"] = record["device"]["name"] = vehicle
    return record


def vehicle_log(folder: Path, template: dict, vehicle: str, count: int, key: bytes | None = None,
                first: int = 0) -> dict[int, str]:
    """``count`` records of ``vehicle`` written by the real chained writer; seq -> hash of them all."""
    writer = ChainedWriter(folder, vehicle, WriterSettings(key=key))
    for n in range(count):
        record = of_vehicle(template, vehicle)
        record["message"] = f"{vehicle} alert {first + n}"
        writer.append(record)
    writer.close()
    return {seq: hashes[0] for seq, hashes in sequences(chain_files(folder)).items()}


def sealed(template: dict, vehicle: str, seq: int, key: bytes | None = None, **changes) -> dict:
    record = of_vehicle(template, vehicle)
    record.update(changes)
    return seal(record, seq, GENESIS, key)


def line(record: dict) -> bytes:
    return json.dumps(record).encode()


class Running:
    """A collector in a thread, subscribed before the constructor returns."""

    def __init__(self, broker: Broker, out: Path, **options) -> None:
        self.collector = Collector(broker, out, **options)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        assert self.collector.subscribed.wait(30), "the collector did not subscribe"

    def _run(self) -> None:
        try:
            self.collector.run(self.stop)
        except BaseException as error:  # noqa: BLE001 - reported by close()
            self.error = error

    def count(self, name: str) -> int:
        return self.collector.counts[name]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and self.error is None, self.error


class Poisoner:
    """One MQTT client that publishes what it is given, each PUBLISH acknowledged (QoS 1)."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="poisoner", protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(30)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def collected(out: Path, vehicle: str) -> dict[int, list[str]]:
    return sequences(sorted(out.glob(f"day=*/vehicle={vehicle}/alerts-*.jsonl")))


def quarantined(out: Path) -> list[dict]:
    return [json.loads(x) for path in sorted((out / "quarantine").glob("*.jsonl")) for x in path.read_text().splitlines()]


def findings(out: Path) -> list[dict]:
    path = out / "collector-findings.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def poison(template: dict) -> list[tuple[str, bytes, str]]:
    """(topic, payload, the reason the collector must give) of every poisoned PUBLISH."""
    own = "gatewatch/car-666/alerts"
    no_alg = sealed(template, "car-666", 3)
    del no_alg["unmapped"]["chain"]["alg"]
    hmac_claim = sealed(template, "car-666", 4)
    hmac_claim["unmapped"]["chain"]["alg"] = "hmac-sha256"
    deep = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    return [
        (own, line(sealed(template, "car-666", 1, time="yesterday")), "invalid"),
        (own, line(sealed(template, "car-666", 2, time=1e20)), "invalid"),
        (own, line(sealed(template, "car-666", 1 << 60)), "invalid"),
        (own, line(no_alg), "tampered"),
        (own, line(hmac_claim), "tampered"),
        ("gatewatch/car-7/alerts", line(sealed(template, "car-666", 5)), "spoofed"),  # its record on another's topic
        (own, line(sealed(template, "car-8", 6)), "spoofed"),  # another's record on its own topic
        (own, b'{"time": NaN}', "invalid"),
        (own, deep, "invalid"),
        (own, b"\x00" * 64, "invalid"),
        ("gatewatch/car 9/alerts", line(sealed(template, "car 9", 1)), "topic"),
        (own, b"junk\n" * 400_000, "oversized"),
    ]


def test_a_poisoned_vehicle_loses_nothing_for_the_others_and_is_quarantined(tmp_path: Path, mosquitto, template) -> None:
    broker = Broker.parse(mosquitto.url)
    honest = {vehicle: vehicle_log(tmp_path / vehicle, template, vehicle, 60) for vehicle in ("car-7", "car-8")}
    out = tmp_path / "fleet"
    collector = Running(broker, out)
    bad = poison(template)
    big = sealed(template, "car-666", 10_000_000_000)  # a valid record far ahead: a gap of 10^10, as ranges
    try:
        uplinks = [threading.Thread(target=Uplink(tmp_path / v, broker, tmp_path / f"state-{v}", batch=5).run,
                                    args=(threading.Event(), True)) for v in honest]
        for uplink in uplinks:
            uplink.start()
        poisoner = Poisoner(mosquitto.port)
        for topic, payload, _ in bad:  # while the honest vehicles publish
            poisoner.send(topic, payload)
        poisoner.send("gatewatch/car-666/alerts", line(big))
        poisoner.close()
        for uplink in uplinks:
            uplink.join(120)
        wait_until(lambda: collector.count("records") >= 121, what="every honest record and the far one")
        wait_until(lambda: sum(collector.count(f"quarantined_{r}") for r in ("invalid", "tampered", "spoofed", "topic"))
                   >= len(bad) - 1 and collector.count("quarantined_oversized") == 400_000, what="the quarantine")
        assert collector.thread.is_alive()  # it survived everything
    finally:
        collector.close()
    for vehicle, records in honest.items():
        assert collected(out, vehicle) == {seq: [h] for seq, h in records.items()}, vehicle
        [folder] = out.glob(f"day=*/vehicle={vehicle}")
        code, said, err = run("alerts", "verify", str(folder))
        assert code == 0 and "60 records" in said and "BROKEN" not in said, said + err
    assert collected(out, "car-666") == {10_000_000_000: [big["unmapped"]["chain"]["hash"]]}

    entries = quarantined(out)
    assert Counter(e["reason"] for e in entries) == Counter(reason for _, _, reason in bad)
    by_reason = {reason: [e for e in entries if e["reason"] == reason] for _, _, reason in bad}
    assert any("time" in e["detail"] and "yesterday" in e["detail"] for e in by_reason["invalid"])
    assert any("time" in e["detail"] and "above" in e["detail"] for e in by_reason["invalid"])
    # (the JCS writer puts a number past 2^53 as text, so the schema refuses its type; test_validate checks the bound)
    assert any("sequence: \"1152921504606846976\" is not integer" in e["detail"] for e in by_reason["invalid"])
    assert any("nested too deep" in e["detail"] for e in by_reason["invalid"])
    assert {e["topic"] for e in by_reason["spoofed"]} == {"gatewatch/car-7/alerts", "gatewatch/car-666/alerts"}
    [oversized] = by_reason["oversized"]  # one entry for the whole PUBLISH, not 400,000
    assert oversized["lines"] == 400_000 and oversized["truncated"] and len(oversized["excerpt"]) <= 8192

    stats = json.loads((out / STATS_FILE).read_text())
    assert stats["records"] == 121 and stats["quarantined_invalid"] == 6 and stats["quarantined_tampered"] == 2
    assert stats["quarantined_spoofed"] == 2 and stats["quarantined_topic"] == 1 and stats["internal_errors"] == 0
    refused = sum(v for k, v in stats.items() if k.startswith("quarantined_"))
    assert stats["lines"] == stats["records"] + stats.get("duplicates", 0) + refused  # every line accounted for
    kinds = Counter((f["vehicle"], f["kind"]) for f in findings(out))
    assert kinds == {("car-666", "tampered"): 2}  # no gap finding: car-666 has one record, car-7/8 none missing

    # Poison waiting in the collector's persistent session, then a restart: it survives it and files new records.
    poisoner = Poisoner(mosquitto.port)
    poisoner.send("gatewatch/car-666/alerts", line(sealed(template, "car-666", 7, time="yesterday")))
    poisoner.close()
    more = vehicle_log(tmp_path / "car-7", template, "car-7", 5, first=60)
    restarted = Running(broker, out)
    try:
        Uplink(tmp_path / "car-7", broker, tmp_path / "state-car-7").run(threading.Event(), until_idle=True)
        wait_until(lambda: restarted.count("records") >= 5 and restarted.count("quarantined_invalid") >= 1,
                   what="the new records after the restart")
    finally:
        restarted.close()
    assert collected(out, "car-7") == {seq: [h] for seq, h in more.items()} and len(more) == 65


def test_a_flooding_vehicle_is_held_to_its_rate_and_the_others_are_not(tmp_path: Path, mosquitto, template) -> None:
    broker = Broker.parse(mosquitto.url)
    vehicle_log(tmp_path / "car-666", template, "car-666", 30)
    honest = vehicle_log(tmp_path / "car-7", template, "car-7", 8)
    out = tmp_path / "fleet"
    collector = Running(broker, out, limits=Limits(vehicle_rate=0.001, vehicle_burst=10))
    try:
        for vehicle, batch in (("car-666", 30), ("car-7", 1)):  # the flood in one PUBLISH, the honest one by one
            Uplink(tmp_path / vehicle, broker, tmp_path / f"state-{vehicle}", batch=batch).run(threading.Event(), True)
        wait_until(lambda: collector.count("records") >= 18 and collector.count("quarantined_rate") >= 20,
                   what="the honest records and the flood")
    finally:
        collector.close()
    assert sorted(collected(out, "car-666")) == list(range(1, 11))  # the burst; the rest held back
    assert collected(out, "car-7") == {s: [h] for s, h in honest.items()}  # its own bucket is untouched
    entries = quarantined(out)
    assert [e["reason"] for e in entries] == ["rate"] * 20 and collector.count("quarantined_rate") == 20
    # each refused record kept whole (a real record is a few KiB): it can be re-filed
    assert [chain_of(json.loads(e["excerpt"]))["seq"] for e in entries] == list(range(11, 31))


def test_the_algorithm_and_key_are_the_collector_s_not_the_record_s(tmp_path: Path, mosquitto, template) -> None:
    key = b"k" * 32
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "car-7.key").write_bytes(key + b"\n")
    broker = Broker.parse(mosquitto.url)
    keyed = vehicle_log(tmp_path / "car-7", template, "car-7", 10, key=key)
    plain = vehicle_log(tmp_path / "car-8", template, "car-8", 10)
    out = tmp_path / "fleet"
    collector = Running(broker, out, keys=Keys.load(tmp_path / "keys"))
    downgraded = sealed(template, "car-7", 11)  # plain SHA-256, right hash, no key needed: refused
    claimed = sealed(template, "car-8", 11)
    claimed["unmapped"]["chain"]["alg"] = "hmac-sha256"  # car-8 has no key: a claim is no seal
    claimed["unmapped"]["chain"]["hash"] = digest(claimed, b"x" * 32)
    forged = sealed(template, "car-7", 12, key=b"not the key at all")
    old_form = sealed(template, "car-7", 13, key=key)  # the right key, but back to the old canonical form
    del old_form["unmapped"]["chain"]["canon"]
    old_form["unmapped"]["chain"]["hash"] = digest(old_form, key)
    try:
        for vehicle in ("car-7", "car-8"):
            Uplink(tmp_path / vehicle, broker, tmp_path / f"state-{vehicle}").run(threading.Event(), True)
        poisoner = Poisoner(mosquitto.port)
        for record in (downgraded, claimed, forged, old_form):
            poisoner.send(f"gatewatch/{record['device']['uid']}/alerts", line(record))
        poisoner.close()
        wait_until(lambda: collector.count("records") >= 20 and collector.count("quarantined_tampered") >= 4,
                   what="the honest records and the four seals")
    finally:
        collector.close()
    assert collected(out, "car-7") == {s: [h] for s, h in keyed.items()}
    assert collected(out, "car-8") == {s: [h] for s, h in plain.items()}
    got = [(f["vehicle"], f["kind"], f["seq"]) for f in findings(out)]
    assert sorted(got) == [("car-7", "tampered", 11), ("car-7", "tampered", 12), ("car-7", "tampered", 13), ("car-8", "tampered", 11)]
    details = {(f["vehicle"], f["seq"]): f["detail"] for f in findings(out)}
    assert "claims algorithm 'sha256'; this vehicle must use hmac-sha256" in details[("car-7", 11)]
    assert "does not match its hash" in details[("car-7", 12)]
    assert "old-form record after the chain moved to JCS" in details[("car-7", 13)]
    assert "claims algorithm 'hmac-sha256'; this vehicle must use sha256" in details[("car-8", 11)]
    assert all(chain_of(json.loads(x))["alg"] == "hmac-sha256"
               for p in out.glob("day=*/vehicle=car-7/alerts-*.jsonl") for x in p.read_bytes().splitlines())


def test_a_write_error_stops_the_collector_and_the_broker_delivers_the_record_again(tmp_path: Path, mosquitto,
                                                                                     template) -> None:
    broker = Broker.parse(mosquitto.url)
    records = vehicle_log(tmp_path / "car-7", template, "car-7", 3)
    out = tmp_path / "fleet"
    collector = Running(broker, out)
    folder = out / f"day={time.strftime('%Y-%m-%d', time.gmtime(template['time'] / 1000))}" / "vehicle=car-7"
    folder.mkdir(parents=True)
    full = folder / records_file("car-7")
    full.symlink_to("/dev/full")  # every write fails: ENOSPC
    try:
        Uplink(tmp_path / "car-7", broker, tmp_path / "state").run(threading.Event(), until_idle=True)
        collector.thread.join(60)
    finally:
        full.unlink()  # (a reader of /dev/full never ends)
    assert not collector.thread.is_alive() and isinstance(collector.error, CollectorError), collector.error
    assert str(collector.error).startswith(str(full)) and "No space left" in str(collector.error), collector.error
    assert collector.count("internal_errors") == 0 and not collected(out, "car-7")  # nothing filed, nothing acknowledged
    restarted = Running(broker, out)  # the broker delivers the unacknowledged PUBLISH again
    try:
        wait_until(lambda: restarted.count("records") >= 3, what="the records delivered again")
    finally:
        restarted.close()
    assert collected(out, "car-7") == {s: [h] for s, h in records.items()}
