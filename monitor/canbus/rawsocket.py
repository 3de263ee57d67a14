"""SocketCAN fast path: raw ``struct can_frame`` / ``canfd_frame`` records from an AF_CAN socket.

python-can builds a Message per frame (70-100 µs CPU a frame on Pi-class boards,
hardbyte/python-can#1135, #2097). Here each ``recvmsg_into`` writes the kernel's record into a
preallocated buffer row; a block of rows becomes FrameBatch columns in one vectorized step.
Kernel receive timestamps (SO_TIMESTAMPNS) and the socket's drop counter (SO_RXQ_OVFL) are read
from the ancillary data. Where the native core is loaded, one compiled call
(native/src/gw_recvmmsg.c) does the waiting, the receiving and the conversion to columns with
the GIL released, until the batch is full or its time is up; the code here is its reference.

Record layout (linux/can.h, host byte order):
    can_id u32 (EFF 0x80000000, RTR 0x40000000, ERR 0x20000000) | len u8 | flags u8 | res0 u8
    | len8_dlc/res1 u8 | data[8] (CAN_MTU = 16) or data[64] (CANFD_MTU = 72)
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable

import numpy as np

from .. import native
from ..errors import SourceError
from . import recvmmsg
from .frames import MAX_DATA, BatchBuilder, FrameBatch
from .live import CanBusSource

CAN_MTU, CANFD_MTU = 16, 72
CAN_EFF_FLAG, CAN_RTR_FLAG, CAN_ERR_FLAG = 0x80000000, 0x40000000, 0x20000000
CAN_EFF_MASK, CAN_SFF_MASK = 0x1FFFFFFF, 0x7FF
CANFD_BRS, CANFD_ESI = 0x01, 0x02
SOL_CAN_RAW, CAN_RAW_FD_FRAMES = 101, 5
SO_TIMESTAMPNS, SO_RXQ_OVFL = 35, 40  # linux/asm-generic/socket.h (not all in Python's socket)
_ANCILLARY = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4)
# Frames wait this long in the socket once the first arrives, so one recvmmsg takes dozens (a
# loaded bus delivers one every 30-100 us). Batches leave every 250 ms anyway; the kernel's
# receive timestamps keep each frame's own time.
GATHER_S = 0.01
RCVBUF = 1 << 20


def records_to_batch(records: np.ndarray, sizes: np.ndarray, timestamps: np.ndarray,
                     channel: str) -> FrameBatch:
    """Columns from n raw records (uint8[n, 72]); ``sizes`` says 16 (classic) or 72 (FD)."""
    n = len(sizes)
    can_id = np.ascontiguousarray(records[:, :4]).view("=u4").ravel()
    is_fd = sizes == CANFD_MTU
    extended = (can_id & CAN_EFF_FLAG) != 0
    error = (can_id & CAN_ERR_FLAG) != 0
    remote = ((can_id & CAN_RTR_FLAG) != 0) & ~is_fd
    length = np.minimum(records[:, 4], np.where(is_fd, MAX_DATA, 8)).astype(np.uint8)
    data = records[:, 8 : 8 + MAX_DATA].copy()
    data[np.arange(MAX_DATA)[None, :] >= np.where(remote, 0, length)[:, None]] = 0
    flags = np.where(is_fd, records[:, 5], 0)
    return FrameBatch(
        timestamp=timestamps.astype(np.float64),
        channel=np.zeros(n, np.uint16),
        channel_names=(channel,),
        arbitration_id=(can_id & np.where(extended | error, CAN_EFF_MASK, CAN_SFF_MASK)).astype(np.uint32),
        is_extended=extended,
        is_remote=remote,
        is_error=error,
        is_fd=is_fd,
        bitrate_switch=(flags & CANFD_BRS) != 0,
        error_state_indicator=(flags & CANFD_ESI) != 0,
        is_rx=np.ones(n, bool),
        dlc=length,
        data=data,
    )


class RawSocketCanSource(CanBusSource):
    """Reads a raw CAN socket (or, in tests, any SOCK_SEQPACKET socket carrying records: pass
    ``connect`` that returns it)."""

    def __init__(self, name: str, channel: str, fd: bool = True, block: int = 256,
                 wall_clock: Callable[[], float] = time.time,
                 connect: Callable[[], socket.socket] | None = None, gather_s: float = GATHER_S, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.channel, self.fd, self.wall_clock, self.gather_s = channel, fd, wall_clock, gather_s
        self.connect = connect or self._raw_socket
        self.sock: socket.socket | None = None
        self._records = np.zeros((block, CANFD_MTU), np.uint8)
        self._rows = [memoryview(self._records[i]) for i in range(block)]  # made once, reused
        self._sizes = np.zeros(block, np.int64)
        self._stamps = np.zeros(block, np.float64)
        self._multi = recvmmsg.MultiReceiver(self._records) if recvmmsg.available() else None
        self._block: FrameBatch | None = None  # the compiled loop's rows (made at its first use)

    @classmethod
    def from_kwargs(cls, name: str, bus_kwargs: dict, **kwargs) -> RawSocketCanSource:
        return cls(name, str(bus_kwargs.get("channel")), fd=bool(bus_kwargs.get("fd", True)), **kwargs)

    def open(self) -> None:
        sock = self.connect()
        for option in (SO_TIMESTAMPNS, SO_RXQ_OVFL):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, 1)
            except OSError:
                pass  # not on this socket type (tests use AF_UNIX): wall clock, no drop count
        try:  # room for the frames that gather while the reader waits (GATHER_S), on a loaded bus
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        except OSError:
            pass  # the kernel caps it at net.core.rmem_max; the drop counter tells if that was short
        self.sock = sock

    def _raw_socket(self) -> socket.socket:
        try:
            sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
            if self.fd:
                sock.setsockopt(SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1)
            sock.bind((self.channel,))
        except (OSError, AttributeError) as error:
            raise SourceError(f"SocketCAN {self.channel}: cannot open a raw CAN socket: {error}") from error
        return sock

    def _fill(self, builder: BatchBuilder, timeout: float) -> None:
        core = native.kernels
        if core is not None and core.live_can_receive_supported():
            self._fill_native(core, builder, timeout)
            return
        n = self._receive(min(builder.room, len(self._rows)), timeout)
        if n:
            builder.add_batch(records_to_batch(self._records[:n], self._sizes[:n], self._stamps[:n], self.name))

    def _fill_native(self, core, builder: BatchBuilder, timeout: float) -> None:
        """The compiled loop (native/src/gw_recvmmsg.c): waits, gathers, receives and converts
        records into columns with the GIL released, until the builder is full or ``timeout``
        has passed; Python runs once per batch, not once per system call."""
        sock = self.sock
        assert sock is not None, "read before open"
        if self._block is None or len(self._block) < builder.room:
            self._block = FrameBatch.empty(max(builder.room, self.batch_size), (self.name,))
        block = self._block
        n, unstamped, drops, _, error = core.live_can_receive(sock.fileno(), block, builder.room, timeout, self.gather_s)
        if drops >= 0:
            self.stats.kernel_drops = drops
        if n:
            rows = block.take(slice(0, n))
            if unstamped:  # no SO_TIMESTAMPNS on this socket: the wall clock, as below
                rows.timestamp[np.isnan(rows.timestamp)] = self.wall_clock()
            builder.add_batch(rows)
        if error:  # after the rows it did receive: they are kept
            raise OSError(error, os.strerror(error))

    def _receive(self, limit: int, timeout: float) -> int:
        """Receive up to ``limit`` records: wait ``timeout`` for the first, then drain (many per
        system call where libc has recvmmsg)."""
        sock = self.sock
        assert sock is not None, "read before open"
        if self._multi is not None:
            return self._receive_many(sock, limit, timeout)
        sock.settimeout(timeout)
        n = 0
        try:
            while n < limit:
                size, ancillary, _, _ = sock.recvmsg_into([self._rows[n]], _ANCILLARY)
                if size == 0:  # the peer closed (a socket pair in tests and benches; AF_CAN never does)
                    if n == 0:
                        time.sleep(timeout)  # a bus gone quiet, not a busy loop
                    break
                if size not in (CAN_MTU, CANFD_MTU):
                    continue  # not a CAN record; the kernel never sends these
                self._sizes[n] = size
                self._stamps[n] = self._timestamp(ancillary)
                n += 1
                if n == 1:
                    sock.settimeout(0)  # the rest is drained without waiting (once: it is a syscall)
        except (BlockingIOError, TimeoutError):
            pass
        return n

    def _receive_many(self, sock: socket.socket, limit: int, timeout: float) -> int:
        assert self._multi is not None
        n, sizes, stamps, drops = self._multi.receive(sock, limit, timeout, self.gather_s)
        if not n:
            return 0
        if drops is not None:
            self.stats.kernel_drops = drops
        good = np.flatnonzero((sizes == CAN_MTU) | (sizes == CANFD_MTU))  # not CAN records: skipped, as below
        if not len(good):
            if (sizes == 0).all():
                time.sleep(timeout)  # the peer closed (socket pairs only): a bus gone quiet
            return 0
        if len(good) < n:
            self._records[: len(good)] = self._records[good]
            sizes, stamps = sizes[good], stamps[good]
        n = len(good)
        self._sizes[:n] = sizes
        self._stamps[:n] = np.where(np.isnan(stamps), self.wall_clock(), stamps)
        return n

    def _timestamp(self, ancillary: list) -> float:
        stamp = None
        for level, kind, payload in ancillary:
            if level != socket.SOL_SOCKET:
                continue
            if kind == SO_TIMESTAMPNS and len(payload) >= 16:
                seconds, nanos = struct.unpack("=qq", payload[:16])
                stamp = seconds + nanos * 1e-9
            elif kind == SO_RXQ_OVFL and len(payload) >= 4:
                self.stats.kernel_drops = struct.unpack("=I", payload[:4])[0]
        return self.wall_clock() if stamp is None else stamp

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    def __str__(self) -> str:
        return f"can:{self.name} (socketcan {self.channel}, raw)"
