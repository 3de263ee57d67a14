"""A real Mosquitto broker per test, on a loopback port, its data folder owned by its user; a
real alert record to build the fleet tests' records from."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.alerts.logfiles import chain_files
from monitor.testing.mosquitto import Mosquitto
from monitor.testing.scene import many_alerts
from tests.builders import run


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
    tls_lines = ""
    if tls:
        from tests.fleet.certs import make_pki

        pki = make_pki(folder)
        tls_lines = (f"cafile {pki['ca']}\ncertfile {pki['broker_cert']}\nkeyfile {pki['broker_key']}\n"
                     "require_certificate true\nuse_identity_as_username true\n")
    broker = Mosquitto.create(tls_lines, folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.remove()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """A real alert record (from a replay), to re-seal or mutate for the vehicles of these tests."""
    folder = tmp_path_factory.mktemp("template")
    code, _, err = run("replay", "-o", str(folder / "log"), "--vehicle-id", "car-7", str(many_alerts(folder, 2)))
    assert code == 0, err
    return json.loads(chain_files(folder / "log")[0].read_bytes().splitlines()[0])
