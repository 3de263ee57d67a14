"""Fixtures for the detector tests: a Monitor over a config, run on recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.pipeline import Monitor, Sinks, load_config, replay

from ..conftest import PROJECT


def run_monitor(can_logs=(), captures=(), config: Path | None = None, detectors=None) -> tuple[list, Monitor]:
    findings: list = []
    monitor = Monitor(load_config(config), Sinks(stats=findings.append), detectors)
    replay(monitor, [Path(p) for p in can_logs], [Path(p) for p in captures])
    return findings, monitor


@pytest.fixture
def config_with(tmp_path):
    """A config file: the shipped default plus extra top-level YAML."""
    def make(extra: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text((PROJECT / "policies" / "default.yaml").read_text() + "\n" + extra)
        return path
    return make
