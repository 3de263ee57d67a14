"""mapping-upload: over ten minutes with two stops and changing speed, the vehicle uploads
encrypted data (TLS to an unknown crowd-mapping name) at a rate that follows the distance
driven, about 30 KB per km, and nothing while it stands.

    python seeds/mapping-upload/make.py
"""

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, Capture, drive_log, mapping_uploads

MAP_SERVER = "192.0.2.150"


def main() -> None:
    track = drive_log(HERE, 600, seed=41, stops=((150, 60), (400, 50)))
    cap = Capture()
    cap.dns_lookup(T0 + 3, "ingest.mapcrowd.example", [MAP_SERVER], ttl=120)
    cap.tcp_session(T0 + 4, MAP_SERVER, 443, 50400, mapping_uploads(track, "ingest.mapcrowd.example", 41, random.Random(41)))
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
