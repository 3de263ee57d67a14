"""mapping-upload: over ten minutes with two stops and changing speed, the vehicle uploads
encrypted data (TLS to an unknown crowd-mapping name) at a rate that follows the distance
driven, about 30 KB per km, and nothing while it stands.

    python seeds/mapping-upload/make.py
"""

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from scenes import (
    T0,
    CanLog,
    Capture,
    app_data,
    client_hello,
    drive,
    gateway_frames,
    server_hello_flight,
)

MAP_SERVER = "192.0.2.150"


def main() -> None:
    rng = random.Random(41)
    track = drive(600, stops=((150, 60), (400, 50)), seed=41)
    log = CanLog()
    gateway_frames(log, track)
    log.write(HERE / "can.log")
    cap = Capture()
    cap.dns_lookup(T0 + 3, "ingest.mapcrowd.example", [MAP_SERVER], ttl=120)
    exchanges = [("up", client_hello("ingest.mapcrowd.example", 41), 0.01), ("down", server_hello_flight(41), 0.05)]
    last = 0.0
    for second in range(10, 600, 5):  # every 5 s: what 5 s of driving mapped
        i = second * 10
        km = float(track.odometer_km[i] - track.odometer_km[max(0, i - 50)])
        if km > 0.001:
            exchanges.append(("up", app_data(int(km * 30_000) + rng.randint(0, 200), second), second - last))
            exchanges.append(("down", app_data(40, 5000 + second), 0.07))
            last = second + 0.07
    cap.tcp_session(T0 + 4, MAP_SERVER, 443, 50400, exchanges)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
