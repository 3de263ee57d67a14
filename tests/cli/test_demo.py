"""``gatewatch demo``: every scenario, its logs, report and summary; a difference fails it."""

from __future__ import annotations

from ..builders import run
from ..conftest import PROJECT


def test_demo_shows_every_scenario_its_logs_report_and_summary(tmp_path):
    code, out, err = run("demo", "-o", str(tmp_path))
    assert code == 0, err
    assert "check: OK" in out and "168 fixes" in out  # step 1: the decoder on a real drive
    assert len((tmp_path / "decode" / "decoded.jsonl").read_text().splitlines()) == 3013
    scenarios = sorted(p.parent.name for p in (PROJECT / "seeds").glob("*/expect.yaml"))
    for name in scenarios:
        assert f"-- {name}: " in out and any((tmp_path / "logs" / name).glob(f"alerts-{name}-*.jsonl")) != (name == "clean-drive")
    assert f"expectations: {len(scenarios)} of {len(scenarios)} scenarios hold" in out
    assert "block  geolocation  wire.jt808" in out and "[rule position-elsewhere]" in out
    assert (tmp_path / "report.html").read_text().count('<tr class="alert" ') >= 20
    assert "by vehicle:" in out


def test_demo_fails_when_results_differ(tmp_path, monkeypatch):
    from monitor.cli import decodecheck

    monkeypatch.setattr(decodecheck, "DBC", "dbc/opendbc/tesla_model3_party.dbc")
    code, _, err = run("demo", "-o", str(tmp_path))
    assert code == 1 and "results differ" in err


def test_the_demos_alert_lines_name_the_destination_country(tmp_path):
    from monitor.cli.demo import _scenario
    from monitor.scenarios import load_scenario, run_scenario

    outcome = run_scenario(load_scenario(PROJECT / "seeds" / "countries-of-concern"), tmp_path / "logs")
    lines = _scenario(outcome).strip().splitlines()[1:]  # after the scenario line
    assert lines and all(line.startswith("   alert") for line in lines)
    by_place = {line.split()[3].rsplit(":", 1)[0]: line.split()[4] for line in lines}
    assert by_place == {"tiles.hk-maps.example": "HK", "218.2.2.2": "CN", "5.255.255.5": "RU"}
