"""``gatewatch run --dry-run`` on the shipped policies, byte for byte against golden files
(tests/data/dry-run/): a change to the nftables ruleset shows up here as a diff to review.
Regenerate with: gatewatch run --config NAME --dry-run > tests/data/dry-run/NAME.json"""

from __future__ import annotations

import json

import pytest

from monitor.cli import main

from ..conftest import PROJECT

GOLDEN = PROJECT / "tests" / "data" / "dry-run"


@pytest.mark.parametrize("name", ["default", "strict", "countries-of-concern", "countries-of-concern-enforce"])
def test_dry_run_of_a_shipped_policy_matches_its_golden_file(name, capsys):
    assert main(["run", "--config", name, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out == (GOLDEN / f"{name}.json").read_text()
    commands = json.loads(out)["nftables"]
    if name.endswith(("strict", "enforce")):  # enforce: one transaction that replaces the table
        assert [next(iter(c)) for c in commands[:3]] == ["add", "delete", "add"]
    else:  # monitor mode: nothing for the kernel
        assert commands == []
