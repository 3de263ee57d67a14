"""Network detectors end to end: recordings in, findings out, through Monitor and replay."""

from __future__ import annotations

import json
import struct

from ..builders import encode, gateway_db, packet, stream, vin_lines, write_log, write_pcap
from ..conftest import corpus, corpus_files
from .conftest import run_monitor

GNSS_LOG = ("can", "logs", "css-electronics", "gnss_2F6913DB_00000001-63BEF5CD.derived.log")


def _by(findings, detector):
    return [f for f in findings if f.detector == detector]


def test_benign_corpus_captures_produce_no_geolocation_findings(capsys):
    """The Alexa, video-app, DNS, TLS, QUIC, HTTP and MQTT captures of the corpus: no geolocation.
    Every other finding they produce is listed with the reason it is expected."""
    captures = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
    if not captures:
        corpus("pcap")
    produced = []
    for capture in captures:
        findings, _ = run_monitor(captures=[capture])
        geo = [f for f in findings if f.category == "geolocation"]
        assert not geo, f"{capture.name}: {[g.as_dict() for g in geo]}"
        produced += [(capture.name, f.detector, f.seen) for f in findings]
    with capsys.disabled():
        print(f"\nbenign captures: {len(captures)}, geolocation findings: 0, other findings: {len(produced)}")
        for name, detector, seen in produced:
            print(f"  {name}: {detector}: {seen}")
    # The one expected: an MQTT 5 PUBLISH of a JPEG (Suricata's test) is an image upload, which
    # from a vehicle is camera data. ndpi_rtp's Opus audio RTP is small constant packets: not video.
    assert {(n, d) for n, d, _ in produced} <= {("sv_mqtt5-pub-jpeg.pcap", "wire.file")}


def test_rtp_h264_capture_from_the_vehicle_is_video(config_with):
    capture = corpus("pcap", "str0m_rtp-h264.pcap")
    findings, _ = run_monitor(captures=[capture], config=config_with("vehicle_networks: [10.1.1.0/24]"))
    rtp = _by(findings, "wire.rtp")
    assert len(rtp) == 1 and rtp[0].category == "video" and "H.264" in rtp[0].seen
    assert rtp[0].flow["orig_h"] == "10.1.1.1" and rtp[0].flow["direction"] == "outbound"


def test_same_rtp_capture_between_in_vehicle_hosts_is_not_leaving():
    findings, _ = run_monitor(captures=[corpus("pcap", "str0m_rtp-h264.pcap")])
    assert findings == []


def test_jt1078_capture_replayed_over_tcp_is_video(tmp_path):
    text = corpus("telematics", "captures", "jt1078_smallchi_JT1078_2.txt").read_text(encoding="utf-8")
    payloads = [bytes.fromhex(line.rsplit(",", 1)[-1].strip()) for line in text.splitlines() if line.strip()]
    pcap = write_pcap(tmp_path / "jt1078.pcap", stream(1_700_000_000.0, payloads, dport=1078, interval=0.12))
    findings, monitor = run_monitor(captures=[pcap])
    video = _by(findings, "wire.jt1078")
    # One JT1078 packet per payload, all of one stream, sent within 0.12 s x 314 = 38 s, less than
    # wire.repeat_s (60 s): the first is the finding, every other one a repeat counted, not dropped.
    assert len(video) == 1 and video[0].category == "video"
    assert video[0].evidence["identity"]["sim"]
    assert monitor.summary()["detectors"]["wire"]["suppressed_repeats"] == len(payloads) - 1


def test_positions_from_a_real_gnss_log_are_found_in_outbound_payloads(tmp_path):
    """The CSS Electronics drive log gives the true position; payloads carrying it in three
    encodings are found, naming the encoding and the CAN signal; a far position is not."""
    log = corpus(*GNSS_LOG)
    findings_can, monitor = run_monitor(can_logs=[log])
    ts, lats, lons = monitor.state.positions(0, 2e9)
    t, lat, lon = float(ts[len(ts) // 2]), float(lats[len(ts) // 2]), float(lons[len(ts) // 2])
    json_body = json.dumps({"device": "tcu-7", "lat": round(lat, 6), "lon": round(lon, 6)}).encode()
    # 16 bytes or more: a lone TCP segment without a SYN is read once it confirms the stream (reassembly.py)
    binary = struct.pack("<4sii8x", b"POS1", round(lat * 1e7), round(lon * 1e7))
    nmea = f"$GPGGA,120000.00,{_dm(lat, 2)},N,{_dm(lon, 3)},E,1,08,0.9,10.0,M,0.0,M,,*00\r\n".encode()
    far = struct.pack("<4sii", b"POS1", round((lat + 1) * 1e7), round((lon + 1) * 1e7))
    packets = [packet(t + 0.2, json_body, dport=8080, sport=40001), packet(t + 0.3, binary, dport=9000, sport=40002),
               packet(t + 0.4, b"HDR" + nmea, dport=5005, sport=40003), packet(t + 0.5, far, dport=9001, sport=40004)]
    pcap = write_pcap(tmp_path / "leak.pcap", packets)
    findings, _ = run_monitor(can_logs=[log], captures=[pcap])
    taint = _by(findings, "taint.position")
    assert {f.evidence["encoding"] for f in taint} == {"decimal text", "int32 x1e7 little-endian", "NMEA ddmm.mmmm"}
    assert all("gnss_pos.Latitude" in f.evidence["can_signal"] for f in taint)
    assert all(abs(f.position.lat - lat) < 1e-4 for f in taint)
    assert 9001 not in {f.flow["resp_p"] for f in taint}
    assert not [f for f in findings_can if f.category == "geolocation"]  # CAN alone leaks nothing


def _dm(value: float, width: int) -> str:
    degrees = int(abs(value))
    return f"{degrees:0{width}d}{(abs(value) - degrees) * 60:07.4f}"


def test_vin_leak_and_video_while_the_camera_is_on(tmp_path):
    db, t0 = gateway_db(), 1_700_000_000.0
    vin = "WVWZZZ1JZXW000001"
    lines = vin_lines(db, vin, t0)
    lines += [encode(db, "GW_Sensors", t0 + 0.1 * k, CameraActive=1, LidarActive=0, CamerasStreaming=1, UplinkMode=2)
              for k in range(400)]
    log = write_log(tmp_path / "can.log", lines)
    video = [packet(t0 + 1 + k / 100, bytes(1250), dport=5004, sport=40010, udp=True) for k in range(3000)]  # 1 Mbit/s
    leak = packet(t0 + 2, b'{"vin":"' + vin.encode() + b'"}', dport=443, sport=40011)
    findings, monitor = run_monitor(can_logs=[log], captures=[write_pcap(tmp_path / "up.pcap", video + [leak])])
    assert monitor.state.vin == vin
    vin_hits = _by(findings, "taint.vin")
    assert len(vin_hits) == 1 and vin_hits[0].category == "identity" and vin_hits[0].evidence["encoding"] == "ASCII"
    videos = _by(findings, "behaviour.video")
    assert len(videos) == 1 and videos[0].evidence["camera_active"] is True
    assert 900 < videos[0].evidence["uplink_kbps"] < 1100 and videos[0].confidence == 0.8


def test_periodic_small_uploads_are_beacon_like(tmp_path):
    t0 = 1_700_000_000.0
    beacon = [packet(t0 + 10 * k + 0.01 * (k % 3), bytes(180), dport=7000, sport=40020, udp=True) for k in range(10)]
    bulk = [packet(t0 + 0.5 * k, bytes(1400), dport=443, sport=40021, seq=1 + 1400 * k) for k in range(100)]
    findings, _ = run_monitor(captures=[write_pcap(tmp_path / "b.pcap", beacon + bulk)])
    beacons = _by(findings, "behaviour.beacon")
    assert len(beacons) == 1 and beacons[0].flow["resp_p"] == 7000
    assert abs(beacons[0].evidence["period_s"] - 10) < 0.1
