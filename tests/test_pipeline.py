"""The Monitor's outputs: one Sinks object, finished flows and DNS messages out of the net
stage's returned view (not callbacks hung on it), typed verdicts, the VIN from the Monitor's state."""

from __future__ import annotations

import threading
from pathlib import Path

from monitor.alerts.log import AlertLog, prepare
from monitor.detect.finding import Verdict
from monitor.net.capture import CaptureSource
from monitor.pipeline import Monitor, Sinks, load_config, replay, run
from monitor.timeline import Timeline
from tests.builders import dns_packet, write_pcap

T0 = 1_700_000_000.0
ECU, RESOLVER = "192.168.1.20", "8.8.8.8"


def lookups(tmp_path: Path) -> Path:
    """Three lookups ten minutes apart, each a flow of its own: a flow idle for long ends when a
    later batch comes (the net stage expires flows a batch late, so a view's slots stay valid)."""
    packets = []
    for k in range(3):
        ts, port, name = T0 + 600 * k, 41001 + k, f"{'abc'[k]}.example"
        packets += [dns_packet(ts, ECU, RESOLVER, port, 53, 11 + k, name),
                    dns_packet(ts + 0.01, RESOLVER, ECU, 53, port, 11 + k, name, f"203.0.113.{7 + k}")]
    return write_pcap(tmp_path / "dns.pcap", packets)


def test_flows_and_dns_messages_reach_their_sinks_from_the_view(tmp_path):
    flows: list[dict] = []
    dns: list[tuple] = []
    monitor = Monitor(load_config(None), Sinks(flows=flows.append, dns=lambda flow, ts, msg: dns.append((flow, ts, msg))))
    run(monitor, Timeline([CaptureSource(lookups(tmp_path), slice_s=1.0)]).start())
    assert (flows[0]["orig_p"], flows[0]["reason"]) == (41001, "idle_timeout")  # before the input ended
    assert sorted((f["orig_p"], f["reason"]) for f in flows[1:]) == [(41002, "end_of_input"), (41003, "end_of_input")]
    assert all(f["country"] == "US" for f in flows)  # the pipeline placed each destination
    assert monitor.counts["flows_finished"] == 3 == monitor.summary()["net"]["flows"]["finished"]
    assert [(flow["orig_h"], flow["orig_p"], msg.id, msg.is_response) for flow, ts, msg in dns] == [
        (ECU, 41001 + k, 11 + k, answer) for k in range(3) for answer in (False, True)]
    assert [round(ts / 1e9, 6) for _, ts, _ in dns][:2] == [T0, T0 + 0.01]
    assert not monitor.net.drain()  # nothing left behind in the stage


def test_the_first_flow_leaves_in_the_view_of_the_batch_that_ended_it(tmp_path):
    monitor = Monitor(load_config(None))
    views = []
    for batch in CaptureSource(lookups(tmp_path), slice_s=1.0).batches(threading.Event()):
        view = monitor.net.process(batch)
        views.append(view)
    assert views
    ended = [f["orig_p"] for v in views if v is not None for f in v.finished_flows]
    messages = [m.message.id for v in views if v is not None for m in v.dns_messages]
    assert messages == [11, 11, 12, 12, 13, 13]
    assert ended == [41001]  # in the third view: the second batch's time expired it
    assert [v.finished_flows and v.finished_flows[0]["orig_p"] for v in views] == [[], [], 41001]
    assert sorted(f["orig_p"] for f in monitor.net.finish()) == [41002, 41003]


def test_one_alert_log_takes_findings_flows_dns_and_the_vin_of_the_monitor(tmp_path):
    config = load_config(None)
    prepare(tmp_path / "out", force=True)
    log = AlertLog(tmp_path / "out", config.alerts, vehicle_id="car")
    monitor = Monitor(config, Sinks.of_log(log))
    monitor.state.vin = "1HGCM82633A004352"
    assert log.vehicle()["vin"] == "1HGCM82633A004352"
    replay(monitor, [], [lookups(tmp_path)])
    log.close()
    assert log.summary()["flows_logged"] == 3
    assert len((tmp_path / "out" / "dns-car.jsonl").read_text().splitlines()) == 3  # a line per answered query


def test_a_verdict_is_typed_until_the_record_makes_it_a_mapping():
    assert Verdict("block", "r1", "cloud").as_dict() == {"action": "block", "rule": "r1", "destination_set": "cloud"}
    assert Verdict("alert", "default").as_dict() == {"action": "alert", "rule": "default"}
