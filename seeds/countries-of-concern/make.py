"""countries-of-concern: on one drive, JT/T 808 position reports go to an address registered in
China, a dashcam streams RTP H.264 to one in Russia while the camera is on, and a mapping-like
encrypted upload goes to one in Hong Kong; meanwhile the OEM's telemetry goes to its endpoint in
Germany, which the configuration allowlists. Countries come from the built-in RIR table.

These are public addresses, in a recording only: nothing is ever sent to them.

    python seeds/countries-of-concern/make.py
"""

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, Capture, drive_log, jt808_reports, mapping_uploads, rtp_video, tls_telemetry

CN_TRACKER, RU_VIDEO, HK_MAPS, DE_OEM = "218.2.2.2", "5.255.255.5", "203.198.7.66", "193.99.144.80"
CAMERA_ON = (60.0, 150.0)


def main() -> None:
    rng = random.Random(101)
    track = drive_log(HERE, 300, seed=101, stops=((200, 30),), camera=lambda t: CAMERA_ON[0] <= t - T0 < CAMERA_ON[1])
    cap = Capture()
    cap.tcp_session(T0 + 10, CN_TRACKER, 7018, 51000, jt808_reports(track, T0 + 10, 25))
    rtp_video(cap, T0 + CAMERA_ON[0] + 1, T0 + CAMERA_ON[1] - 1, RU_VIDEO, 40700, 0xC0FFEE, rng, seq=7000)
    cap.dns_lookup(T0 + 4, "tiles.hk-maps.example", [HK_MAPS], ttl=300)
    cap.tcp_session(T0 + 5, HK_MAPS, 443, 51010, mapping_uploads(track, "tiles.hk-maps.example", 101, rng))
    cap.dns_lookup(T0 + 2, "telemetry.oem.example", [DE_OEM], ttl=600, sport=41002)
    cap.tcp_session(T0 + 2.2, DE_OEM, 443, 51020, tls_telemetry("telemetry.oem.example", 102, rng, 9))
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
