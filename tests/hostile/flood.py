"""Flood an interface with UDP frames from spoofed addresses, as fast as one Python process
sends them (a test helper run inside the test's network namespace):
python flood.py IF COUNT  ->  prints {"sent": n, "seconds": s} as JSON."""

from __future__ import annotations

import json
import socket
import sys
import time

import numpy as np

HEADER = bytes.fromhex("ffffffffffff" "020000000001" "0800"  # Ethernet: broadcast, from a local MAC, IPv4
                       "4500002e00004000401100000a000001cb007109"  # IPv4, 46 bytes, UDP, to 203.0.113.9
                       "9c4004d2001a0000")  # UDP 40000 -> 1234, 26 bytes
PAYLOAD = b"overload!" * 2
ROUND = 500_000  # frames built at once


def frames(count: int, seed: int = 0) -> np.ndarray:
    """``count`` frames, each from its own random source address (so each is a new flow)."""
    rng = np.random.default_rng(seed)
    out = np.tile(np.frombuffer(HEADER + PAYLOAD, np.uint8), (count, 1))
    sources = rng.integers(0x0B000000, 0xDF000000, count, dtype=np.uint32)
    out[:, 26:30] = sources.astype(">u4").view(np.uint8).reshape(count, 4)
    words = out[:, 14:34].astype(np.uint32).reshape(count, 10, 2)
    total = (words[:, :, 0] << 8 | words[:, :, 1]).sum(axis=1)
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    checksum = (~total & 0xFFFF).astype(">u2")
    out[:, 24:26] = checksum.view(np.uint8).reshape(count, 2)
    return out


def main(interface: str, count: int) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    send, sent = sock.send, 0
    start = time.perf_counter()
    while sent < count:
        data = frames(min(count - sent, ROUND), seed=sent)
        for row in data:
            send(row)
            sent += 1
    print(json.dumps({"sent": sent, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
