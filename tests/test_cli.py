"""The gatewatch command: help, decode output against cantools, one-line errors, bench JSON."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import can
import cantools
import pytest

from monitor.cli import SUBCOMMANDS, main

from .builders import run
from .conftest import PROJECT, corpus

SEED_LOG = PROJECT / "seeds" / "gnss-drive" / "can.log"
GNSS_DBC = PROJECT / "dbc" / "css-electronics" / "gnss.dbc"


def test_help_lists_every_subcommand_and_each_has_help(capsys):
    result = subprocess.run([sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, check=True)
    for name in SUBCOMMANDS:
        assert name in result.stdout
    for argv in (["decode"], ["demo"], ["bench"], ["bench", "can"]):
        assert main([*argv, "--help"]) == 0
        assert capsys.readouterr().out.startswith(f"usage: gatewatch {' '.join(argv)}")


def test_decode_jsonl_matches_cantools_frame_by_frame():
    code, out, err = run("decode", str(SEED_LOG), "--dbc", str(GNSS_DBC))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    db = cantools.database.load_file(str(GNSS_DBC))
    expected = []
    for msg in can.CanutilsLogReader(str(SEED_LOG)):
        try:
            signals = db.decode_message(msg.arbitration_id, msg.data, decode_choices=False)
        except KeyError:
            continue
        expected.append({"timestamp": msg.timestamp, "channel": msg.channel, "arbitration_id": msg.arbitration_id,
                         "is_extended": msg.is_extended_id,
                         "message": db.get_message_by_frame_id(msg.arbitration_id).name,
                         "signals": json.loads(json.dumps(signals))})
    assert records == expected
    assert "4024 frames read, 3013 decoded" in err and "1011 with no DBC entry" in err


def test_decode_filters_signals_and_writes_csv(tmp_path):
    out_file = tmp_path / "pos.csv"
    code, _, err = run("decode", str(SEED_LOG), "--dbc", str(GNSS_DBC), "--signals", "gnss_pos.Latitude,Longitude",
                       "--format", "csv", "-o", str(out_file))
    assert code == 0, err
    with out_file.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["signal"] for r in rows} == {"Latitude", "Longitude"}
    assert {r["message"] for r in rows} == {"gnss_pos"}
    assert len(rows) == 2 * 168
    assert 56.0 < float(rows[0]["value"]) < 56.1


def test_decode_choices_prints_value_table_names():
    code, out, _ = run("decode", str(SEED_LOG), "--dbc", str(GNSS_DBC), "--signals", "PositionValid", "--choices")
    assert code == 0
    values = [json.loads(line)["signals"]["PositionValid"] for line in out.splitlines()]
    db = cantools.database.load_file(str(GNSS_DBC))
    expected = [str(db.decode_message(m.arbitration_id, m.data)["PositionValid"])
                for m in can.CanutilsLogReader(str(SEED_LOG)) if m.arbitration_id == 0x13]
    assert values == expected and set(values) <= {"Valid", "Invalid"}


def test_decode_reports_short_frames_as_errors_with_cantools_reason():
    log = corpus("can/logs/eldominio-canbuslogs/camaro/keyonlog.log")
    dbc = corpus("can/dbc/opendbc/gm_global_a_powertrain_generated.dbc")
    code, out, err = run("decode", str(log), "--dbc", str(dbc))
    assert code == 0
    errors = [json.loads(line) for line in out.splitlines() if '"error"' in line]
    assert errors and all(e["error"].startswith("Wrong data size: ") and "signals" not in e for e in errors)
    assert f"({len(errors)} refused by the DBC rules)" in err


def test_malformed_lines_are_reported_with_file_and_line_and_the_rest_decoded(tmp_path):
    log = tmp_path / "mixed.log"
    good = SEED_LOG.read_text().splitlines()[:30]
    log.write_text("\n".join(good[:10] + ["(12.5) can2 013#XYZW", "garbage"] + good[10:]) + "\n")
    code, out, err = run("decode", str(log), "--dbc", str(GNSS_DBC))
    assert code == 0
    assert f"skipped {log}:11: bad hex digit in data" in err
    assert f"skipped {log}:12: expected '(timestamp)'" in err
    assert "2 malformed lines skipped" in err and "30 frames read" in err
    # Each of the 30 good frames has an id (0x011-0x019) the GNSS DBC defines (BO_ 17-25) with
    # the length it declares: one decoded line each; the two malformed lines give none.
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 30 and all("signals" in row for row in rows)


@pytest.mark.parametrize("argv,needle", [
    (["decode", "x.log", "--dbc", "/nonexistent/file.dbc"], "/nonexistent/file.dbc: DBC file not found"),
    (["decode", "/nonexistent/x.log", "--dbc", str(GNSS_DBC)], "/nonexistent/x.log: no such CAN log"),
    (["decode", "x.pdf", "--dbc", str(GNSS_DBC)], "x.pdf: unknown CAN log format '.pdf'"),
    (["bench", "can", "--frames", "0"], "--frames and --repeat must be positive"),
])
def test_bad_input_is_one_line_on_stderr_without_traceback(argv, needle):
    code, _, err = run(*argv)
    assert code == 1
    assert needle in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_broken_dbc_error_names_file_and_cantools_reason(tmp_path):
    bad = tmp_path / "bad.dbc"
    bad.write_text("BO_ this is not a dbc\n")
    code, _, err = run("decode", str(SEED_LOG), "--dbc", str(bad))
    assert code == 1 and f"{bad}: cantools cannot load this DBC" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    assert main(["decode"]) == 2
    assert "required" in capsys.readouterr().err


def test_bench_can_json_has_the_documented_shape():
    code, out, err = run("bench", "can", "--frames", "3000", "--repeat", "1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["frames"] == 3000 and report["dbc"].endswith("tesla_model3_party.dbc")
    assert set(report["results"]) == {"cantools_decode", "python_can_reader", "python_can_reader+cantools",
                                      "gatewatch_parse", "gatewatch_decode", "gatewatch_end_to_end",
                                      "python_can_asc+cantools", "gatewatch_asc_end_to_end",
                                      "python_can_blf+cantools", "gatewatch_blf_end_to_end"}
    assert all(r["frames_per_s"] > 0 for r in report["results"].values())
    assert report["results"]["gatewatch_asc_end_to_end"]["frames"] == 3000  # every frame of the file read
    assert report["results"]["gatewatch_blf_end_to_end"]["frames"] == 3000
    assert set(report["ratios"]) == {"decode_vs_cantools", "end_to_end_vs_python_can_cantools",
                                     "asc_end_to_end_vs_python_can_cantools", "blf_end_to_end_vs_python_can_cantools"}


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
