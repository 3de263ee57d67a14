"""clean-drive: ten minutes of a normal drive; nothing should alert.

GNSS position, speed and the VIN on CAN; the telematics unit resolves the OEM's endpoint and
sends TLS telemetry to it every 30 s (allowlisted in config.yaml), keeps time with NTP.

    python seeds/clean-drive/make.py
"""

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, Capture, drive_log, tls_telemetry

OEM = "203.0.113.20"


def main() -> None:
    drive_log(HERE, 600, seed=11, stops=((200, 45),))
    cap = Capture()
    cap.ntp(T0 + 1.0, "198.51.100.123")
    cap.dns_lookup(T0 + 2.0, "telemetry.oem.example", [OEM], ttl=600)
    cap.tcp_session(T0 + 2.2, OEM, 443, 50100, tls_telemetry("telemetry.oem.example", 11, random.Random(11), 20))
    cap.ntp(T0 + 400.0, "198.51.100.123")
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
