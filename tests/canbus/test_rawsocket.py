"""The SocketCAN fast path: kernel records to batch columns. CI kernels may lack AF_CAN and
vcan, so the records travel over a SOCK_SEQPACKET socketpair, which keeps record boundaries
exactly as a raw CAN socket does."""

from __future__ import annotations

import socket
import struct
import time

import numpy as np

from monitor.canbus.buses import open_bus
from monitor.canbus.frames import FrameBatch
from monitor.canbus.rawsocket import (
    CAN_EFF_FLAG,
    CAN_ERR_FLAG,
    CAN_RTR_FLAG,
    CANFD_BRS,
    CANFD_ESI,
    RawSocketCanSource,
    records_to_batch,
)

from ..builders import collect


def can_frame(can_id: int, data: bytes, dlc: int | None = None) -> bytes:
    return struct.pack("=IB3x8s", can_id, len(data) if dlc is None else dlc, data.ljust(8, b"\xee"))


def canfd_frame(can_id: int, data: bytes, flags: int = 0) -> bytes:
    return struct.pack("=IBB2x64s", can_id, len(data), flags, data.ljust(64, b"\xee"))


RECORDS = [
    can_frame(0x123, b"\x01\x02\x03"),
    can_frame(0x1ABCDE | CAN_EFF_FLAG, bytes(range(8))),
    can_frame(0x456 | CAN_RTR_FLAG, b"", dlc=4),
    can_frame(0x004 | CAN_ERR_FLAG, bytes([0, 4, 0, 0, 0, 0, 0, 0])),
    canfd_frame(0x7FF, bytes(range(64)), CANFD_BRS),
    canfd_frame(0x10 | CAN_EFF_FLAG, bytes(range(12)), CANFD_BRS | CANFD_ESI),
]


def test_records_arrive_as_batch_columns_over_a_seqpacket_socket():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for record in RECORDS:
        theirs.send(record)
    clock = iter(np.arange(100, 200, 1.0).tolist())
    source = RawSocketCanSource("body", "vcan0", block=4, wall_clock=lambda: next(clock), max_latency=0.2,
                                connect=lambda: ours)
    source.open()
    batches = collect(source, len(RECORDS), idle_s=1.0)
    source.close()
    theirs.close()
    batch = FrameBatch.concat(batches)
    assert len(batch) == 6
    assert batch.arbitration_id.tolist() == [0x123, 0x1ABCDE, 0x456, 0x004, 0x7FF, 0x10]
    assert batch.is_extended.tolist() == [False, True, False, False, False, True]
    assert batch.is_remote.tolist() == [False, False, True, False, False, False]
    assert batch.is_error.tolist() == [False, False, False, True, False, False]
    assert batch.is_fd.tolist() == [False, False, False, False, True, True]
    assert batch.bitrate_switch.tolist() == [False, False, False, False, True, True]
    assert batch.error_state_indicator.tolist() == [False, False, False, False, False, True]
    assert batch.dlc.tolist() == [3, 8, 4, 8, 64, 12]
    assert batch.payload(0) == b"\x01\x02\x03"
    assert batch.payload(2) == b""
    assert batch.payload(4) == bytes(range(64)) and batch.payload(5) == bytes(range(12))
    # SO_TIMESTAMPNS is honoured on AF_UNIX too: the stamps are the kernel's receive times,
    # not the injected fallback clock.
    assert np.all(np.diff(batch.timestamp) >= 0)
    assert abs(batch.timestamp[0] - time.time()) < 60 and batch.timestamp[0] > 1e9
    assert batch.channel_names == ("body",)  # labelled with the configured bus name


def test_socketcan_is_served_by_the_raw_path_and_others_by_python_can():
    raw = open_bus("body", {"interface": "socketcan", "channel": "can0", "fd": False})
    assert isinstance(raw, RawSocketCanSource) and raw.channel == "can0" and not raw.fd
    assert type(open_bus("body", {"interface": "socketcan", "channel": "can0"}, raw_socketcan=False)).__name__ == "PythonCanSource"
    assert type(open_bus("x", {"interface": "virtual", "channel": "c"})).__name__ == "PythonCanSource"


def test_bytes_past_the_length_are_zeroed_not_leaked_from_the_buffer():
    raw = np.frombuffer(b"".join(r.ljust(72, b"\xee") for r in RECORDS), np.uint8).reshape(-1, 72)
    sizes = np.array([len(r) for r in RECORDS])
    batch = records_to_batch(raw, sizes, np.zeros(len(RECORDS)), "can0")
    for i in range(len(batch)):
        assert not batch.data[i, batch.dlc[i] if not batch.is_remote[i] else 0 :].any()


def test_many_records_per_call_and_a_closed_peer_ends_the_read():
    """Hundreds of records queued at once come through recvmmsg in blocks; a closed peer (socket
    pairs only) is a quiet bus, not an endless loop."""
    import threading

    from monitor.canbus import recvmmsg

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def write() -> None:  # a thread: the pair's queue holds fewer datagrams than this
        for k in range(300):
            theirs.send(can_frame(0x100 + k % 16, bytes([k % 256]) * 8))
        theirs.close()

    writer = threading.Thread(target=write)
    writer.start()
    source = RawSocketCanSource("body", "vcan0", block=64, max_latency=0.2, connect=lambda: ours, gather_s=0.0)
    source.open()
    got = []
    while (n := source._receive(64, 0.5)) > 0:  # 0 only once the peer has closed and all is read
        got += source._records[:n, 8].tolist()
        assert n <= 64
    source.close()
    writer.join()
    assert got == [k % 256 for k in range(300)]
    assert recvmmsg.available() == (source._multi is not None)
