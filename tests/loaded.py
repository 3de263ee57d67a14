"""Test helpers for a machine that is busy: CPU hogs a test starts on purpose, and waiting for
an observable event (a file, a counter, a socket the kernel lists) with a generous timeout
instead of sleeping a fixed time that an idle machine happens to meet."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

#: Long enough for interpreter start-up, scapy's filter compile and a flow to finish with both
#: cores busy (measured 1.3-2.3 s from exec to READY on a loaded machine); short enough that a
#: hang ends the test.
GENEROUS = 90.0


def wait_until(condition: Callable[[], object], what: str, timeout: float = GENEROUS,
               step: float = 0.02, alive: subprocess.Popen | None = None) -> object:
    """Poll ``condition`` until it returns something true (returned); fail naming ``what`` on
    timeout, or at once if the process ``alive`` ends first."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"process exited ({alive.returncode}) while waiting for {what}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)  # a poll interval, not a guess at how long the event takes


@contextlib.contextmanager
def cpu_hogs(count: int = 2) -> Iterator[list[subprocess.Popen]]:
    """``count`` busy-loop processes (one a core on the 2-core CI machine), killed on exit."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(timeout=30)
