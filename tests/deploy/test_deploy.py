"""deploy/: the systemd unit passes `systemd-analyze verify` and scores 2.0 or lower in
`systemd-analyze security --offline=true`; install.sh installs (twice: idempotent, keeping the
configuration) and uninstall.sh removes, on this machine as root, without starting capture."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import PROJECT

DEPLOY = PROJECT / "deploy"


def analyze() -> str:
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("needs systemd-analyze (Debian package systemd; deploy/setup-dev.sh installs it as root)")
    return binary


def exposure(unit: Path) -> float:
    done = subprocess.run([analyze(), "security", "--offline=true", str(unit)], capture_output=True, text=True, check=False)
    match = re.search(r"Overall exposure level for gatewatch\.service: (\d+\.\d)", done.stdout)
    assert match, done.stdout[-2000:] + done.stderr[-2000:]
    return float(match.group(1))


def test_the_unit_is_hardened_to_an_exposure_of_2_or_lower(tmp_path):
    unit = tmp_path / "gatewatch.service"
    shutil.copy(DEPLOY / "gatewatch.service", unit)
    score = exposure(unit)
    print(f"systemd-analyze security --offline=true: exposure {score}")
    assert score <= 2.0
    text = unit.read_text()
    for setting in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                    "PrivateTmp=yes", "PrivateDevices=yes", "MemoryDenyWriteExecute=yes", "LockPersonality=yes",
                    "SystemCallFilter=@system-service", "StateDirectory=gatewatch", "LogsDirectory=gatewatch",
                    "ConfigurationDirectory=gatewatch", "RestartPreventExitStatus=1 2",
                    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_CAN",
                    "AmbientCapabilities=CAP_NET_RAW\n", "CapabilityBoundingSet=CAP_NET_RAW\n"):
        assert setting in text, setting
    assert "CAP_NET_ADMIN" in (DEPLOY / "gatewatch.service.d" / "enforce.conf").read_text()
    assert "CAP_NET_ADMIN" not in text.split("[Service]")[1].replace("#", "\n#").split("\n#")[0]


def installed_nowhere() -> None:
    if os.geteuid() != 0:
        pytest.skip("install.sh needs root (CI runs as root)")
    for path in ("/opt/gatewatch", "/etc/gatewatch", "/etc/systemd/system/gatewatch.service"):
        if Path(path).exists():
            pytest.skip(f"{path} exists: an installation on this machine is not the test's to touch")
    if subprocess.run(["id", "-u", "gatewatch"], capture_output=True, check=False).returncode == 0:
        pytest.skip("a gatewatch user exists on this machine: not the test's to touch")


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", *args], capture_output=True, text=True, check=False, timeout=600)


def test_install_is_idempotent_and_uninstall_removes_it():
    installed_nowhere()
    try:
        first = sh(str(DEPLOY / "install.sh"))
        assert first.returncode == 0, first.stderr[-3000:]
        config = Path("/etc/gatewatch/gatewatch.yaml")
        config.write_text(config.read_text().replace("vehicle-0001", "test-van-9"))  # the operator's edit
        again = sh(str(DEPLOY / "install.sh"), "--enforce")
        assert again.returncode == 0, again.stderr[-3000:]
        assert "test-van-9" in config.read_text()  # kept
        assert Path("/etc/gatewatch/policies/strict.yaml").is_file()
        assert Path("/etc/systemd/system/multi-user.target.wants/gatewatch.service").is_symlink()
        assert Path("/etc/systemd/system/gatewatch.service.d/enforce.conf").is_file()
        verify = subprocess.run([analyze(), "verify", "/etc/systemd/system/gatewatch.service"],
                                capture_output=True, text=True, check=False)
        assert verify.returncode == 0, verify.stderr
        # The service user can run the daemon's configuration (a dry run: no capture, no kernel change).
        dry = subprocess.run(["runuser", "-u", "gatewatch", "--", "/opt/gatewatch/venv/bin/gatewatch", "run",
                              "--config", str(config), "--dry-run"], capture_output=True, text=True, check=False)
        assert dry.returncode == 0 and "monitor mode: nothing would be applied" in dry.stderr, dry.stderr
        assert sh(str(DEPLOY / "install.sh")).returncode == 0  # back to monitor mode: the drop-in goes
        assert not Path("/etc/systemd/system/gatewatch.service.d/enforce.conf").exists()
        kept = sh(str(DEPLOY / "uninstall.sh"))
        assert kept.returncode == 0 and not Path("/opt/gatewatch").exists() and config.exists()
        assert not Path("/etc/systemd/system/gatewatch.service").exists()
        assert not Path("/etc/systemd/system/multi-user.target.wants/gatewatch.service").exists()
    finally:
        purged = sh(str(DEPLOY / "uninstall.sh"), "--purge")
    assert purged.returncode == 0 and not Path("/etc/gatewatch").exists()
    assert subprocess.run(["id", "-u", "gatewatch"], capture_output=True, check=False).returncode != 0
