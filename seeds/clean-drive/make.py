"""clean-drive: ten minutes of a normal drive; nothing should alert.

GNSS position, speed and the VIN on CAN; the telematics unit resolves the OEM's endpoint and
sends TLS telemetry to it every 30 s (allowlisted in config.yaml), keeps time with NTP.

    python seeds/clean-drive/make.py
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

OEM = "203.0.113.20"


def main() -> None:
    rng = random.Random(11)
    log = CanLog()
    gateway_frames(log, drive(600, stops=((200, 45),), seed=11))
    log.write(HERE / "can.log")
    cap = Capture()
    cap.ntp(T0 + 1.0, "198.51.100.123")
    cap.dns_lookup(T0 + 2.0, "telemetry.oem.example", [OEM], ttl=600)
    exchanges = [("up", client_hello("telemetry.oem.example", 11), 0.01), ("down", server_hello_flight(11), 0.05)]
    for k in range(20):  # telemetry every 30 s with some jitter, on one long-lived connection
        exchanges += [("up", app_data(rng.randint(700, 1100), k), 30 + rng.uniform(-2, 2)), ("down", app_data(90, 100 + k), 0.08)]
    cap.tcp_session(T0 + 2.2, OEM, 443, 50100, exchanges)
    cap.ntp(T0 + 400.0, "198.51.100.123")
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
