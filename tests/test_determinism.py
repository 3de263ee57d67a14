"""The same recordings and configuration give byte-identical logs whatever PYTHONHASHSEED.

Each seed folder is replayed by ``gatewatch replay`` in two processes with different hash seeds
(1 and 987654: under those two, the episodes of one JT/T 808 flow used to close in different
orders, when they were kept in a set). Every file written is compared byte for byte, except
stats.json: it is compared as JSON without the keys that say when or by which process it was
written or how long a step took (a replay writes the clock comparison's ``elapsed_s``; the daemon
writes ``uptime_s``), since those differ between two honest runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.scenarios import RECORDING_SUFFIXES, load_scenario

from .conftest import PROJECT

HASH_SEEDS = ("1", "987654")
WALL_CLOCK_KEYS = frozenset({"uptime_s", "pid", "written_at", "started_at", "elapsed_s"})
FOLDERS = sorted(p for p in (PROJECT / "seeds").iterdir()
                 if p.is_dir() and any(f.suffix in RECORDING_SUFFIXES for f in p.iterdir()))


def replay_args(folder: Path) -> list[str]:
    """The seed's recordings, configuration and vehicle as tests/test_seeds.py runs them; a
    folder without expect.yaml runs under its config.yaml or policy.yaml, else the default."""
    recordings = sorted(str(p) for p in folder.iterdir() if p.suffix in RECORDING_SUFFIXES)
    if (folder / "expect.yaml").is_file():
        scenario = load_scenario(folder)
        return [*recordings, "--config", str(scenario.config), "--vehicle-id", scenario.vehicle]
    configs = [folder / n for n in ("config.yaml", "policy.yaml") if (folder / n).is_file()]
    return [*recordings, *(["--config", str(configs[0])] if configs else []), "--vehicle-id", folder.name]


def replay(folder: Path, output: Path, hash_seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, "-m", "monitor", "replay", *replay_args(folder), "-o", str(output)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return {p.name: p.read_bytes() for p in sorted(output.iterdir()) if p.is_file()}


def without_wall_clock(value):
    if isinstance(value, dict):
        return {k: without_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK_KEYS}
    if isinstance(value, list):
        return [without_wall_clock(v) for v in value]
    return value


def test_every_seed_folder_is_replayed():
    assert len(FOLDERS) >= 12 and {"jt808-untrusted", "gnss-drive", "policy-trial"} <= {f.name for f in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_a_seed_replays_byte_for_byte_the_same_under_any_hash_seed(folder, tmp_path):
    first, second = (replay(folder, tmp_path / f"hash-{seed}", seed) for seed in HASH_SEEDS)
    assert sorted(first) == sorted(second)
    assert any(n.startswith("flows-") for n in first) and any(n.startswith("dns-") for n in first)
    for name in first:
        if name == "stats.json":
            assert without_wall_clock(json.loads(first[name])) == without_wall_clock(json.loads(second[name]))
        else:
            assert first[name] == second[name], f"{folder.name}/{name} differs between PYTHONHASHSEED {HASH_SEEDS}"
