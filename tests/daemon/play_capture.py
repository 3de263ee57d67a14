"""Put a capture's frames on an interface with their recorded spacing (a test helper run
inside the test's network namespace): python play_capture.py IF CAPTURE [START_EPOCH]. Without
START_EPOCH, once loaded it prints "ready N" (N frames) and reads the start time from stdin, so
the playing keeps a schedule however long the interpreter and scapy took to start."""

from __future__ import annotations

import socket
import sys
import time

from scapy.utils import RawPcapReader


def main(interface: str, capture: str, start: float | None = None) -> None:
    frames = [(meta.sec + meta.usec / 1e6, data) for data, meta in RawPcapReader(capture)]
    first = frames[0][0]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    if start is None:
        print(f"ready {len(frames)}", flush=True)
        start = float(sys.stdin.readline())
    for ts, data in frames:
        delay = start + (ts - first) - time.time()
        if delay > 0:
            time.sleep(delay)  # the recorded spacing, on purpose
        sock.send(data)
    sock.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *[float(a) for a in sys.argv[3:4]])
