"""A real Mosquitto broker per test, on a loopback port, its data folder owned by its user."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Mosquitto:
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if (self.folder / 'ca.pem').exists() else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.folder / "mosquitto.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return  # listening (a TLS handshake is the clients' business)
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""
                assert time.monotonic() < deadline, "mosquitto did not start"
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    yield from _broker(tls=False)


@pytest.fixture
def mosquitto_tls() -> Iterator[Mosquitto]:
    """A broker that speaks only TLS and admits only clients with a certificate from its CA
    (the PKI is in ``broker.folder``: ca.pem, vehicle.pem/.key, collector.pem/.key)."""
    yield from _broker(tls=True)


def _broker(tls: bool) -> Iterator[Mosquitto]:
    if shutil.which("mosquitto") is None:
        pytest.skip("needs Debian's mosquitto (make test installs it as root)")
    folder = Path(tempfile.mkdtemp(prefix="gatewatch-mosquitto-"))
    folder.chmod(0o755)
    broker = Mosquitto(_free_port(), folder)
    data = folder / "data"
    data.mkdir()
    user = "mosquitto" if os.geteuid() == 0 and _exists("mosquitto") else None
    if user:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    tls_lines = ""
    if tls:
        from tests.fleet.certs import make_pki

        pki = make_pki(folder)
        tls_lines = (f"cafile {pki['ca']}\ncertfile {pki['broker_cert']}\nkeyfile {pki['broker_key']}\n"
                     "require_certificate true\nuse_identity_as_username true\n")
    (folder / "mosquitto.conf").write_text(
        f"listener {broker.port} 127.0.0.1\n{tls_lines}allow_anonymous true\npersistence true\n"
        f"persistence_location {data}/\nautosave_interval 1\nmax_inflight_messages 100\n"
        + (f"user {user}\n" if user else "") + "log_dest stderr\nlog_type error\n")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False
