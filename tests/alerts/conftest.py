"""Recordings for the alert-log tests: a drive whose uplink carries many JT/T 808 reports on
one flow, and replays of it into folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.testing.drive import jt808_location

from ..builders import encode, gateway_db, run, stream, vin_lines, write_log, write_pcap

T0 = 1_700_000_000.0
VIN = "WVWZZZ1JZXW000001"


def report_positions(n: int) -> list[tuple[float, float]]:
    return [(48.1 + i * 1e-4, 11.5 + i * 2e-4) for i in range(n)]


def reports_drive(directory: Path, n: int = 300) -> tuple[Path, Path]:
    """n location reports on one TCP flow (one every 0.2 s), the VIN on CAN."""
    db = gateway_db()
    lines = vin_lines(db, VIN, T0) + [encode(db, "GW_VehicleMotion", T0 + 0.1 * k, VehicleSpeed=50, Odometer=100, GearReverse=0)
                                      for k in range(10)]
    log = write_log(directory / "can.log", lines)
    payloads = [jt808_location(lat, lon, i) for i, (lat, lon) in enumerate(report_positions(n))]
    capture = write_pcap(directory / "uplink.pcap", stream(T0 + 1, payloads, dport=7018, interval=0.2))
    return log, capture


def replay_into(out: Path, *recordings: Path, config: Path | None = None, extra: tuple = ()) -> tuple[int, str, str]:
    args = ["replay", *map(str, recordings), "-o", str(out), *extra]
    if config:
        args += ["--config", str(config)]
    return run(*args)


def policy_trial_records(out: Path) -> list[dict]:
    """seeds/policy-trial replayed into ``out`` (every category, destinations, names, positions): its
    alert records as the writer wrote them."""
    import json

    from ..conftest import PROJECT

    trial = PROJECT / "seeds" / "policy-trial"
    code, _, err = replay_into(out, trial / "can.log", trial / "capture.pcap", config=trial / "policy.yaml",
                               extra=("--vehicle-id", "trial"))
    assert code == 0, err
    return [json.loads(line) for path in sorted(out.glob("alerts-trial-*.jsonl")) for line in path.read_text().splitlines()]


@pytest.fixture
def drive(tmp_path) -> tuple[Path, Path]:
    return reports_drive(tmp_path)


@pytest.fixture(scope="module")
def trial_records(tmp_path_factory) -> list[dict]:
    """The policy trial's records (every category, destinations, names, positions), as the writer wrote them."""
    return policy_trial_records(tmp_path_factory.mktemp("trial") / "out")


@pytest.fixture
def forged(tmp_path):
    """A folder for forged logs, removed after the test (they are not records the schema check should see)."""
    yield tmp_path / "forged"
    shutil.rmtree(tmp_path / "forged", ignore_errors=True)
