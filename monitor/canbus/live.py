"""Live CAN sources: a base class that owns the batching loop, and python-can buses.

``CanSource.batches()`` collects frames until a batch is full or ``max_latency`` seconds have
passed, yields it, and counts everything (frames, batches, bus errors, reconnects). Concrete
sources fill one hook, ``_fill(builder, timeout)``. A bus that fails is a state, not a crash:
the error is counted and logged, and the bus is reopened after a back-off.

Bus configuration is in python-can's own terms (interface, channel, bitrate, fd,
data_bitrate, receive_own_messages, and any other keyword the interface takes).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError, SourceError
from .frames import BatchBuilder, FrameBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusConfig:
    interface: str
    channel: str | int | None = None
    bitrate: int | None = None
    fd: bool = False
    data_bitrate: int | None = None
    receive_own_messages: bool = False
    options: Mapping[str, object] = field(default_factory=dict)  # other python-can kwargs

    def kwargs(self) -> dict:
        out: dict = {"interface": self.interface, "channel": self.channel, "fd": self.fd,
                     "receive_own_messages": self.receive_own_messages}
        if self.bitrate is not None:
            out["bitrate"] = self.bitrate
        if self.data_bitrate is not None:
            out["data_bitrate"] = self.data_bitrate
        out.update(self.options)
        return out


@dataclass
class SourceStats:
    frames: int = 0
    batches: int = 0
    bus_errors: int = 0
    reopens: int = 0
    kernel_drops: int = 0


class CanSource(ABC):
    """Base of live sources: owns the loop, the batching, the counters and shutdown."""

    def __init__(self, batch_size: int = 4096, max_latency: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, retry_after: float = 1.0) -> None:
        self.batch_size, self.max_latency, self.clock = batch_size, max_latency, clock
        self.retry_after = retry_after
        self.stats = SourceStats()
        self._builder = BatchBuilder(batch_size)

    @abstractmethod
    def _fill(self, builder: BatchBuilder, timeout: float) -> None:
        """Add frames to ``builder`` until it is full or ``timeout`` seconds have passed."""

    def _reopen(self) -> None:
        """Re-establish the bus after an error; sources that can, override this."""

    def close(self) -> None:
        """Release the bus or socket."""

    def batches(self, stop: threading.Event | None = None, max_frames: int | None = None,
                idle_timeout: float | None = None) -> Iterator[FrameBatch]:
        """Yield batches until ``stop`` is set, ``max_frames`` were delivered, or nothing
        arrived for ``idle_timeout`` seconds."""
        stop = stop or threading.Event()
        last_frame = self.clock()
        while not stop.is_set():
            deadline = self.clock() + self.max_latency
            while not self._builder.full and not stop.is_set():
                remaining = deadline - self.clock()
                if remaining <= 0:
                    break
                before = len(self._builder)
                self._safe_fill(min(remaining, self.max_latency))
                if len(self._builder) > before:
                    last_frame = self.clock()
                if max_frames is not None and self.stats.frames + len(self._builder) >= max_frames:
                    break
            if len(self._builder):
                batch = self._builder.finish()
                self.stats.frames += len(batch)
                self.stats.batches += 1
                yield batch
            if max_frames is not None and self.stats.frames >= max_frames:
                return
            if idle_timeout is not None and self.clock() - last_frame >= idle_timeout:
                return

    def _safe_fill(self, timeout: float) -> None:
        try:
            self._fill(self._builder, timeout)
        except (OSError, SourceError, _can_error()) as error:
            self.stats.bus_errors += 1
            log.warning("%s: bus error (%s); reopening in %.1fs", self, error, self.retry_after)
            time.sleep(self.retry_after)
            try:
                self._reopen()
                self.stats.reopens += 1
            except Exception as reopen_error:  # noqa: BLE001 - stay in the retry state
                log.warning("%s: reopen failed: %s", self, reopen_error)


def _can_error() -> type[BaseException]:
    try:
        import can

        return can.CanError
    except ImportError:  # pragma: no cover - python-can is a dependency
        return OSError


class PythonCanSource(CanSource):
    """Any python-can interface. python-can makes one Message per frame; its fields are
    written straight into the batch columns. For SocketCAN prefer RawSocketCanSource."""

    def __init__(self, config: BusConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.bus = self._open()

    def _open(self):
        import can

        try:
            return can.Bus(**self.config.kwargs())
        except (ValueError, TypeError, NotImplementedError) as error:
            raise ConfigError(f"CAN bus {self.config.interface}:{self.config.channel}: {error}") from error
        except Exception as error:  # python-can raises many kinds
            raise SourceError(f"CAN bus {self.config.interface}:{self.config.channel}: {error}") from error

    def _fill(self, builder: BatchBuilder, timeout: float) -> None:
        deadline = self.clock() + timeout
        recv = self.bus.recv
        while not builder.full:
            msg = recv(timeout=max(deadline - self.clock(), 0.0))
            if msg is None:
                return
            builder.add_message(msg)

    def _reopen(self) -> None:
        self.close()
        self.bus = self._open()

    def close(self) -> None:
        try:
            self.bus.shutdown()
        except Exception as error:  # noqa: BLE001 - closing a broken bus may fail; nothing to do
            log.debug("%s: shutdown failed: %s", self, error)

    def __str__(self) -> str:
        return f"{self.config.interface}:{self.config.channel}"


def open_source(config: BusConfig, raw_socketcan: bool = True, **kwargs) -> CanSource:
    """The fastest source for a bus: raw AF_CAN for SocketCAN, python-can otherwise."""
    if raw_socketcan and config.interface == "socketcan":
        from .rawsocket import RawSocketCanSource

        return RawSocketCanSource.open(str(config.channel), fd=config.fd, **kwargs)
    return PythonCanSource(config, **kwargs)
