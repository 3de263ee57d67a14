"""``gatewatch fleet query``: the list of named questions, and a question over vehicles' alert
folders on the command line; a bad broker URL is a one-line error."""

from __future__ import annotations

from pathlib import Path

from tests.builders import run

PROJECT = Path(__file__).resolve().parents[2]


def test_fleet_query_lists_and_answers_over_vehicle_folders(tmp_path: Path) -> None:
    code, out, err = run("fleet", "query", "--list")
    assert code == 0 and "chain-gaps-per-vehicle" in out and "top-destinations" in out, err
    seed = PROJECT / "seeds" / "taint-leak"
    code, _, err = run("replay", "--config", str(seed / "config.yaml"), "-o", str(tmp_path / "car"), "--vehicle-id", "car-1",
                       str(seed / "can.log"), str(seed / "capture.pcap"))
    assert code == 0, err
    code, out, err = run("fleet", "query", "chain-gaps-per-vehicle", str(tmp_path))
    assert code == 0, err
    assert out.splitlines() == ["car-1\t1\t8\t8\t0"]
    code, _, err = run("fleet", "query", "no-such-question", str(tmp_path))
    assert code == 1 and "no fleet query 'no-such-question'" in err


def test_a_bad_broker_url_is_one_line(tmp_path: Path) -> None:
    code, _, err = run("collect", "--broker", "http://example.com", "-o", str(tmp_path))
    assert code == 1 and err.strip().endswith("a broker is mqtt://host[:port] or mqtts://host[:port]")


def test_the_vehicle_model_reaches_the_records_and_the_model_question(tmp_path: Path) -> None:
    config = tmp_path / "model.yaml"
    config.write_text("version: 1\nextends: default\nalerts: {vehicle_id: car-2, vehicle_model: EX30 2025}\n")
    seed = PROJECT / "seeds" / "taint-leak"
    code, _, err = run("replay", "--config", str(config), "-o", str(tmp_path / "car"), str(seed / "capture.pcap"))
    assert code == 0, err
    code, out, err = run("fleet", "query", "detector-rates-per-model", str(tmp_path / "car"), "--json")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line]
    assert rows and all(line.startswith('["EX30 2025", ') for line in rows)
