"""A non-editable install works anywhere: the wheel is built, installed into a fresh virtual
environment outside the checkout, and from there ``gatewatch policy check`` reads the shipped
policies and ``gatewatch replay`` runs a seed scenario whose policy extends the shipped one."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from .conftest import PROJECT


def test_the_wheel_carries_dbc_and_policies_and_runs_outside_the_checkout(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(PROJECT)],
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("gatewatch-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "monitor/_shipped/policies/default.yaml" in names and "monitor/_shipped/dbc/gateway-telematics.dbc" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies come from the project's environment (no network needed); the editable
    # gatewatch there is not activated, since a plain path line does not run its .pth hook.
    Path(site, "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                               capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    gatewatch = env_dir / "bin" / "gatewatch"
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = subprocess.run([str(python), "-c", "import monitor; print(monitor.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(env_dir)), where

    check = subprocess.run([str(gatewatch), "policy", "check", "default", "strict"], cwd=work, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    assert "_shipped/policies/default.yaml: ok" in check.stdout and "_shipped/policies/strict.yaml: ok" in check.stdout

    seed = PROJECT / "seeds" / "policy-trial"
    replay = subprocess.run([str(gatewatch), "replay", str(seed / "can.log"), str(seed / "capture.pcap"),
                             "--config", str(seed / "policy.yaml"), "-o", str(work / "out")],
                            cwd=work, capture_output=True, text=True, check=False)
    assert replay.returncode == 0, replay.stderr
    alerts = [json.loads(line) for path in sorted((work / "out").glob("alerts-*.jsonl")) for line in path.read_text().splitlines()]
    assert {"wire.nmea", "taint.vin", "policy"} <= {a["unmapped"]["gatewatch"]["detector"] for a in alerts}
    assert all(a["class_uid"] == 2004 for a in alerts)
