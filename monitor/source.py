"""What every input of the timeline is: a source of time-ordered batches.

Recordings (CAN logs, captures) and live inputs (CAN buses, network interfaces) share this
interface, so replay and live differ only in the source. ``LiveSource`` is the one base of
the live ones, CAN and IP alike: it owns the loop, the stop event, the injected clock and the
reopen policy. A concrete live source fills three hooks: ``open()``, ``read(timeout)`` (one
batch, or None when nothing arrived) and ``close()``. A source that fails (bus-off, interface
removed, modem reset) is a state, not a crash: the first failure of a streak is logged once,
every failure is counted, and the source is reopened after an exponential back-off. Only a
ConfigError (a wrong interface name, a bad filter) ends it: that is the user's to fix.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class SourceStats:
    batches: int = 0
    items: int = 0  # frames or packets delivered
    failures: int = 0  # errors while open or reading (each one counted)
    reopens: int = 0  # successful opens after a failure
    kernel_drops: int = 0  # what the kernel says it dropped (SO_RXQ_OVFL, PACKET_STATISTICS)
    queue_drops: int = 0  # batches the timeline had no room for (live sources only)
    queue_dropped_items: int = 0
    last_error: str = ""
    extra: dict = field(default_factory=dict)  # source-specific counters

    def as_dict(self) -> dict:
        out = {k: v for k, v in vars(self).items() if k != "extra"}
        return {**out, **self.extra}


class Source(ABC):
    """A time-ordered stream of FrameBatch ("can") or PacketBatch ("ip") objects."""

    kind: ClassVar[str] = "can"  # "can" or "ip"
    live: ClassVar[bool] = False  # live sources may drop when the pipeline falls behind

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = SourceStats()

    @abstractmethod
    def batches(self, stop: threading.Event) -> Iterator[Any]:
        """Batches in time order until the input ends or ``stop`` is set."""

    def sliced(self, batches: Iterable[Any], slice_s: float, stop: threading.Event) -> Iterator[Any]:
        """A recording's batches cut into time slices, until ``stop``; slices counted."""
        for batch in time_slices(batches, slice_s):
            if stop.is_set():
                return
            self.stats.batches += 1
            yield batch

    def count(self, batch: Any) -> None:
        """Count a batch read: its items and the time span so far (``stats.extra`` first_ts,
        last_ts; the replay compares the CAN and IP spans)."""
        if len(batch):
            extra = self.stats.extra
            if extra.get("first_ts") is None:
                extra["first_ts"] = float(batch.timestamp[0])
            extra["last_ts"] = float(batch.timestamp[-1])
            self.stats.items += len(batch)

    def close(self) -> None:
        """Release what the source holds."""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


#: What a source may raise while it runs that means "down for now, try again".
TRANSIENT: tuple[type[BaseException], ...] = (OSError,)


class LiveSource(Source):
    live = True

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic,
                 retry_min: float = 0.5, retry_max: float = 30.0) -> None:
        super().__init__(name)
        self.clock = clock
        self.retry_min, self.retry_max = retry_min, retry_max
        self.is_open = False
        self.tried_open = threading.Event()  # set after the first open attempt, good or bad

    @abstractmethod
    def open(self) -> None:
        """Open the bus or socket; raise on failure."""

    @abstractmethod
    def read(self, timeout: float) -> Any | None:
        """One batch, or None if nothing arrived within ``timeout`` seconds."""

    def close(self) -> None:
        """Release the bus or socket; must be safe to call when not open."""

    def transient_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions that mean "down for now" for this kind of source."""
        return TRANSIENT

    def batches(self, stop: threading.Event, timeout: float = 0.2) -> Iterator[Any]:
        delay = self.retry_min
        while not stop.is_set():
            try:
                if not self.is_open:
                    self._open_once()
                batch = self.read(timeout)
            except ConfigError:
                self.tried_open.set()
                raise
            except self.transient_errors() as error:
                self._failed(error, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_min
            if batch is not None and len(batch):
                self.stats.batches += 1
                self.stats.items += len(batch)
                yield batch

    def _open_once(self) -> None:
        try:
            self.open()
        finally:
            self.tried_open.set()
        self.is_open = True
        if self.stats.failures:
            self.stats.reopens += 1
            log.warning("%s: back after %d failure(s)", self, self.stats.failures)

    def _failed(self, error: BaseException, delay: float) -> None:
        first_of_streak = self.is_open or self.stats.failures == 0
        self.stats.failures += 1
        self.stats.last_error = f"{type(error).__name__}: {error}"
        if first_of_streak:  # reported once per streak; the rest is counted
            log.warning("%s: down (%s); retrying with back-off from %.1fs", self, self.stats.last_error, delay)
        self.is_open = False
        try:
            self.close()
        except Exception as close_error:  # noqa: BLE001 - closing a broken bus may fail too
            log.debug("%s: close after failure: %s", self, close_error)


def time_slices(batches: Iterable[Any], slice_s: float) -> Iterator[Any]:
    """Cut time-ordered batches into pieces of at most ``slice_s`` seconds, so a merge of
    recordings interleaves CAN and IP at that grain (inf: batches as they come)."""
    for batch in batches:
        ts = batch.timestamp
        if not len(ts):
            continue
        if slice_s == float("inf"):
            yield batch
            continue
        bucket = np.floor(ts / slice_s)
        edges = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1, [len(ts)]))
        for a, b in itertools.pairwise(edges.tolist()):
            yield batch.take(slice(a, b))
