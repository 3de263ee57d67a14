"""A non-editable install works anywhere and carries no test lab: the wheel is built, its files
listed, and it is installed into a fresh virtual environment outside the checkout, from where
``gatewatch policy check`` reads the shipped policies, ``gatewatch replay`` runs a seed scenario
whose policy extends the shipped one, and ``gatewatch bench can`` writes only where it is told."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import PROJECT

#: The on-target timing modules bench keeps, and the builders monitor/testing holds.
BENCH = {"can", "canfiles", "canlive", "contenders", "daemon", "fleet", "net"}
TESTING = {"oracle", "scene", "frames", "drive", "vehicle", "episodes", "episodes_remote", "quicwire", "pcapngwire", "mosquitto"}
#: The development lab's modules: none of them, under any folder, may be in the wheel.
#: Read from lab/ itself, so a new lab module is covered the day it is added ("detect" was bench/detect.py).
LAB = {path.stem for path in (PROJECT / "lab").glob("*.py")} - {"__init__"} | {"detect"}


class Installed:
    def __init__(self, root: Path) -> None:
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(PROJECT)],
                               capture_output=True, text=True, check=False)
        assert built.returncode == 0, built.stderr
        self.wheel = next((root / "dist").glob("gatewatch-*.whl"))
        self.names = zipfile.ZipFile(self.wheel).namelist()
        self.env = root / "env"
        venv.create(self.env, with_pip=False)
        self.python = self.env / "bin" / "python"
        self.site = Path(subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        capture_output=True, text=True, check=True).stdout.strip())
        # The dependencies come from the project's environment (no network needed); the editable
        # gatewatch there is not activated, since a plain path line does not run its .pth hook.
        (self.site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
        installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q", "--no-deps", str(self.wheel)],
                                   capture_output=True, text=True, check=False)
        assert installed.returncode == 0, installed.stderr
        self.gatewatch = self.env / "bin" / "gatewatch"
        self.work = root / "elsewhere"
        self.work.mkdir()

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.gatewatch), *argv], cwd=self.work, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_dbc_policies_bench_and_testing_and_no_lab(installed):
    names = installed.names
    assert "monitor/_shipped/policies/default.yaml" in names and "monitor/_shipped/dbc/gateway-telematics.dbc" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    modules = [Path(name) for name in names if name.endswith(".py")]
    assert {p.stem for p in modules if p.parent == Path("monitor/bench")} == BENCH | {"__init__"}
    assert {p.stem for p in modules if p.parent == Path("monitor/testing")} == TESTING | {"__init__"}
    assert [str(p) for p in modules if p.parts[0] != "monitor"] == []  # no lab/, no tests/, no seeds/
    assert [str(p) for p in modules if p.stem in LAB] == []
    assert "monitor/testing.py" not in names  # the module the package replaced (a stale build/ once kept it)


def test_the_installed_wheel_runs_outside_the_checkout(installed):
    where = subprocess.run([str(installed.python), "-c", "import monitor; print(monitor.__file__)"], cwd=installed.work,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(installed.site / "monitor")), where

    check = installed.run("policy", "check", "default", "strict")
    assert check.returncode == 0, check.stderr
    assert "_shipped/policies/default.yaml: ok" in check.stdout and "_shipped/policies/strict.yaml: ok" in check.stdout

    seed = PROJECT / "seeds" / "policy-trial"
    out = installed.work / "out"
    replay = installed.run("replay", str(seed / "can.log"), str(seed / "capture.pcap"), "--config", str(seed / "policy.yaml"), "-o", str(out))
    assert replay.returncode == 0, replay.stderr
    alerts = [json.loads(line) for path in sorted(out.glob("alerts-*.jsonl")) for line in path.read_text().splitlines()]
    assert {"wire.nmea", "taint.vin", "policy"} <= {a["unmapped"]["gatewatch"]["detector"] for a in alerts}
    assert all(a["class_uid"] == 2004 for a in alerts)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if "__pycache__" not in p.parts} if folder.exists() else set()


def test_bench_from_the_wheel_writes_only_to_its_out_folder(installed):
    """PROJECT_ROOT is site-packages/ in an installed wheel: a bench once wrote its workloads there."""
    site_before, checkout_out = files_under(installed.site), files_under(PROJECT / "out")
    bench_out = installed.work / "bench-out"
    can = installed.run("bench", "can", "--frames", "2000", "--repeat", "1", "--json", "--out", str(bench_out))
    assert can.returncode == 0, can.stderr
    report = json.loads(can.stdout)
    assert report["results"]["gatewatch_end_to_end"]["frames"] == 2000
    assert {p.name for p in bench_out.iterdir()} == {"can-workload-2000.log", "workload.asc", "workload.blf"}
    assert len((bench_out / "can-workload-2000.log").read_text().splitlines()) == 2000

    net = installed.run("bench", "net")  # neither a capture nor a corpus: it says what it needs, in one line
    assert net.returncode == 1 and net.stderr.count("\n") == 1, net.stderr
    assert "give a CAPTURE to time, or --corpus DIR" in net.stderr
    assert files_under(installed.site) == site_before and files_under(PROJECT / "out") == checkout_out
    assert {p.name for p in installed.work.iterdir()} <= {"bench-out", "out"}  # nothing in the working folder either


def test_the_lab_commands_are_not_in_the_installed_cli(installed):
    for gone in ("detect", "road", "hostile"):
        result = installed.run("bench", gone)
        assert result.returncode == 2 and f"invalid choice: '{gone}'" in result.stderr


def test_the_wheel_carries_the_native_core_and_says_so(installed):
    """The compiled core is in the wheel (where it is required, as in CI) and the installed
    gatewatch names the core it runs."""
    cores = [n for n in installed.names if n.startswith("monitor/native/_core.") and n.endswith(".so")]
    if os.environ.get("GATEWATCH_NATIVE_REQUIRED") == "1":
        assert cores, "the wheel has no compiled core"
    version = installed.run("--version")
    assert version.returncode == 0, version.stderr
    assert f"core {'native' if cores else 'numpy'}" in version.stdout
