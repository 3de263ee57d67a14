"""Live CAN sources on the one live-source base (monitor/source.py), and python-can buses.

``CanBusSource`` batches frames: ``read(timeout)`` collects until the batch is full or
``max_latency`` seconds have passed. Concrete buses fill one hook, ``_fill(builder,
timeout)``. Frames are labelled with the configured bus name (the name DBC lists, CAN rules
and ``known_ids`` use), whatever the interface calls its channel.

Bus configuration is in python-can's own terms (interface, channel, bitrate, fd,
data_bitrate, receive_own_messages, and any other keyword the interface takes). Which class
serves an interface is the lazy registry in ``buses.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, SourceError
from ..source import LiveSource
from .frames import BatchBuilder, FrameBatch

log = logging.getLogger(__name__)


#: How long a frame may wait for its batch. Per-batch costs (a decode and range check per message
#: present) dominate at small batches, so CAN batches are longer than the capture's; the
#: timeline's reorder window (300 ms by default) covers them.
BATCH_S = 0.25


class CanBusSource(LiveSource):
    kind = "can"

    def __init__(self, name: str, batch_size: int = 4096, max_latency: float = BATCH_S,
                 clock: Callable[[], float] = time.monotonic, **kwargs) -> None:
        super().__init__(name, clock=clock, **kwargs)
        self.batch_size, self.max_latency = batch_size, max_latency
        self._builder = BatchBuilder(batch_size)

    def _fill(self, builder: BatchBuilder, timeout: float) -> None:
        """Add frames to ``builder`` until it is full or ``timeout`` seconds have passed."""
        raise NotImplementedError

    def transient_errors(self) -> tuple[type[BaseException], ...]:
        return (OSError, SourceError, _can_error())

    def read(self, timeout: float) -> FrameBatch | None:
        deadline = self.clock() + self.max_latency  # a batch per max_latency, whatever the timeout
        while not self._builder.full:
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            self._fill(self._builder, remaining)
        if not len(self._builder):
            return None
        return self._builder.finish().relabel(self.name)


def _can_error() -> type[BaseException]:
    import can

    return can.CanError


class PythonCanSource(CanBusSource):
    """Any python-can interface. python-can makes one Message per frame; its fields are
    written straight into the batch columns. SocketCAN takes the raw fast path instead."""

    def __init__(self, name: str, bus_kwargs: dict, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.bus_kwargs = bus_kwargs
        self.bus: Any = None  # a python-can BusABC while open

    @classmethod
    def from_kwargs(cls, name: str, bus_kwargs: dict, **kwargs) -> PythonCanSource:
        return cls(name, bus_kwargs, **kwargs)

    def open(self) -> None:
        import can

        try:
            self.bus = can.Bus(**self.bus_kwargs)
        except (ValueError, TypeError, NotImplementedError) as error:
            raise ConfigError(f"CAN bus {self.name} ({self._where()}): {error}") from error
        except Exception as error:  # python-can raises many kinds; all mean "not up now"
            raise SourceError(f"CAN bus {self.name} ({self._where()}): {error}") from error

    def _fill(self, builder: BatchBuilder, timeout: float) -> None:
        deadline = self.clock() + timeout
        recv = self.bus.recv
        while not builder.full:
            msg = recv(timeout=max(deadline - self.clock(), 0.0))
            if msg is None:
                return
            builder.add_message(msg)

    def close(self) -> None:
        bus, self.bus = self.bus, None
        if bus is not None:
            try:
                bus.shutdown()
            except Exception as error:  # noqa: BLE001 - closing a broken bus may fail; nothing to do
                log.debug("%s: shutdown failed: %s", self, error)

    def _where(self) -> str:
        return f"{self.bus_kwargs.get('interface')}:{self.bus_kwargs.get('channel')}"
