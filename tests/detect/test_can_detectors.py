"""CAN-side detectors on logs python-can writes and on python-can's virtual bus."""

from __future__ import annotations

import can

from monitor.canbus.buses import open_bus
from monitor.canbus.frames import FrameBatch
from monitor.pipeline import Monitor, Sinks, load_config

from ..builders import gateway_db, send_and_collect
from .conftest import run_monitor


def _log(path, messages):
    with can.CanutilsLogWriter(str(path), channel="can0") as writer:
        for message in messages:
            writer.on_message_received(message)
    return path


def _msg(db, name, ts, **signals):
    m = db.get_message_by_name(name)
    return can.Message(timestamp=ts, arbitration_id=m.frame_id, is_extended_id=False, data=m.encode(signals))


def test_unknown_id_range_violation_and_rate_burst(tmp_path):
    db, t0 = gateway_db(), 1_700_000_000.0
    messages = [_msg(db, "GW_GNSS_Position", t0 + 0.1 * k, Latitude=48.1, Longitude=11.5) for k in range(100)]
    messages += [_msg(db, "GW_GNSS_Position", t0 + 5 + 0.01 * k + 0.005, Latitude=48.1, Longitude=11.5)
                 for k in range(50)]  # a sender injecting at 10x the DBC cycle time for half a second
    messages += [can.Message(timestamp=t0 + 3 + 0.2 * k, arbitration_id=0x4F9, is_extended_id=False, data=bytes(8)) for k in range(5)]
    speed = db.get_message_by_name("GW_VehicleMotion")
    messages.append(can.Message(timestamp=t0 + 4, arbitration_id=speed.frame_id, is_extended_id=False,
                                 data=b"\xff\xff" + bytes(6)))
    findings, monitor = run_monitor(can_logs=[_log(tmp_path / "bus.log", sorted(messages, key=lambda m: m.timestamp))])
    by = {f.detector: f for f in findings}
    assert by["can.unknown_id"].can["ids"] == ["0x4F9"] and by["can.unknown_id"].can["frames"] == 5
    assert by["can.range"].seen == "GW_VehicleMotion.VehicleSpeed outside its DBC range"
    assert by["can.range"].evidence["value"] > 400
    timing = [f for f in findings if f.detector == "can.timing"]
    assert timing and all(f.can["ids"] == ["0x4F0"] for f in timing)
    assert timing[0].evidence["frames_in_window"] > timing[0].evidence["expected_at_most"]
    assert 5.0 <= timing[0].can["first_ts"] - t0 <= 5.6
    assert monitor.summary()["detectors"]["can"]["unknown_id_frames"] == 5


def _isotp(can_id, payload: bytes) -> list[bytes]:
    if len(payload) <= 7:
        return [bytes([len(payload)]) + payload]
    frames = [bytes([0x10 | (len(payload) >> 8), len(payload) & 0xFF]) + payload[:6]]
    rest, index = payload[6:], 1
    while rest:
        frames.append(bytes([0x20 | (index & 0xF)]) + rest[:7])
        rest, index = rest[7:], index + 1
    return frames


def test_uds_vin_read_security_access_and_upload_over_a_virtual_bus():
    vin = "WVWZZZ1JZXW000001"
    exchanges = [(0x7E0, b"\x22\xf1\x90"), (0x7E8, b"\x62\xf1\x90" + vin.encode()),
                 (0x7E0, b"\x27\x01"), (0x7E8, b"\x67\x01\x11\x22\x33\x44"),
                 (0x7E0, b"\x35\x00\x44\x00\x00\x10\x00\x00\x00\x40\x00"), (0x7E8, b"\x76\x01" + bytes(200)),
                 (0x7E0, b"\x01\x0d")]  # OBD-II speed request: not a transfer
    frames = [can.Message(arbitration_id=i, is_extended_id=False, data=f.ljust(8, b"\xaa"))
              for i, payload in exchanges for f in _isotp(i, payload)]
    channel = "gw-uds-test"
    source = open_bus("diag", {"interface": "virtual", "channel": channel}, batch_size=256, max_latency=0.05)
    source.open()
    batches = send_and_collect(source, channel, frames)
    source.close()
    findings: list = []
    monitor = Monitor(load_config(), Sinks(stats=findings.append))
    monitor.can_batch(FrameBatch.concat(batches))
    monitor.finish()
    seen = {f.seen for f in findings if f.detector == "can.uds"}
    assert "UDS ReadDataByIdentifier 0x22 response" in seen and "UDS SecurityAccess 0x27 request" in seen
    assert "UDS RequestUpload 0x35 request" in seen and "UDS TransferData 0x36 response" in seen
    vin_reply = next(f for f in findings if f.seen == "UDS ReadDataByIdentifier 0x22 response")
    assert vin_reply.evidence["vin"] == vin and vin_reply.category == "can" and vin_reply.can["ids"] == ["0x7E8"]
    transfer = next(f for f in findings if "TransferData" in f.seen)
    assert transfer.evidence["bytes"] == 202 and transfer.can["frames"] == 29
