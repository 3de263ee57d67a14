"""remote-access: reaching into the vehicle from outside. The tracker's server sends JT/T 808
downlink commands on the terminal's own connection (set a new main server address, then
terminal control "connect to a specified server"); someone opens SSH to the gateway from the
internet; a remote tester activates DoIP routing and sends UDS ECUReset, and two seconds later
the gateway's diagnostic bus carries a SecurityAccess seed request and its answer.

    python seeds/remote-access/make.py
"""

import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, VEHICLE, CanLog, Capture, doip, drive, gateway_frames, jt808_frame

TRACKER, SHELL_FROM, TESTER = "203.0.113.45", "198.51.100.66", "198.51.100.67"


def main() -> None:
    log = CanLog()
    gateway_frames(log, drive(120, seed=111))
    log.add(T0 + 62.0, 0x7E0, bytes.fromhex("0227010000000000"))  # SecurityAccess requestSeed, after the DoIP session
    log.add(T0 + 62.01, 0x7E8, bytes.fromhex("0667011122334400"))  # the ECU's seed
    log.write(HERE / "can.log")
    cap = Capture()
    set_server = jt808_frame(0x8103, b"\x02" + struct.pack(">IB", 0x0013, 13) + b"203.0.113.250"
                             + struct.pack(">IBI", 0x0018, 4, 9000), serial=5)
    reconnect = jt808_frame(0x8105, b"\x02" + b";203.0.113.250;9000;", serial=6)
    cap.tcp_session(T0 + 5, TRACKER, 7018, 51100, [
        ("up", jt808_frame(0x0002, b"", serial=1), 0.01),  # the terminal's heartbeat on its own connection
        ("down", set_server, 20.0), ("up", jt808_frame(0x0001, b"\x00\x05\x81\x03\x00", serial=2), 0.2),
        ("down", reconnect, 5.0), ("up", jt808_frame(0x0001, b"\x00\x06\x81\x05\x00", serial=3), 0.2)])
    cap.tcp_session(T0 + 40, VEHICLE, 22, 50022, [("up", b"SSH-2.0-OpenSSH_9.6p1\r\n", 0.01),
                                                  ("down", b"SSH-2.0-dropbear_2022.83\r\n", 0.05)], src=SHELL_FROM)
    cap.tcp_session(T0 + 60, VEHICLE, 13400, 50400, [
        ("up", doip(0x0005, b"\x0e\x00\x00" + bytes(4)), 0.01), ("down", doip(0x0006, b"\x0e\x00\x10\x00\x10" + bytes(4)), 0.05),
        ("up", doip(0x8001, b"\x0e\x00\x10\x00\x11\x01"), 0.5), ("down", doip(0x8002, b"\x10\x00\x0e\x00\x00"), 0.02)],
        src=TESTER)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
