"""``make hostile`` (``python -m lab.hostile``) runs end to end on a small workload and prints its figures, as
JSON for scripts; every crafted input is held (refused or counted, no traceback) and printed
with its time and peak RSS, within the budget unless its class names why not."""

from __future__ import annotations

import json

from lab.hostile import format_report
from lab.hostile_inputs import HOSTILE
from tests.builders import lab


def test_lab_hostile_reports_every_part_and_holds() -> None:
    code, out, err = lab("hostile", "--kills", "2", "--inputs", "5", "--flows", "500", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [row["name"] for row in report["crafted"]] == [h.name for h in HOSTILE]  # every class, in order
    assert all(row["held"] for row in report["crafted"])
    assert all(row["within_budget"] for row in report["crafted"])
    assert all(row["cpu_seconds"] > 0 and row["peak_rss_mb"] > 0 for row in report["crafted"])
    text = format_report(report)
    assert all(f"  {h.name} " in text for h in HOSTILE) and "budget 15 CPU s, 300 MB" in text
    assert {"dbc", "pcapng", "quic", "alert_log", "config_yaml"} <= set(report["fuzz"])
    assert all(t["inputs"] == 5 and not t["unexpected_errors"] for t in report["fuzz"].values())
    assert report["kills"]["kills"] == 2 and report["kills"]["chain_ok"] and report["kills"]["problems"] == []
    assert report["load"]["status"] == 0 and report["load"]["created"] == 500


def test_lab_hostile_refuses_a_zero_budget_in_one_line() -> None:
    code, out, err = lab("hostile", "--kills", "0")
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == "python -m lab.hostile: error: --kills, --inputs and --flows must be at least 1"
