"""gbt32960-stream: an electric vehicle's T-Box streams GB/T 32960.3-2016 real-time reports
(0x02, VIN in every header, whole-vehicle data and the position item 0x05) every 10 s to a
platform that is in no allowlist.

    python seeds/gbt32960-stream/make.py
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, VIN, Capture, drive_log, gbt32960_realtime

PLATFORM = "203.0.113.132"


def main() -> None:
    track = drive_log(HERE, 150, seed=71)
    cap = Capture()
    exchanges = []
    for k in range(14):
        t = T0 + 8 + 10 * k
        lat, lon = track.at(t)
        speed = float(track.speed_kmh[int((t - T0) * 10)])
        exchanges += [("up", gbt32960_realtime(VIN, t, lat, lon, speed, 80 - k), 10 if k else 0.01)]
    cap.tcp_session(T0 + 8, PLATFORM, 7325, 50700, exchanges)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
