"""Progress on a terminal for work that takes more than a few seconds (a large replay,
``collect``, a benchmark): one line on stderr, rewritten in place twice a second, cleared at
the end. Off when stderr is not a terminal (CI logs, pipes, tests read it) or with ``--quiet``;
stdout is never touched, so what a command prints stays the same either way.

The line is drawn by a thread that asks the command how far it is (``status``, a function
reading counters the work keeps anyway), so the work itself calls nothing: no hook in the
pipeline's loop, no cost when nobody looks. ``GATEWATCH_PROGRESS_AFTER`` (seconds, default 2)
says how long work runs before the line shows (tests set 0).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO, cast

AFTER_S = 2.0  # quicker work ends before a line would help
EVERY_S = 0.5
CLEAR = "\r\x1b[K"  # back to the line's start, erase to its end


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr (shown only on a terminal)")


def enabled(stream: TextIO, quiet: bool = False) -> bool:
    try:
        return not quiet and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


@contextlib.contextmanager
def shown(stream: TextIO, label: str, status: Callable[[], str], quiet: bool = False, out: TextIO | None = None,
          every_s: float = EVERY_S) -> Iterator[TextIO | None]:
    """Draw ``label: status() (N s)`` on ``stream`` while the block runs, when it is a terminal.
    Yields ``out`` wrapped so that the command's first write to it takes the line away first
    (on one screen, a report would otherwise start after the progress text and be erased by
    the next redraw)."""
    if not enabled(stream, quiet):
        yield out
        return
    stop = threading.Event()
    drawer = threading.Thread(target=_draw, args=(stream, label, status, stop, _after(), every_s),
                              name="progress", daemon=True)

    def finish() -> None:
        stop.set()
        drawer.join()

    drawer.start()
    try:
        yield None if out is None else cast(TextIO, _Ends(out, finish))
    finally:
        finish()


class _Ends:
    """A stream whose first write ends the progress line (``finish``), then passes through."""

    def __init__(self, stream: TextIO, finish: Callable[[], None]) -> None:
        self.stream, self.finish = stream, finish

    def write(self, text: str) -> int:
        self.finish()
        return self.stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _draw(stream: TextIO, label: str, status: Callable[[], str], stop: threading.Event, after_s: float,
          every_s: float) -> None:
    start, drawn = time.monotonic(), False
    if stop.wait(after_s):
        return
    while True:
        try:
            line = f"{label}: {status()} ({time.monotonic() - start:.0f} s)"
        except Exception as error:  # noqa: BLE001 - a status that fails must not end the work: say so once, stop
            _write(stream, f"{CLEAR}{label}: no progress shown ({type(error).__name__}: {error})\n")
            return
        if not _write(stream, CLEAR + line):
            return
        drawn = True
        if stop.wait(every_s):
            break
    if drawn:
        _write(stream, CLEAR)


def _write(stream: TextIO, text: str) -> bool:
    """Write and flush; a terminal gone away ends the drawing, never the work."""
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        return False
    return True


def _after() -> float:
    try:
        return max(0.0, float(os.environ.get("GATEWATCH_PROGRESS_AFTER", AFTER_S)))
    except ValueError:
        return AFTER_S
