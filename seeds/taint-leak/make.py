"""taint-leak: an app on the head unit posts the vehicle's own position and VIN as JSON to an
analytics host, and a second one sends the position as little-endian float32 over UDP. Neither
format is a known telematics protocol: the gateway finds them because it knows, from CAN, where
the vehicle is and what its VIN is.

    python seeds/taint-leak/make.py
"""

import json
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, VEHICLE, VIN, Capture, drive_log, http_post

ANALYTICS, PROBE = "203.0.113.77", "198.51.100.88"


def main() -> None:
    track = drive_log(HERE, 120, seed=51)
    cap = Capture()
    cap.dns_lookup(T0 + 10, "collect.adtrack.example", [ANALYTICS], ttl=60)
    lat, lon = track.at(T0 + 30)
    body = json.dumps({"device": {"vin": VIN, "model": "hu-7"}, "loc": {"la": round(lat, 6), "lo": round(lon, 6)},
                       "ts": int(T0 + 30)}).encode()
    cap.tcp_session(T0 + 30, ANALYTICS, 80, 50500, [("up", http_post("collect.adtrack.example", "/v1/e", body), 0.01),
                                                   ("down", b"HTTP/1.1 204 No Content\r\n\r\n", 0.08)])
    for k in range(3):
        lat, lon = track.at(T0 + 60 + 20 * k)
        cap.udp(T0 + 60 + 20 * k, VEHICLE, 40600, PROBE, 9000, b"PRB1" + struct.pack("<Iff", k, lat, lon))
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
