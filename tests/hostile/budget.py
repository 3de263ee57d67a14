"""A per-input budget: the CPU time and the peak of traced memory one input may cost.

These are bounds, not speed measurements: each is tens of times what a sane input costs, and
the failures they catch cost minutes and gigabytes (see monitor/limits.py).
"""

from __future__ import annotations

import signal
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager


class BudgetExceeded(BaseException):
    """Raised by a CPU-time alarm at twice the budget, so an input that would loop forever ends
    the test; a BaseException, so a reader's own ``except Exception`` cannot swallow it."""


def _alarm(signum, frame) -> None:
    raise BudgetExceeded("CPU-time alarm at twice the budget")


@contextmanager
def within_budget(what: str, cpu_s: float, megabytes: float) -> Iterator[None]:
    tracemalloc.start()
    start = time.thread_time()  # this thread's: threads other tests left behind do not count
    previous = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, 2 * cpu_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        cpu = time.thread_time() - start
        peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
        tracemalloc.stop()
    assert cpu <= cpu_s, f"{what}: {cpu:.2f} CPU s, budget {cpu_s} s"
    assert peak <= megabytes, f"{what}: {peak:.1f} MB traced at peak, budget {megabytes} MB"
