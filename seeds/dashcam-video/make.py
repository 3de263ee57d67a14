"""dashcam-video: while the camera signal is on (CAN GW_Sensors.CameraActive), a dashcam
streams RTP H.264 at about 1.5 Mbit/s to an unknown server, pushes the same camera with RTSP
ANNOUNCE/RECORD, and publishes to an RTMP ingest.

    python seeds/dashcam-video/make.py
"""

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, Capture, drive_log, rtmp_publish, rtp_video, rtsp_push

RTP_SERVER, RTSP_SERVER, RTMP_SERVER = "198.51.100.70", "198.51.100.71", "198.51.100.72"
CAMERA_ON = (20.0, 110.0)


def main() -> None:
    rng = random.Random(31)
    drive_log(HERE, 120, seed=31, camera=lambda t: CAMERA_ON[0] <= t - T0 < CAMERA_ON[1])
    cap = Capture()
    rtp_video(cap, T0 + CAMERA_ON[0] + 1, T0 + CAMERA_ON[1] - 1, RTP_SERVER, 40500, 0x5EED, rng)
    cap.tcp_session(T0 + 30, RTSP_SERVER, 554, 50300, rtsp_push(f"rtsp://{RTSP_SERVER}:554/live/cam1", "8F3A21"), close=False)
    cap.tcp_session(T0 + 40, RTMP_SERVER, 1935, 50310, rtmp_publish("live", "cam1-front", rng), close=False)
    cap.write(HERE / "capture.pcap")


if __name__ == "__main__":
    main()
