"""Property-based fuzzing of every reader of outside input (lab/fuzz.py): random
bytes and mutations of real seeds may only raise the reader's documented errors, and each
input stays within a budget of CPU time and memory. ``make fuzz`` runs the same targets
coverage-guided with atheris, far longer; the crashes either found stay below as examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.fuzz import Target, targets
from tests.hostile.budget import within_budget

TARGETS = {target.name: target for target in targets()}
#: Inputs per target in the suite (files and cantools cost milliseconds each, parsers microseconds).
EXAMPLES = {"dbc": 40, "config_yaml": 60, "asc": 60, "blf": 60, "trc": 60, "l2_l4_fragments_flows_apps": 80}
SEEDS = {name: target.seeds() for name, target in TARGETS.items()}


def _mutate(seed: bytes, edits: list[tuple[int, int]], cut: int, mode: int) -> bytes:
    data = bytearray(seed)
    for at, value in edits:
        if data:
            data[at % len(data)] = value
    if mode == 1 and data:
        del data[cut % len(data):]  # truncated
    elif mode == 2:
        data[cut % (len(data) + 1):cut % (len(data) + 1)] = bytes([edits[0][1] if edits else 0xFF]) * 64
    return bytes(data)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    mutated = st.builds(_mutate, st.sampled_from(SEEDS[name]),
                        st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=12),
                        st.integers(0, 1 << 16), st.sampled_from([0, 1, 2]))
    return st.one_of(mutated, st.binary(max_size=1024))


def _fuzz(target: Target, data: bytes) -> None:
    with within_budget(f"{target.name} on {len(data)} bytes", cpu_s=3.0, megabytes=64):
        try:
            target.run(data)
        except target.allowed:
            pass


@pytest.mark.parametrize("name", list(TARGETS))
def test_only_documented_errors_within_budget(name: str) -> None:
    target = TARGETS[name]

    # derandomize: the same inputs on every run, so CI is repeatable; make fuzz and make hostile explore.
    @settings(max_examples=EXAMPLES.get(name, 200), deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(inputs(name))
    def fuzz(data: bytes) -> None:
        _fuzz(target, data)

    fuzz()


def test_every_target_has_seeds_from_the_project() -> None:
    assert all(SEEDS[name] and all(SEEDS[name]) for name in TARGETS), {n: len(s) for n, s in SEEDS.items()}


FOUND = sorted((Path(__file__).resolve().parents[1] / "data" / "fuzz").glob("*/*"))


@pytest.mark.parametrize("found", FOUND, ids=[f"{p.parent.name}/{p.name}" for p in FOUND])
def test_inputs_the_fuzzers_found_stay_fixed(found: Path) -> None:
    """Each input a fuzz run once crashed or stalled on (tests/data/fuzz/<target>/), run again."""
    _fuzz(TARGETS[found.parent.name], found.read_bytes())
