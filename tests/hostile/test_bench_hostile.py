"""``gatewatch bench hostile`` runs end to end on a small workload and prints its figures, as
JSON for scripts; every crafted input is held (refused or counted, no traceback)."""

from __future__ import annotations

import json

from tests.builders import run


def test_bench_hostile_reports_every_part_and_holds() -> None:
    code, out, err = run("bench", "hostile", "--kills", "2", "--inputs", "5", "--flows", "500", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert len(report["crafted"]) >= 20 and all(row["held"] for row in report["crafted"])
    assert {"dbc", "pcapng", "quic", "alert_log", "config_yaml"} <= set(report["fuzz"])
    assert all(t["inputs"] == 5 and not t["unexpected_errors"] for t in report["fuzz"].values())
    assert report["kills"]["kills"] == 2 and report["kills"]["chain_ok"] and report["kills"]["problems"] == []
    assert report["load"]["status"] == 0 and report["load"]["created"] == 500
