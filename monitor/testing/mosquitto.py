"""A Mosquitto broker on a loopback port, started for a benchmark or a test: its data folder
owned by its user (when run as root), persistence on, optionally TLS with client
certificates. Debian's mosquitto package provides the binary."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError


@dataclass
class Mosquitto:
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if (self.folder / 'ca.pem').exists() else 'mqtt'}://127.0.0.1:{self.port}"

    @classmethod
    def create(cls, tls_lines: str = "", folder: Path | None = None) -> Mosquitto:
        if shutil.which("mosquitto") is None:
            raise ConfigError("needs mosquitto on PATH (Debian: apt-get install mosquitto)")
        folder = folder or Path(tempfile.mkdtemp(prefix="gatewatch-mosquitto-"))
        folder.chmod(0o755)
        broker = cls(_free_port(), folder)
        data = folder / "data"
        data.mkdir(exist_ok=True)
        user = _user("mosquitto") if os.geteuid() == 0 else None
        if user:
            os.chown(data, user.pw_uid, user.pw_gid)
        (folder / "mosquitto.conf").write_text(
            f"listener {broker.port} 127.0.0.1\n{tls_lines}allow_anonymous true\npersistence true\n"
            f"persistence_location {data}/\nautosave_interval 1\nmax_inflight_messages 100\nmax_queued_messages 100000\n"
            + (f"user {user.pw_name}\n" if user else "") + "log_dest stderr\nlog_type error\n")
        return broker

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.folder / "mosquitto.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return  # listening (a TLS handshake is the clients' business)
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    said = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    raise ConfigError(f"mosquitto did not start: {said.strip()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.process and self.process.stderr:
            self.process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _user(name: str):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None
