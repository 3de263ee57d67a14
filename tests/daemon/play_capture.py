"""Put a capture's frames on an interface with their recorded spacing (a test helper run
inside the test's network namespace): python play_capture.py IF CAPTURE START_EPOCH."""

from __future__ import annotations

import socket
import sys
import time

from scapy.utils import RawPcapReader


def main(interface: str, capture: str, start: float) -> None:
    frames = [(meta.sec + meta.usec / 1e6, data) for data, meta in RawPcapReader(capture)]
    first = frames[0][0]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    for ts, data in frames:
        delay = start + (ts - first) - time.time()
        if delay > 0:
            time.sleep(delay)
        sock.send(data)
    sock.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
