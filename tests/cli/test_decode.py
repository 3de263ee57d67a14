"""``gatewatch decode``: output against cantools frame by frame (JSONL, CSV, choices), short and
malformed frames reported with file and line; ``--dbc`` takes a shipped DBC by name, as policies
take one; a file of that name wins; an unknown name is one line listing the shipped ones, exit 2."""

from __future__ import annotations

import csv
import json
import os

import can
import cantools
import pytest

from ..builders import run
from ..conftest import PROJECT, corpus

SEED_LOG = PROJECT / "seeds" / "gnss-drive" / "can.log"
GNSS_DBC = PROJECT / "dbc" / "css-electronics" / "gnss.dbc"
SHIPPED = "gateway-telematics, gnss, j1939-vehicle-position, nmea2000-position, tesla_model3_party"


@pytest.mark.parametrize("name", ["gnss", "gnss.dbc", "dbc/css-electronics/gnss.dbc"])
def test_a_shipped_dbc_by_name_decodes_as_its_file_does(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no such file here: the name means the shipped one
    by_file = run("decode", str(SEED_LOG), "--dbc", str(GNSS_DBC))
    by_name = run("decode", str(SEED_LOG), "--dbc", name)
    assert by_name == by_file and by_name[0] == 0
    assert "4024 frames read, 3013 decoded" in by_name[2]


def test_a_file_of_that_name_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gnss").write_text("VERSION \"\"\n")  # a DBC with no messages
    code, out, err = run("decode", str(SEED_LOG), "--dbc", "gnss")
    assert (code, out) == (0, "") and "4024 frames read, 0 decoded" in err


@pytest.mark.parametrize("name", ["gnss2", "no-such.dbc", "dbc/no-such.dbc"])
def test_an_unknown_name_is_one_line_listing_the_shipped_ones_exit_2(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("decode", str(SEED_LOG), "--dbc", name)
    assert (code, out) == (2, "")
    assert err == f"gatewatch decode: --dbc {name!r}: no such file, and no shipped DBC of that name (shipped: {SHIPPED})\n"


def test_a_missing_path_is_still_a_missing_file(tmp_path):
    missing = os.path.join(tmp_path, "nowhere", "x.dbc")
    code, _, err = run("decode", str(SEED_LOG), "--dbc", missing)
    assert code == 1 and err == f"gatewatch decode: error: {missing}: DBC file not found\n"


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


def test_broken_dbc_error_names_file_and_cantools_reason(tmp_path):
    bad = tmp_path / "bad.dbc"
    bad.write_text("BO_ this is not a dbc\n")
    code, _, err = run("decode", str(SEED_LOG), "--dbc", str(bad))
    assert code == 1 and f"{bad}: cantools cannot load this DBC" in err and "Traceback" not in err
