"""systemd's notify protocol, written directly over the socket (no dependency).

``NOTIFY_SOCKET`` names a unix datagram socket (a leading "@" is the abstract namespace).
READY=1 once the sources are open, WATCHDOG=1 from the pipeline loop at half the interval
systemd asks for (``WATCHDOG_USEC``), so a stalled pipeline is restarted, STATUS= with the
main counters, STOPPING=1 on the way out. Without NOTIFY_SOCKET every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None, watchdog_usec: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.address = ("\0" + address[1:] if address.startswith("@") else address) if address else ""
        self.watchdog_s = watchdog_usec / 2e6 if watchdog_usec else None
        self.clock = clock
        self._next_ping = 0.0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if address else None

    @classmethod
    def from_environment(cls) -> Notifier:
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        watchdog = int(usec) if usec.isdigit() and (not pid or pid == str(os.getpid())) else None
        return cls(os.environ.get("NOTIFY_SOCKET") or None, watchdog)

    def send(self, *fields: str) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as error:  # systemd gone or not listening: the daemon goes on
            log.debug("sd_notify %s: %s", fields, error)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def tick(self) -> None:
        """WATCHDOG=1 when due: call it from the loop whose stall should restart the daemon."""
        if self.watchdog_s is None:
            return
        now = self.clock()
        if now >= self._next_ping:
            self.send("WATCHDOG=1")
            self._next_ping = now + self.watchdog_s

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
