"""Many CAN records per system call: Linux ``recvmmsg(2)`` through ctypes.

Python's socket module receives one datagram per call, and on a raw CAN socket one call is one
frame: at 35,000 frames/s the calls themselves cost more than decoding. ``recvmmsg`` fills up to
a block of preallocated rows (and their ancillary data: SO_TIMESTAMPNS, SO_RXQ_OVFL) at once;
sizes and kernel timestamps are then read with numpy views over the message headers.

Where libc has no ``recvmmsg`` (not Linux), ``available()`` is False and the caller keeps its
one-call-per-frame path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import socket
import time

import numpy as np

MSG_DONTWAIT = 0x40
SCM_TIMESTAMPNS, SO_RXQ_OVFL = 35, 40
CONTROL = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4)  # a timespec, then the drop counter


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.POINTER(_Iovec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_recvmmsg = getattr(_libc, "recvmmsg", None)
if _recvmmsg is not None:
    _recvmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    _recvmmsg.restype = ctypes.c_int


def available() -> bool:
    return _recvmmsg is not None


class MultiReceiver:
    """Receives into ``records`` (uint8[n, width]) row by row: ``receive`` returns how many rows
    were filled, their sizes, their kernel timestamps (NaN where the socket gave none) and the
    kernel's drop counter (None where it gave none)."""

    def __init__(self, records: np.ndarray) -> None:
        self.records = records
        n, width = records.shape
        self.control = np.zeros((n, CONTROL), np.uint8)
        self.iovecs = (_Iovec * n)()
        self.headers = (_Mmsghdr * n)()
        base, control = records.ctypes.data, self.control.ctypes.data
        for i in range(n):
            self.iovecs[i].base, self.iovecs[i].len = base + i * width, width
            hdr = self.headers[i].hdr
            hdr.iov, hdr.iovlen = ctypes.pointer(self.iovecs[i]), 1
            hdr.control = control + i * CONTROL
        size = ctypes.sizeof(_Mmsghdr)
        raw = np.frombuffer(self.headers, np.uint8).reshape(n, size)
        self._lengths = raw[:, _Mmsghdr.len.offset : _Mmsghdr.len.offset + 4].view(np.uint32).reshape(n)
        self._controllen = raw[:, _Msghdr.controllen.offset : _Msghdr.controllen.offset + 8].view(np.uint64).reshape(n)

    def receive(self, sock: socket.socket, limit: int, timeout: float, gather_s: float = 0.0):
        """Wait up to ``timeout`` for the first record, let more gather for ``gather_s`` (frames
        trickle in one by one; a call per frame is what this avoids), then take what is there
        (up to ``limit``)."""
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        if not poller.poll(max(timeout, 0.0) * 1000):
            return 0, None, None, None
        if gather_s > 0:
            time.sleep(min(gather_s, max(timeout, 0.0)))
        assert _recvmmsg is not None, "MultiReceiver needs available()"
        self._controllen[:limit] = CONTROL  # the kernel shrinks it to what it wrote
        got = _recvmmsg(sock.fileno(), self.headers, limit, MSG_DONTWAIT, None)
        if got < 0:
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                return 0, None, None, None
            raise OSError(code, os.strerror(code))
        return got, self._lengths[:got].astype(np.int64), *self._ancillary(got)

    def _ancillary(self, n: int):
        """Kernel receive times (seconds) and the drop counter from the control buffers."""
        control = self.control[:n]
        level = control[:, 8:12].copy().view(np.int32).ravel()
        kind = control[:, 12:16].copy().view(np.int32).ravel()
        stamped = (self._controllen[:n] >= socket.CMSG_LEN(16)) & (level == socket.SOL_SOCKET) & (kind == SCM_TIMESTAMPNS)
        spec = control[:, 16:32].copy().view(np.int64)
        stamps = np.where(stamped, spec[:, 0] + spec[:, 1] * 1e-9, np.nan)
        second = socket.CMSG_SPACE(16)
        drops = None
        if self._controllen[n - 1] >= second + socket.CMSG_LEN(4):
            tail = control[n - 1]
            if int(tail[second + 12 : second + 16].view(np.int32)[0]) == SO_RXQ_OVFL:
                drops = int(tail[second + 16 : second + 20].view(np.uint32)[0])
        return stamps, drops
