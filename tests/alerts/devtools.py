"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages ending in a NUL byte, commands on the browser's fd 3, answers and events on its
fd 4), so a test sees every request the page makes, every console message and exception, and
can evaluate script, scroll a wheel or take a screenshot, with the standard library alone."""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import threading
from pathlib import Path

from .test_report import CHROMIUM_FLAGS, chromium

TIMEOUT_S = 60.0


class DevTools:
    def __init__(self, profile: Path) -> None:
        commands_r, self._commands = os.pipe()
        self._answers, answers_w = os.pipe()

        def as_fds_3_and_4() -> None:  # in the child, before exec
            commands, answers = os.dup(commands_r), os.dup(answers_w)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self.proc = subprocess.Popen([chromium(), *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "about:blank"], preexec_fn=as_fds_3_and_4, close_fds=False,
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
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 (the browser may already be gone; it is killed below either way)
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        os.close(self._commands)
