"""Regression tests for detection defects found in review (issue 15)."""

from __future__ import annotations

import struct
from collections import Counter

from monitor.detect.wire.scan import scan_payload

from ..builders import encode, gateway_db, packet, stream, write_log, write_pcap
from .conftest import run_monitor


def test_taint_searches_the_latest_positions_not_the_northernmost(tmp_path):
    """Driving south for 1000 distinct fixes: the current one must still be searched."""
    db, t0 = gateway_db(), 1_700_000_000.0
    fixes = [(48.2 - k * 1e-4, 11.5) for k in range(1000)]
    lines = [encode(db, "GW_GNSS_Position", t0 + 0.1 * k, Latitude=lat, Longitude=lon) for k, (lat, lon) in enumerate(fixes)]
    log = write_log(tmp_path / "can.log", lines)
    lat, lon = fixes[-1]
    body = f"POST /p HTTP/1.1\r\nHost: x.example\r\n\r\nposition={lat:.5f};{lon:.5f}".encode()
    findings, _ = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "up.pcap", [packet(t0 + 100.5, body, dport=80)])])
    hits = [f for f in findings if f.detector == "taint.position"]
    assert hits and abs(hits[0].position.lat - lat) < 1e-4


def test_an_nmea_date_in_the_nineties_is_not_2094():
    sentence = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
    match = next(m for m in scan_payload(sentence, Counter()) if m.protocol == "nmea")
    assert match.positions[0].time == "1994-03-23T12:35:19Z"
    recent = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230324,003.1,W*6A\r\n"
    assert next(m for m in scan_payload(recent, Counter()) if m.protocol == "nmea").positions[0].time.startswith("2024-03-23")


def test_rtmp_publish_on_any_chunk_stream_a_client_uses_is_seen():
    publish = b"\x02\x00\x07publish\x00" + bytes(8) + b"\x05\x02\x00\x0acam1-front"
    for first in (0x02, 0x03, 0x08, 0x14, 0x43, 0x48):
        chunk = bytes([first]) + b"\x00\x00\x00\x00\x00\x20\x14\x01\x00\x00\x00" + publish
        assert [m.seen for m in scan_payload(chunk, Counter())] == ["RTMP publish"], hex(first)


def test_a_vin_or_imei_in_plaintext_is_found_without_can(tmp_path):
    t0 = 1_700_000_000.0
    labelled = b'POST /d HTTP/1.1\r\nHost: a.example\r\n\r\n{"meta": {"deviceImei": "490154203237518", "vin": "WVWZZZ1JZXW000001"}}'
    checked = b"GET /v?id=1M8GDM9AXKP042788&x=1 HTTP/1.1\r\nHost: b.example\r\n\r\n"
    noise = b'POST /t HTTP/1.1\r\nHost: c.example\r\n\r\n{"token": "ABCDEFGH123456789", "n": "490154203237519"}'
    pcap = write_pcap(tmp_path / "ids.pcap", [packet(t0, labelled, dport=80, sport=41000), packet(t0 + 1, checked, dport=80, sport=41001),
                                              packet(t0 + 2, noise, dport=80, sport=41002)])
    findings, monitor = run_monitor(captures=[pcap])
    assert monitor.state.vin is None  # no CAN at all
    found = {(f.evidence["identity"].get("vin") or f.evidence["identity"].get("imei"), f.flow["orig_p"])
             for f in findings if f.detector == "wire.identifier"}
    assert found == {("490154203237518", 41000), ("WVWZZZ1JZXW000001", 41000), ("1M8GDM9AXKP042788", 41001)}
    assert all(f.category == "identity" for f in findings if f.detector == "wire.identifier")


def test_replay_warns_when_can_and_ip_do_not_overlap_and_an_offset_aligns_them(tmp_path):
    from ..builders import run

    db, t0 = gateway_db(), 1_700_000_000.0
    lines = [encode(db, "GW_GNSS_Position", 0.1 * k, Latitude=48.137154, Longitude=11.576124) for k in range(50)]
    log = write_log(tmp_path / "relative.log", lines)  # a log with times from its own start
    body = b"POST /t HTTP/1.1\r\nHost: x.example\r\n\r\nat=48.137154,11.576124"
    pcap = write_pcap(tmp_path / "up.pcap", [packet(t0 + 3, body, dport=80)])
    code, out, err = run("replay", str(log), str(pcap), "-o", str(tmp_path / "a"))
    assert code == 0 and "do not overlap in time" in err and f"--can-time-offset {t0 + 3:.3f} would align their starts" in err
    assert "taint.position" not in out
    code, out, err = run("replay", str(log), str(pcap), "-o", str(tmp_path / "b"), "--can-time-offset", str(t0))
    assert code == 0 and "do not overlap" not in err and "taint.position" in out


def test_vehicle_net_on_replay_decides_which_side_is_the_vehicle(tmp_path):
    from ..builders import alerts_in, run

    t0 = 1_700_000_000.0
    report = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
    pcap = write_pcap(tmp_path / "p.pcap", [packet(t0, report, dport=6000, src="100.64.7.2", dst="198.51.100.9")])
    assert run("replay", str(pcap), "-o", str(tmp_path / "a"))[0] == 0
    assert alerts_in(tmp_path / "a")[0]["flow"]["direction"] == "outbound"  # neither inside: the originator
    code, _, err = run("replay", str(pcap), "-o", str(tmp_path / "b"), "--vehicle-net", "198.51.100.0/24")
    assert code == 0 and alerts_in(tmp_path / "b") == []  # now the server's side is the vehicle: nothing leaves
    code, _, err = run("replay", str(pcap), "-o", str(tmp_path / "c"), "--vehicle-net", "not-a-cidr")
    assert code == 1 and "not-a-cidr" in err


def test_a_socketcan_pcap_is_read_as_can(tmp_path):
    import struct

    from monitor.net.pcapwriter import write_pcap as write_raw

    from ..builders import run

    db, t0 = gateway_db(), 1_700_000_000.0
    message = db.get_message_by_name("GW_GNSS_Position")
    data = message.encode({"Latitude": 48.137154, "Longitude": 11.576124})
    frames = [(int((t0 + 0.1 * k) * 1e9), struct.pack(">IB3x8s", message.frame_id, 8, data), 16) for k in range(30)]
    write_raw(tmp_path / "can0.pcap", frames, 227)  # LINKTYPE_CAN_SOCKETCAN: the id in network byte order
    body = b"POST /t HTTP/1.1\r\nHost: x.example\r\n\r\nat=48.137154,11.576124"
    pcap = write_pcap(tmp_path / "up.pcap", [packet(t0 + 2, body, dport=80)])
    code, out, err = run("replay", str(tmp_path / "can0.pcap"), str(pcap), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert "can0.pcap: 30 CAN frames" in out and "vehicle state: 60 signal values" in out
    assert "taint.position" in out and "do not overlap" not in err


def test_the_can_time_offset_moves_a_socketcan_capture_too(tmp_path):
    import struct

    from monitor.net.pcapwriter import write_pcap as write_raw

    from ..builders import run

    db, t0, skew = gateway_db(), 1_700_000_000.0, 3600.0
    message = db.get_message_by_name("GW_GNSS_Position")
    data = message.encode({"Latitude": 48.137154, "Longitude": 11.576124})
    frames = [(int((t0 - skew + 0.1 * k) * 1e9), struct.pack(">IB3x8s", message.frame_id, 8, data), 16) for k in range(30)]
    write_raw(tmp_path / "can0.pcap", frames, 227)  # the CAN logger's clock an hour behind
    body = b"POST /t HTTP/1.1\r\nHost: x.example\r\n\r\nat=48.137154,11.576124"
    pcap = write_pcap(tmp_path / "up.pcap", [packet(t0 + 2, body, dport=80)])
    code, out, err = run("replay", str(tmp_path / "can0.pcap"), str(pcap), "-o", str(tmp_path / "a"))
    assert code == 0 and "do not overlap in time" in err and "taint.position" not in out
    code, out, err = run("replay", str(tmp_path / "can0.pcap"), str(pcap), "-o", str(tmp_path / "b"), "--can-time-offset", str(skew))
    assert code == 0, err
    assert "do not overlap" not in err and "taint.position" in out


def test_a_mapping_upload_at_a_steady_speed_is_judged_too(tmp_path):
    """Constant speed: per-window distance never varies, so the correlation is undefined; the
    uploads, in every moving window at tens of kB per km, still make it mapping-like."""
    db, t0 = gateway_db(), 1_700_000_000.0
    lines = [encode(db, "GW_VehicleMotion", t0 + 0.1 * k, VehicleSpeed=60, Odometer=round(1000 + k * 60 / 36000, 3), GearReverse=0)
             for k in range(3000)]  # 300 s at exactly 60 km/h: 1 km per minute
    log = write_log(tmp_path / "can.log", lines)
    uploads = [packet(t0 + 5 + 5 * k + 0.2 * j, bytes(1200), dport=443, sport=42000, seq=1 + 1200 * (3 * k + j))
               for k in range(58) for j in range(3)]  # 3.6 KB every 5 s = about 43 KB per km
    findings, _ = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "up.pcap", uploads)])
    mapping = [f for f in findings if f.detector == "behaviour.mapping"]
    assert mapping and mapping[0].evidence["judged_by"] == "uploads while moving"
    assert 30_000 < mapping[0].evidence["bytes_per_km"] < 60_000


def test_a_mapping_upload_spread_over_many_connections_is_added_up_per_destination(tmp_path):
    db, t0 = gateway_db(), 1_700_000_000.0
    lines, odo = [], 1000.0
    for k in range(3000):  # 300 s, speed varying between 30 and 90 km/h
        speed = 60 + 30 * ((k // 300) % 2 * 2 - 1)
        odo += speed * 0.1 / 3600
        lines.append(encode(db, "GW_VehicleMotion", t0 + 0.1 * k, VehicleSpeed=speed, Odometer=round(odo, 3), GearReverse=0))
    log = write_log(tmp_path / "can.log", lines)
    uploads = []
    for second in range(5, 300, 5):  # a new connection for every upload, sized by the distance just driven
        speed = 60 + 30 * ((int(second * 10) // 300) % 2 * 2 - 1)
        size = int(speed / 3600 * 5 * 40_000)  # 40 kB per km
        uploads.append(packet(t0 + second, bytes(size), dport=443, sport=43000 + second, seq=1))
    findings, _ = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "up.pcap", uploads)])
    mapping = [f for f in findings if f.detector == "behaviour.mapping"]
    assert mapping and all(f.evidence.get("aggregated_over") == "destination" for f in mapping)
    assert mapping[0].evidence["flows"] >= 3 and 30_000 < mapping[0].evidence["bytes_per_km"] < 50_000


def test_a_message_split_across_tcp_segments_is_found(tmp_path):
    """A JSON position body and a JT/T 808 location report, each cut in two by TCP: the
    second segment continues the first in sequence, so the whole message is scanned."""
    from ..builders import jt808, stream

    t0 = 1_700_000_000.0
    body = b'POST /p HTTP/1.1\r\nHost: fleet.example\r\n\r\n{"device": "tcu-7", "lat": 52.520008, "lon": 13.404954}'
    cut = body.index(b'"lat"') + 3
    location = struct.pack(">IIIIHHH", 0, 3, 31_230_000, 121_470_000, 20, 600, 90) + bytes.fromhex("261130120000")
    frame = jt808(0x0200, location)
    packets = stream(t0, [body[:cut], body[cut:]], dport=80, sport=41000) + stream(t0 + 1, [frame[:12], frame[12:]], dport=7018, sport=41001)
    findings, monitor = run_monitor(captures=[write_pcap(tmp_path / "split.pcap", packets)])
    found = {(f.flow["orig_p"], round(f.position.lat, 5), round(f.position.lon, 5)) for f in findings if f.position and f.detector.startswith("wire.")}
    assert found == {(41000, 52.52001, 13.40495), (41001, 31.23, 121.47)}
    # The JSON start is held and rescanned once; the JT/T 808 frame (no SYN seen, so its first
    # 12 bytes wait for the 16 that confirm a mid-stream start) reaches the detector whole.
    assert wire_stats(monitor)["held_rescans"] == 1


def test_a_segment_out_of_sequence_does_not_join_what_was_held(tmp_path):
    from ..builders import packet

    t0 = 1_700_000_000.0
    body = b'POST /p HTTP/1.1\r\nHost: fleet.example\r\n\r\n{"lat": 52.520008, "lon": 13.404954}'
    cut = body.index(b'"lat"') + 3
    packets = [packet(t0, body[:cut], dport=80, seq=1), packet(t0 + 0.1, body[cut:], dport=80, seq=1 + cut + 500)]
    findings, monitor = run_monitor(captures=[write_pcap(tmp_path / "gap.pcap", packets)])
    assert not [f for f in findings if f.position and f.detector.startswith("wire.")]
    assert "held_rescans" not in wire_stats(monitor)
    assert monitor.net.streams.memory.used == len(body) - cut  # the later segment waits for the gap


def wire_stats(monitor) -> dict:
    return next(d for d in monitor.runner.detectors if d.name == "wire").stats()


# Found by `make score`'s generated drives (lab/generate.py).

def test_a_trackers_positions_are_not_hidden_under_its_login_episode(tmp_path):
    """A Teltonika login (identity) then AVL records (geolocation) on one flow: two alert episodes,
    one per category. Keyed by (flow, detector) only, the positions were counted into the login's."""
    from monitor.alerts.log import AlertLog, prepare
    from monitor.testing.frames import teltonika
    from monitor.pipeline import Monitor, Sinks, load_config, replay
    from monitor.scenarios import episodes

    t0 = 1_700_000_000.0
    login = struct.pack(">H", 15) + b"356307042441013"
    payloads = [login] + [teltonika(54.6872 + k * 1e-3, 25.2797, t0 + 10 * k) for k in range(3)]
    pcap = write_pcap(tmp_path / "t.pcap", stream(t0, payloads, dport=5027, interval=10.0))
    config = load_config(None)
    prepare(tmp_path / "alerts", force=True)
    log = AlertLog(tmp_path / "alerts", config.alerts, vehicle_id="t")
    replay(Monitor(config, Sinks.of_log(log)), [], [pcap])
    log.close()
    rows = {(r["category"], r["detector"]): r["count"] for r in episodes(tmp_path / "alerts")}
    assert rows == {("identity", "wire.teltonika"): 1, ("geolocation", "wire.teltonika"): 3}


def test_ntp_and_dns_requests_at_a_steady_period_are_not_location_beacons(tmp_path):
    from monitor.testing.scene import VEHICLE, Capture

    t0, cap, other = 1_700_000_000.0, Capture(), Capture()
    ntp = bytes([0x23]) + bytes(47)
    dns = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x04time\x07example\x00\x00\x01\x00\x01"
    for k in range(12):
        cap.udp(t0 + 64 * k, VEHICLE, 123, "192.0.2.123", 123, ntp)
        other.udp(t0 + 64 * k, VEHICLE, 4123, "192.0.2.123", 4123, ntp)
    for k in range(30):
        cap.udp(t0 + 20 * k, VEHICLE, 40000, "192.0.2.53", 53, dns)
    cap.write(tmp_path / "n.pcap")
    findings, monitor = run_monitor(captures=[tmp_path / "n.pcap"])
    assert [f for f in findings if f.detector == "behaviour.beacon"] == []
    stats = monitor.summary()["detectors"]["behaviour"]
    assert stats["ntp_flows_not_judged"] >= 1 and stats["dns_flows_not_judged"] >= 1
    other.write(tmp_path / "o.pcap")  # the same shape of traffic to another port is judged, and is a beacon
    findings, _ = run_monitor(captures=[tmp_path / "o.pcap"])
    assert {f.detector for f in findings} == {"behaviour.beacon"}


def test_a_udp_beacon_slower_than_the_flow_timeout_is_judged_per_destination(tmp_path):
    """One datagram every 50 s with no answer: each is a new flow (UDP times out after 30 s)."""
    t0 = 1_700_000_000.0
    packets = [packet(t0 + 50 * k + (k % 3) * 0.4, bytes(400), dport=9000, sport=41000, udp=True) for k in range(12)]
    findings, _ = run_monitor(captures=[write_pcap(tmp_path / "b.pcap", packets)])
    beacons = [f for f in findings if f.detector == "behaviour.beacon"]
    assert beacons and all(f.evidence["aggregated_over"] == "destination" for f in beacons)
    assert 49 <= beacons[0].evidence["period_s"] <= 51


def test_two_positions_leaking_in_one_batch_are_both_found(tmp_path):
    """Taint reported the first text (or binary) hit of a whole batch buffer: a second leak in the
    same batch, to another destination, went unseen."""
    db, t0 = gateway_db(), 1_700_000_000.0
    lines = [encode(db, "GW_GNSS_Position", t0 + 0.1 * k, Latitude=-33.8688, Longitude=151.2093) for k in range(50)]
    log = write_log(tmp_path / "can.log", lines)
    text = b"a=-33.868800&b=151.209300"
    binary = b"\x01\x02" + struct.pack("<ff", -33.8688, 151.2093)
    packets = [packet(t0 + 4.0, text, dport=7001, dst="203.0.113.1"), packet(t0 + 4.1, text, dport=7002, dst="203.0.113.2"),
               packet(t0 + 4.2, binary, dport=7003, dst="203.0.113.3", udp=True),
               packet(t0 + 4.3, binary, dport=7004, dst="203.0.113.4", udp=True)]
    findings, _ = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "two.pcap", packets)])
    leaks = {f.flow["resp_h"] for f in findings if f.detector == "taint.position"}
    assert leaks == {"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"}


def test_a_download_with_regular_requests_is_not_a_location_beacon(tmp_path):
    from monitor.testing.scene import Capture, app_data

    t0 = 1_700_000_000.0
    for name, answer in (("download", 400_000), ("beacon", 40)):
        cap = Capture()
        steps: list = []
        for k in range(8):
            steps += [("up", app_data(400, k), 10.0), ("down", app_data(answer, 100 + k), 0.05)]
        cap.tcp_session(t0, "203.0.113.9", 443, 50000, steps)
        cap.write(tmp_path / f"{name}.pcap")
    findings, monitor = run_monitor(captures=[tmp_path / "download.pcap"])
    assert [f for f in findings if f.detector == "behaviour.beacon"] == []
    assert monitor.summary()["detectors"]["behaviour"]["beacon_like_downloads_not_flagged"] >= 1
    findings, _ = run_monitor(captures=[tmp_path / "beacon.pcap"])
    assert [f.detector for f in findings if f.detector == "behaviour.beacon"][:1] == ["behaviour.beacon"]


def test_text_taint_reads_around_decimal_points_and_misses_none_at_the_edges():
    import numpy as np

    from monitor.detect.taint import _text_hits, _text_windows
    from monitor.detect.taintscan import segments

    track = segments(np.array([0.0]), np.array([48.137154]), np.array([11.576124]), 0.0, 0.0, 0.0005)
    for text in (b"48.13715,11.57612", b"x" * 5000 + b"lat=48.137154&lon=11.576124",
                 b"4808.2292,N,01134.5674,E", b"\xff" * 100 + b'{"a": 48.1372, "b": 11.5761}' + b"\x00" * 3):
        hits = _text_hits(text, track)
        assert [hit[0] for hit in hits] == [text.index(b"48")], text  # the latitude's offset
    assert _text_windows(bytes(range(256)) * 100) == []  # '.' next to no digits: nothing read
