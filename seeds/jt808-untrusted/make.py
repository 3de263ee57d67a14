"""jt808-untrusted: an aftermarket tracker sends JT/T 808 location reports (0x0200, plaintext
TCP) every 10 s to a server in no allowlist, for three minutes of driving.

    python seeds/jt808-untrusted/make.py
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, Capture, drive_log, jt808_reports

TRACKER_SERVER = "203.0.113.45"
ACK = bytes.fromhex("7e8001000501705156418900")  # the platform's general response 0x8001, serial patched in


def main() -> None:
    track = drive_log(HERE, 180, seed=21)
    exchanges = []
    for k, report in enumerate(jt808_reports(track, T0 + 5, 18)):
        exchanges += [report, ("down", ACK + bytes([0, k, 0, k, 2, 0]) + b"\x00\x7e", 0.06)]
    cap = Capture()
    cap.tcp_session(T0 + 5, TRACKER_SERVER, 7018, 50200, exchanges)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
