"""Run a one-off pass in a forked child and take back its result: what the pass allocates
never lands in the caller's heap.

``gatewatch replay`` first compares the CAN and IP clocks (detect/clocks.py: the CAN log
decoded and the capture scanned once). Run in the replay's process, that pass left some ten
megabytes of heap and caches behind, under the replay's own high-water mark: the ten-minute
drive peaked at 97 MB against 85 MB without it (the issue's target is 90). In a child, the
pass peaks at its own 75 MB and the replay starts from the configuration's 50.

The result (or the exception) comes back pickled through a pipe. Where there is no fork, or the
child dies or cannot pickle what it has, the pass simply runs here: the same result, the same
exception, only the memory is not spared.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_apart(function: Callable[..., T], *args) -> T:
    if not hasattr(os, "fork"):
        return function(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(write, read, function, args)
    os.close(write)
    try:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if status or not data:
        return function(*args)  # the child died or could not send it: the same pass, here
    ok, value = pickle.loads(data)
    if ok:
        return value
    raise value


def _child(write: int, read: int, function: Callable, args: tuple) -> None:
    """Never returns: os._exit skips the parent's atexit handlers and its unflushed buffers."""
    status = 1
    try:
        os.close(read)
        try:
            outcome = (True, function(*args))
        except Exception as error:  # noqa: BLE001 - handed to the parent to raise
            outcome = (False, error)
        payload = pickle.dumps(outcome)  # what does not pickle is not sent: the parent runs the pass
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        status = 0
    except BaseException:  # noqa: BLE001 - nothing sent: the parent runs the pass itself
        status = 1
    finally:
        os._exit(status)
