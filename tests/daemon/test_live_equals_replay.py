"""Replay and live differ only in the source: one recorded drive (a CAN log and an uplink
capture) is played live, CAN through python-can's virtual bus and IP over a veth pair whose
far end sits in a network namespace the test creates, into the daemon; its findings equal
``gatewatch replay``'s on the same recordings: same detectors, categories, destinations and
positions."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import can

from monitor.canbus.logs import read_log
from monitor.daemon import Daemon

from ..builders import (
    alerts_in,
    encode,
    gateway_db,
    run,
    stream,
    veth_to_namespace,
    vin_lines,
    write_log,
    write_pcap,
)
from ..loaded import GENEROUS, wait_until

HERE = Path(__file__).parent
VIN = "WVWZZZ1JZXW000001"
LAT, LON = 48.137154, 11.576124
JT808 = bytes.fromhex("7e0200003301705156418900" "0c00000000000c00020158ff7206cd1f4c000000000123201122115639"
                      "01040000000030011f310109" "937e")


def drive(tmp_path: Path, t0: float) -> tuple[Path, Path]:
    """Six seconds: position and motion at 10 Hz, the VIN, then a JT/T 808 report, the CAN
    position as decimal text over HTTP, and the VIN in a JSON body, to three servers."""
    db = gateway_db()
    lines = vin_lines(db, VIN, t0)
    for k in range(60):
        ts = t0 + 0.05 + 0.1 * k
        lines.append(encode(db, "GW_GNSS_Position", ts, Latitude=LAT + k * 1e-5, Longitude=LON))
    log = write_log(tmp_path / "can.log", lines)
    body = f"POST /p HTTP/1.1\r\nHost: fleet.example\r\nContent-Length: 40\r\n\r\nlat={LAT + 20e-5:.6f}&lon={LON:.6f}".encode()
    packets = (stream(t0 + 2.0, [JT808], dport=5015, sport=41000, dst="203.0.113.9")
               + stream(t0 + 3.0, [body], dport=80, sport=41001, dst="203.0.113.10")
               + stream(t0 + 4.0, [b'{"vin":"' + VIN.encode() + b'"}'], dport=443, sport=41002, dst="203.0.113.11"))
    return log, write_pcap(tmp_path / "uplink.pcap", packets)


def essentials(alert: dict) -> tuple:
    flow = alert.get("flow") or {}
    position = alert.get("position") or {}
    return (alert["detector"], alert["category"], flow.get("resp_h"), flow.get("resp_p"), tuple(alert.get("names", [])),
            round(position.get("lat", 0), 5), round(position.get("lon", 0), 5), alert["verdict"]["action"])


def replayed(log: Path, capture: Path, config: Path, out: Path) -> list[tuple]:
    code, _, err = run("replay", str(log), str(capture), "--config", str(config), "-o", str(out))
    assert code == 0, err
    return sorted(essentials(alert) for alert in alerts_in(out))


def play_can(log: Path, channel: str, start: float) -> None:
    frames = next(batch for batch, _ in read_log(log))
    first = first_frame_time(log)
    with can.Bus(interface="virtual", channel=channel) as bus:
        for i in range(len(frames)):
            delay = start + float(frames.timestamp[i]) - first - time.time()
            if delay > 0:
                time.sleep(delay)  # the recorded spacing, on purpose
            bus.send(can.Message(arbitration_id=int(frames.arbitration_id[i]), is_extended_id=bool(frames.is_extended[i]),
                                 data=frames.payload(i)))


def first_frame_time(log: Path) -> float:
    return float(next(batch for batch, _ in read_log(log)).timestamp[0])


def first_packet_time(capture: Path) -> float:
    """The first record's time in a little-endian classic pcap (the record header after the 24-byte
    file header), in micro- or nanoseconds as its magic says."""
    head = capture.read_bytes()[:32]
    magic, seconds, fraction = struct.unpack("<I", head[:4])[0], *struct.unpack("<II", head[24:32])
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), f"{capture}: not a little-endian pcap"
    return seconds + fraction / (1e9 if magic == 0xA1B23C4D else 1e6)


def test_the_daemon_finds_live_what_replay_finds_in_the_recording(tmp_path):
    t0 = 1_700_000_000.0
    log, capture = drive(tmp_path, t0)
    channel = f"gw-drive-{uuid.uuid4().hex[:6]}"
    with veth_to_namespace() as (inside, outside, namespace):
        config = tmp_path / "live.yaml"
        config.write_text(f"version: 1\nextends: default\nsources:\n"
                          f"  can: [{{name: can0, interface: virtual, channel: {channel}}}]\n"
                          f"  ip: [{{interface: {inside}}}]\n")
        expected = replayed(log, capture, config, tmp_path / "replayed")
        assert {e[0] for e in expected} >= {"wire.jt808", "taint.position", "taint.vin"}, expected

        ready = threading.Event()
        daemon = Daemon(str(config), tmp_path / "out")
        runner = threading.Thread(target=daemon.run, kwargs={"ready": ready.set})
        runner.start()
        try:
            assert ready.wait(GENEROUS), "the daemon did not become ready"
            player = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, str(HERE / "play_capture.py"),
                                       outside, str(capture)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            ip_frames = int(player.stdout.readline().split()[1])  # "ready N": loaded, bound, waiting for the start
            # One clock for both players: the CAN log's first frame plays at ``start`` and the capture's
            # first packet as far after it as recorded (each player counts from its own first item).
            start = time.time() + 0.5
            player.stdin.write(f"{start + first_packet_time(capture) - first_frame_time(log)}\n")
            player.stdin.close()
            play_can(log, channel, start)
            assert player.wait(GENEROUS) == 0
            player.stdout.close()
            # stop() processes what the sources delivered: wait until they delivered everything played
            played = {"can:can0": len([line for line in log.read_text().splitlines() if line]), f"ip:{inside}": ip_frames}
            wait_until(lambda: all(s.stats.items >= played[str(s)] for s in daemon.sources),
                       "the sources to deliver what was played")
        finally:
            daemon.stop()
            runner.join(30)
    assert not runner.is_alive()
    live = sorted(essentials(alert) for alert in alerts_in(tmp_path / "out"))
    assert live == expected
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    sources = stats["sources"]
    assert sources["can:can0"]["items"] == len([line for line in log.read_text().splitlines() if line])
    assert sources[f"ip:{inside}"]["items"] >= 3 and all(s["queue_drops"] == 0 for s in sources.values())
    assert stats["state"] == "stopped" and stats["vehicle"]["vin"] == VIN
