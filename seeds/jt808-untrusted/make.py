"""jt808-untrusted: an aftermarket tracker sends JT/T 808 location reports (0x0200, plaintext
TCP) every 10 s to a server in no allowlist, for three minutes of driving.

    python seeds/jt808-untrusted/make.py
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from scenes import T0, CanLog, Capture, drive, gateway_frames, jt808_location

TRACKER_SERVER = "203.0.113.45"


def main() -> None:
    track = drive(180, seed=21)
    log = CanLog()
    gateway_frames(log, track)
    log.write(HERE / "can.log")
    cap = Capture()
    exchanges = []
    for k in range(18):
        t = T0 + 5 + 10 * k
        lat, lon = track.at(t)
        exchanges += [("up", jt808_location(lat, lon, k), 10 if k else 0.01),
                      ("down", bytes.fromhex("7e8001000501705156418900") + bytes([0, k, 0, k, 2, 0]) + b"\x00\x7e", 0.06)]
    cap.tcp_session(T0 + 5, TRACKER_SERVER, 7018, 50200, exchanges)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
