"""The seed scripts' builders live in the package (monitor/bench/scene.py), where
``gatewatch bench detect``'s generated drives use them too; the scripts import them from here."""

from monitor.bench.scene import (  # noqa: F401
    GATEWAY_DBC, T0, VEHICLE, VIN, CanLog, Capture, doip, drive, drive_log, gateway_frames, gbt32960_realtime,
    http_post, isotp, jt808_frame, jt808_location, jt808_reports, mapping_uploads, rtmp_publish, rtp_video,
    rtsp_push, tls_telemetry)
