"""strict-policy: the JT/T 808 tracker and the head unit's JSON leak again, under the shipped
strict policy (enforce mode, default-deny): what the gateway would block, and why.

    python seeds/strict-policy/make.py
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, VIN, Capture, drive_log, http_post, jt808_reports


def main() -> None:
    track = drive_log(HERE, 120, seed=91)
    cap = Capture()
    cap.tcp_session(T0 + 10, "203.0.113.45", 7018, 50800, jt808_reports(track, T0 + 10, 6))
    lat, lon = track.at(T0 + 40)
    body = json.dumps({"vin": VIN, "lat": round(lat, 6), "lon": round(lon, 6)}).encode()
    cap.tcp_session(T0 + 40, "203.0.113.77", 80, 50810, [("up", http_post("collect.adtrack.example", "/v1/e", body), 0.01)])
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
