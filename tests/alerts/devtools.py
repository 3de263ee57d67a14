"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages ending in a NUL byte, commands on the browser's fd 3, answers and events on its
fd 4), so a test sees every request the page makes, every console message and exception, and
can evaluate script, scroll a wheel or take a screenshot, with the standard library alone."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import subprocess
import threading
from pathlib import Path

from .test_report import CHROMIUM_FLAGS, chromium

TIMEOUT_S = 60.0


def _above_4(fds: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved to fds 10 and up, so putting them on 3 and 4 never closes one."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class DevTools:
    def __init__(self, profile: Path) -> None:
        commands_r, self._commands = _above_4(os.pipe())
        self._answers, answers_w = _above_4(os.pipe())
        # the browser reads commands on fd 3 and writes on fd 4: bash puts our pipe ends there (dash takes single-digit fds only)
        shell = f'exec "$0" "$@" 3<&{commands_r} 4>&{answers_w} {commands_r}<&- {answers_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", shell, chromium(), *CHROMIUM_FLAGS, "--remote-debugging-pipe",
                                      f"--user-data-dir={profile}", "about:blank"], pass_fds=(commands_r, answers_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_r), os.close(answers_w)
        self.events: list[dict] = []
        self._arrived = threading.Condition()
        self._replies: queue.Queue = queue.Queue()
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = None

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._answers, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies.put(message)
                        continue
                    with self._arrived:
                        self.events.append(message)
                        self._arrived.notify_all()

    def send(self, method: str, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._replies.get(timeout=TIMEOUT_S)
            if reply["id"] == self._next:
                assert "error" not in reply, (method, reply["error"])
                return reply["result"]

    def open(self, url: str) -> None:
        """A new tab with the events of the network, console and log recorded, loaded with url."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def wait_for(self, method: str) -> dict:
        with self._arrived:
            assert self._arrived.wait_for(lambda: any(e.get("method") == method for e in self.events), TIMEOUT_S), method
            return next(e for e in self.events if e.get("method") == method)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def problems(self) -> list[dict]:
        """Console errors and warnings, exceptions, and log entries (a CSP violation is one)."""
        return [e for e in self.events
                if e.get("method") in ("Runtime.exceptionThrown", "Log.entryAdded")
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning", "assert"))]

    def close(self) -> None:
        with contextlib.suppress(OSError, AssertionError, queue.Empty):  # already gone: it is killed below either way
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        os.close(self._commands)
