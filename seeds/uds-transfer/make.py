"""uds-transfer: on the CAN bus, a tool tries SecurityAccess keys by brute force against the
engine ECU (0x7E0/0x7E8), gets in, and reads memory out with RequestUpload and TransferData
over ISO-TP; it also reads the VIN (ReadDataByIdentifier 0xF190).

    python seeds/uds-transfer/make.py
"""

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import T0, VIN, CanLog, drive, gateway_frames, isotp

TESTER, ECU = 0x7E0, 0x7E8


def main() -> None:
    rng = random.Random(61)
    log = CanLog()
    gateway_frames(log, drive(60, seed=61))
    t = T0 + 10

    def exchange(request: bytes, response: bytes) -> None:
        nonlocal t
        for frame_id, payload in ((TESTER, request), (ECU, response)):
            frames = isotp(frame_id, payload)
            if len(frames) > 1 and frame_id == ECU:  # flow control from the tester after the first frame
                log.add(t, frames[0][0], frames[0][1])
                log.add(t + 0.002, TESTER, bytes([0x30, 0, 0]).ljust(8, b"\xaa"))
                t += 0.004
                for frame in frames[1:]:
                    log.add(t, *frame)
                    t += 0.001
            else:
                for frame in frames:
                    log.add(t, *frame)
                    t += 0.001
            t += 0.01

    exchange(b"\x22\xf1\x90", b"\x62\xf1\x90" + VIN.encode())
    exchange(b"\x10\x03", b"\x50\x03\x00\x32\x01\xf4")
    for _ in range(12):  # brute force: a seed, a wrong key, invalidKey
        exchange(b"\x27\x01", b"\x67\x01" + rng.randbytes(4))
        exchange(b"\x27\x02" + rng.randbytes(4), b"\x7f\x27\x35")
    exchange(b"\x27\x01", b"\x67\x01" + rng.randbytes(4))
    exchange(b"\x27\x02" + rng.randbytes(4), b"\x67\x02")
    exchange(b"\x35\x00\x44\x00\x08\x00\x00\x00\x00\x10\x00", b"\x75\x20\x01\x02")
    for block in range(1, 9):
        exchange(b"\x36" + bytes([block]), b"\x76" + bytes([block]) + rng.randbytes(254))
    exchange(b"\x37", b"\x77")
    log.write(HERE / "can.log")


if __name__ == "__main__":
    main()
