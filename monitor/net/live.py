"""Live capture on named interfaces (AF_PACKET), delivered as PacketBatch objects.

One raw packet socket per interface, bound to it, with a BPF filter that runs in the kernel
(compiled from tcpdump syntax by libpcap through scapy, once per process and link type: the
daemon's pre-flight, the first open and every reopen share it) and a snap length.

No packet outside the filter and the interface is ever delivered, from the first. A packet
socket opened for a protocol receives from every interface at once, so the order is: compile
the filter (about a second with scapy: never while a socket is open), open the socket with
protocol 0 (the kernel hooks it to nothing, so nothing is queued), attach the filter, then
bind to the interface with ETH_P_ALL, which enables reception for that interface only, with
the filter already in place. Whatever is queued by then is drained and counted (``drained``;
zero unless a kernel behaves otherwise) rather than delivered.

Packets are received straight into one preallocated buffer with ``recv_into`` (MSG_TRUNC
gives the wire length of packets cut to the snap length) and handed on as a batch when it is
full or ``max_latency`` has passed. Receive times come from the clock at receipt. Kernel
packet and drop counts come from PACKET_STATISTICS.

``LiveCapture`` is a live source (monitor/source.py): the daemon's timeline runs it, and an
interface that goes away (a modem reset) is reopened with back-off; ``take`` serves
``gatewatch flows -i``.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import select
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, SourceError
from ..source import LiveSource
from .packets import LINKTYPE_ETHERNET, LINKTYPE_RAW, PAD, PacketBatch

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_ATTACH_FILTER = 26
#: /sys/class/net/IF/type (ARPHRD_*) -> link type of what a SOCK_RAW packet socket returns.
ARPHRD_LINKTYPES = {1: LINKTYPE_ETHERNET, 772: LINKTYPE_ETHERNET, 519: LINKTYPE_RAW, 65534: LINKTYPE_RAW,
                    512: LINKTYPE_RAW, 776: LINKTYPE_RAW, 778: LINKTYPE_RAW}


@dataclass
class CaptureConfig:
    interfaces: list[str]
    bpf_filter: str | None = None
    snaplen: int = 2048
    batch_size: int = 4096
    max_latency: float = 0.2  # seconds a packet may wait for its batch to fill
    buffer_bytes: int = 8 << 20  # SO_RCVBUF asked of the kernel


@dataclass
class CaptureStats:
    packets: int = 0
    batches: int = 0
    kernel_drops: int = 0  # PACKET_STATISTICS tp_drops, summed over reads
    kernel_packets: int = 0
    drained: int = 0  # packets queued before the filter and binding took effect, discarded at open
    per_interface: dict[str, dict[str, int]] = field(default_factory=dict)


class LiveCapture(LiveSource):
    kind = "ip"

    def __init__(self, config: CaptureConfig, **kwargs) -> None:
        if not config.interfaces:
            raise ConfigError("live capture needs at least one interface")
        super().__init__(",".join(config.interfaces), **kwargs)
        self.config = config
        self.capture = CaptureStats()
        self.sockets: list[socket.socket] = []
        self.linktypes: list[int] = []
        self.stopped = False

    def open(self) -> LiveCapture:  # type: ignore[override]  # returns itself for ``with`` use
        linktypes = [_linktype_of(name) for name in self.config.interfaces]
        programs = [self._program(linktype) for linktype in linktypes]  # before any socket is open
        try:
            for name, linktype, program in zip(self.config.interfaces, linktypes, programs):
                self.linktypes.append(linktype)
                self.sockets.append(self._open_one(name, program))
                self.capture.per_interface.setdefault(name, {"packets": 0, "drops": 0})
        except Exception:
            self.close()
            raise
        return self

    def transient_errors(self) -> tuple[type[BaseException], ...]:
        return (OSError, SourceError)

    def read(self, timeout: float) -> PacketBatch | None:
        batch = self._one_batch(self.config.batch_size, time.monotonic() + min(timeout, self.config.max_latency))
        self.read_kernel_stats()
        if not len(batch):
            return None
        self.capture.packets += len(batch)
        self.capture.batches += 1
        return batch

    def _program(self, linktype: int) -> bytes | None:
        """The compiled filter for this link type, packed for SO_ATTACH_FILTER (None: no filter)."""
        return _pack(compile_filter(self.config.bpf_filter, linktype)) if self.config.bpf_filter else None

    def _open_one(self, name: str, program: bytes | None) -> socket.socket:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: receives nothing yet
        except PermissionError as error:
            raise SourceError(f"capture on {name}: needs root or CAP_NET_RAW ({error.strerror})") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.config.buffer_bytes)
            if program is not None:
                _attach(sock, program)
            sock.bind((name, ETH_P_ALL))  # reception starts here: this interface, filter in place
            sock.setblocking(False)
            self._drain(name, sock)
        except OSError as error:
            sock.close()
            raise SourceError(f"capture on {name}: {error.strerror or error}") from None
        return sock

    def _drain(self, name: str, sock: socket.socket) -> None:
        """Discard and count what was queued before the filter and binding took effect."""
        drained = 0
        while True:
            try:
                sock.recv(1, socket.MSG_TRUNC)
            except BlockingIOError:
                break
            drained += 1
        if drained:
            log.warning("capture on %s: %d packet(s) queued before the filter took effect, discarded", name, drained)
            self.capture.drained += drained
            self.stats.extra["drained_at_open"] = self.capture.drained

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()
        self.linktypes.clear()

    def __enter__(self):  # -> LiveCapture
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def stop(self) -> None:
        self.stopped = True

    def take(self, max_packets: int | None = None, duration: float | None = None) -> Iterator[PacketBatch]:
        """Batches until stop(), ``max_packets`` packets, or ``duration`` seconds (an opened
        capture; ``gatewatch flows -i``)."""
        deadline = time.monotonic() + duration if duration is not None else None
        while not self.stopped:
            budget = self.config.batch_size if max_packets is None else min(self.config.batch_size, max_packets - self.capture.packets)
            if budget <= 0:
                return
            batch = self._one_batch(budget, deadline)
            if len(batch):
                self.capture.packets += len(batch)
                self.capture.batches += 1
                yield batch
            self.read_kernel_stats()
            if deadline is not None and time.monotonic() >= deadline:
                return

    def _one_batch(self, budget: int, deadline: float | None) -> PacketBatch:
        """Packets until ``budget``, ``max_latency`` after the first wait, or ``deadline``."""
        snap = self.config.snaplen
        buffer = np.zeros(budget * snap + PAD, dtype=np.uint8)
        view = buffer.data
        offsets: list[int] = []
        caplens: list[int] = []
        wirelens: list[int] = []
        times: list[int] = []
        ifaces: list[int] = []
        flush_at = time.monotonic() + self.config.max_latency
        while len(offsets) < budget and not self.stopped:
            wait = flush_at - time.monotonic()
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                break
            ready, _, _ = select.select(self.sockets, [], [], wait)
            for sock in ready:
                index = self.sockets.index(sock)
                while len(offsets) < budget:
                    start = len(offsets) * snap
                    try:
                        wire = sock.recv_into(view[start : start + snap], snap, socket.MSG_TRUNC)
                    except BlockingIOError:
                        break
                    offsets.append(start)
                    caplens.append(min(wire, snap))
                    wirelens.append(wire)
                    times.append(time.time_ns())
                    ifaces.append(index)
        n = len(offsets)
        iface = np.asarray(ifaces, dtype=np.uint16)
        return PacketBatch(
            data=buffer, offset=np.asarray(offsets, dtype=np.int64), caplen=np.asarray(caplens, dtype=np.int32),
            wirelen=np.asarray(wirelens, dtype=np.int32), ts_ns=np.asarray(times, dtype=np.int64),
            linktype=np.asarray(self.linktypes, dtype=np.uint16)[iface] if n else np.zeros(0, np.uint16),
            interface=iface, interface_names=tuple(self.config.interfaces),
        )

    def read_kernel_stats(self) -> None:
        """Add the kernel's counters since the last read (reading resets them)."""
        for name, sock in zip(self.config.interfaces, self.sockets):
            packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            self.capture.kernel_packets += packets
            self.capture.kernel_drops += drops
            self.stats.kernel_drops += drops
            counters = self.capture.per_interface[name]
            counters["packets"] += packets
            counters["drops"] += drops


def _linktype_of(name: str) -> int:
    try:
        arphrd = int(Path(f"/sys/class/net/{name}/type").read_text())
    except (OSError, ValueError):
        raise SourceError(f"capture on {name}: no such network interface") from None
    if arphrd not in ARPHRD_LINKTYPES:
        raise SourceError(f"capture on {name}: link type ARPHRD {arphrd} is not supported")
    return ARPHRD_LINKTYPES[arphrd]


def _pack(instructions: tuple[tuple[int, int, int, int], ...]) -> bytes:
    """Classic BPF instructions -> the bytes of a struct sock_filter array."""
    return b"".join(struct.pack("HBBI", *i) for i in instructions)


def _attach(sock: socket.socket, program: bytes) -> None:
    """Attach a packed program: the kernel copies it and runs it on every packet, before
    anything is queued to this socket."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


@functools.lru_cache(maxsize=32)
def compile_filter(expression: str, linktype: int) -> tuple[tuple[int, int, int, int], ...]:
    """tcpdump filter syntax -> classic BPF instructions (code, jt, jf, k). Cached (a bad filter
    is not): libpcap through scapy takes about a second, and the pre-flight, the first open and
    every reopen ask for the same program."""
    return _libpcap_compile(expression, linktype)


def _libpcap_compile(expression: str, linktype: int) -> tuple[tuple[int, int, int, int], ...]:
    try:
        from scapy.arch.common import compile_filter as scapy_compile
        from scapy.error import Scapy_Exception
    except ImportError as error:  # pragma: no cover - scapy is a dependency
        raise ConfigError(f"BPF filter needs scapy: {error}") from None
    try:
        program = scapy_compile(expression, linktype=linktype)
    except (Scapy_Exception, OSError, ImportError) as error:
        raise ConfigError(f"BPF filter {expression!r}: {error}") from None
    return tuple((program.bf_insns[i].code, program.bf_insns[i].jt, program.bf_insns[i].jf, program.bf_insns[i].k)
                 for i in range(program.bf_len))
