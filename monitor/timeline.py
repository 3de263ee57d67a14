"""One timeline from many sources: each source runs in its own thread and hands its batches
through a bounded queue (a lane); the pipeline thread takes them merged by time.

A batch leaves the timeline when it is the earliest at the head of any lane and no lane that is
empty right now could still bring an earlier one:

- a recording (CAN log, capture) could, until it has delivered something later or ended; so
  replay is an exact merge by (time, CAN before IP, order) and gives the same order every time;
- a live source could only within the reorder window: data older than ``now - reorder_s``
  (timestamps are wall-clock receive times) is not waited for. A batch that still arrives
  behind one already passed is processed all the same and counted as late.

Every lane is bounded. A full lane holds a recording back (replay loses nothing) and makes a
live source drop the batch, counted per source (the kernel keeps counting its own drops).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .source import Source

log = logging.getLogger(__name__)

KIND_ORDER = {"can": 0, "ip": 1}  # on equal times CAN first: a packet sees the state of its time


@dataclass(eq=False)
class Lane:
    source: Source
    bound: int
    items: deque = field(default_factory=deque)  # (key, batch)
    last_key: tuple | None = None
    finished: bool = False
    error: BaseException | None = None
    seq: int = 0
    late: int = 0


class Timeline:
    def __init__(self, sources: Iterable[Source], reorder_s: float = 0.2, bound: int = 64,
                 clock: Callable[[], float] = time.time) -> None:
        self.lanes = [Lane(source, bound) for source in sources]
        self.reorder_s = reorder_s
        self.clock = clock
        self.stop_event = threading.Event()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._last_out: tuple | None = None

    # ------------------------------------------------------------ the source threads

    def start(self) -> Timeline:
        for lane in self.lanes:
            thread = threading.Thread(target=self._run, args=(lane,), name=f"source {lane.source}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Sources end at their next read; what they delivered is still merged and taken."""
        self.stop_event.set()
        with self._cond:
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, lane: Lane) -> None:
        try:
            for batch in lane.source.batches(self.stop_event):
                self._put(lane, batch)
        except BaseException as error:  # noqa: BLE001 - handed to the pipeline thread to raise
            lane.error = error
        finally:
            lane.source.close()
            with self._cond:
                lane.finished = True
                self._cond.notify_all()

    def _put(self, lane: Lane, batch: Any) -> None:
        first = float(batch.timestamp[0])
        with self._cond:
            lane.seq += 1
            key = (first, KIND_ORDER[lane.source.kind], lane.seq)
            if len(lane.items) >= lane.bound:
                if lane.source.live:
                    lane.source.stats.queue_drops += 1
                    lane.source.stats.queue_dropped_items += len(batch)
                    return
                while len(lane.items) >= lane.bound and not self.stop_event.is_set():
                    self._cond.wait(0.5)
            lane.items.append((key, batch))
            lane.last_key = key
            self._cond.notify_all()

    # ------------------------------------------------------------ the pipeline thread

    def get(self, timeout: float) -> tuple[Source, Any] | None:
        """The next batch in time order, or None if none may leave within ``timeout`` seconds.
        Raises EOFError when every source has ended and every lane is empty, and a source's
        own fatal error (a ConfigError) as soon as it is seen."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._raise_errors()
                taken = self._take()
                if taken is not None:
                    return taken
                if all(lane.finished and not lane.items for lane in self.lanes):
                    raise EOFError
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, self.reorder_s / 4 or 0.05))

    def raise_source_errors(self) -> None:
        """Raise the first fatal error a source ended with (a ConfigError), if any."""
        with self._cond:
            self._raise_errors()

    def _raise_errors(self) -> None:
        for lane in self.lanes:
            if lane.error is not None:
                error, lane.error = lane.error, None
                raise error

    def _take(self) -> tuple[Source, Any] | None:
        heads = [lane for lane in self.lanes if lane.items]
        if not heads:
            return None
        best = min(heads, key=lambda lane: lane.items[0][0])
        key = best.items[0][0]
        if not all(self._cannot_precede(lane, key) for lane in self.lanes if not lane.items and not lane.finished):
            return None
        _, batch = best.items.popleft()
        if self._last_out is not None and key[0] < self._last_out[0]:
            best.late += 1
        self._last_out = key
        self._cond.notify_all()  # room in the lane for a held-back recording
        return best.source, batch

    def _cannot_precede(self, lane: Lane, key: tuple) -> bool:
        """Can the empty ``lane`` no longer bring a batch that belongs before ``key``?"""
        if lane.last_key is not None and key <= lane.last_key:
            return True
        return lane.source.live and key[0] <= self.clock() - self.reorder_s

    def lane_stats(self, source: Source) -> dict:
        """What the timeline knows of one source: batches waiting, late batches, ended."""
        with self._cond:
            lane = next(lane for lane in self.lanes if lane.source is source)
            return {"queued": len(lane.items), "late": lane.late, "ended": lane.finished}
