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
sys.path.insert(0, str(HERE.parent))
from scenes import (
    T0,
    VEHICLE,
    CanLog,
    Capture,
    app_data,
    client_hello,
    drive,
    gateway_frames,
    jt808_location,
    rtp_h264,
    server_hello_flight,
)

CN_TRACKER, RU_VIDEO, HK_MAPS, DE_OEM = "218.2.2.2", "5.255.255.5", "203.198.7.66", "193.99.144.80"
CAMERA_ON = (60.0, 150.0)


def main() -> None:
    rng = random.Random(101)
    track = drive(300, stops=((200, 30),), seed=101)
    log = CanLog()
    gateway_frames(log, track, camera=lambda t: CAMERA_ON[0] <= t - T0 < CAMERA_ON[1])
    log.write(HERE / "can.log")
    cap = Capture()
    reports = []
    for k in range(25):
        lat, lon = track.at(T0 + 10 + 10 * k)
        reports.append(("up", jt808_location(lat, lon, k), 10 if k else 0.01))
    cap.tcp_session(T0 + 10, CN_TRACKER, 7018, 51000, reports)
    seq, frame, t = 7000, 0, T0 + CAMERA_ON[0] + 1
    while t < T0 + CAMERA_ON[1] - 1:
        idr = frame % 50 == 0
        for n, nal in enumerate(([7, 8] if idr else []) + [5 if idr else 1] * (8 if idr else 5)):
            cap.udp(t + n * 0.0008, VEHICLE, 40700, RU_VIDEO, 5004,
                    rtp_h264(seq, frame * 3600, 0xC0FFEE, nal, 60 if nal in (7, 8) else 1200, rng))
            seq += 1
        frame, t = frame + 1, t + 0.04
    cap.dns_lookup(T0 + 4, "tiles.hk-maps.example", [HK_MAPS], ttl=300)
    uploads = [("up", client_hello("tiles.hk-maps.example", 101), 0.01), ("down", server_hello_flight(101), 0.05)]
    last = 0.0
    for second in range(10, 300, 5):
        i = second * 10
        km = float(track.odometer_km[i] - track.odometer_km[max(0, i - 50)])
        if km > 0.001:
            uploads += [("up", app_data(int(km * 30_000) + rng.randint(0, 200), second), second - last),
                        ("down", app_data(40, 9000 + second), 0.07)]
            last = second + 0.07
    cap.tcp_session(T0 + 5, HK_MAPS, 443, 51010, uploads)
    cap.dns_lookup(T0 + 2, "telemetry.oem.example", [DE_OEM], ttl=600, sport=41002)
    telemetry = [("up", client_hello("telemetry.oem.example", 102), 0.01), ("down", server_hello_flight(102), 0.05)]
    for k in range(9):
        telemetry += [("up", app_data(rng.randint(700, 1100), 200 + k), 30 + rng.uniform(-2, 2)), ("down", app_data(90, 300 + k), 0.08)]
    cap.tcp_session(T0 + 2.2, DE_OEM, 443, 51020, telemetry)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
