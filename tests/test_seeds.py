"""Every seed scenario (a folder under seeds/ with expect.yaml) replays into exactly the
alerts its expect.yaml names: a new regression is a new folder."""

from __future__ import annotations

import pytest

from monitor.errors import PolicyError
from monitor.scenarios import load_scenario, run_scenario, scenario_folders

from .conftest import PROJECT

SEEDS = scenario_folders(PROJECT / "seeds")


def test_there_are_seed_scenarios():
    assert len(SEEDS) >= 9


@pytest.mark.parametrize("folder", SEEDS, ids=[f.name for f in SEEDS])
def test_seed_scenario_meets_its_expectations(folder, tmp_path):
    outcome = run_scenario(load_scenario(folder), tmp_path / folder.name)
    assert outcome.ok, "\n".join(outcome.problems)


def test_a_broken_expectation_is_reported_with_its_line(tmp_path):
    folder = tmp_path / "copy"
    source = PROJECT / "seeds" / "can-fabrication"
    folder.mkdir()
    for name in ("can.log", "config.yaml"):
        (folder / name).write_bytes((source / name).read_bytes())
    (folder / "expect.yaml").write_text("config: config.yaml\nalerts:\n  - {detector: can.timing, episodes: 2}\n"
                                        "absent:\n  - {category: can}\n")
    problems = run_scenario(load_scenario(folder), tmp_path / "out").problems
    assert any("expect.yaml:3:5" in p and "1 episode(s), expected 2" in p for p in problems), problems
    assert any("expect.yaml:5:5" in p and "must not come out" in p for p in problems), problems


@pytest.mark.parametrize("value", [".nan", "1e400", "[1]", "-5", "true", '"18"', "2.5"])
def test_an_expectation_count_is_a_whole_number_or_one_line_naming_its_place(tmp_path, value):
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "config.yaml").write_bytes((PROJECT / "seeds" / "can-fabrication" / "config.yaml").read_bytes())
    (folder / "expect.yaml").write_text(f"config: config.yaml\nalerts:\n  - {{detector: can.timing, min_hits: {value}}}\n")
    with pytest.raises(PolicyError, match=r"expect.yaml:3:\d+: min_hits is a whole number"):
        load_scenario(folder)
