"""``gatewatch fleet query``: the list of named questions, a question over vehicles' alert folders
on the command line with its header in each format, ``--sql`` (read-only, errors in one line,
CSV cells a spreadsheet would run made text). Over a collector's folder: tests/fleet/test_tables.py."""

from __future__ import annotations

import csv
import io
import json
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
    assert out.splitlines() == ["vehicle  first_seq  last_seq  records  missing",
                                "-------  ---------  --------  -------  -------",
                                "car-1    1          8         8        0", "(1 row)"]
    code, out, err = run("fleet", "query", "chain-gaps-per-vehicle", str(tmp_path), "--format", "csv")
    assert code == 0 and out.splitlines() == ["vehicle,first_seq,last_seq,records,missing", "car-1,1,8,8,0"], err
    code, out, err = run("fleet", "query", "chain-gaps-per-vehicle", str(tmp_path), "--format", "jsonl")
    assert code == 0 and [json.loads(x) for x in out.splitlines()] == [
        {"vehicle": "car-1", "first_seq": 1, "last_seq": 8, "records": 8, "missing": 0}], err
    code, _, err = run("fleet", "query", "no-such-question", str(tmp_path))
    assert code == 1 and "no fleet query 'no-such-question'" in err


def test_the_vehicle_model_reaches_the_records_and_the_model_question(tmp_path: Path) -> None:
    config = tmp_path / "model.yaml"
    config.write_text("version: 1\nextends: default\nalerts: {vehicle_id: car-2, vehicle_model: EX30 2025}\n")
    seed = PROJECT / "seeds" / "taint-leak"
    code, _, err = run("replay", "--config", str(config), "-o", str(tmp_path / "car"), str(seed / "capture.pcap"))
    assert code == 0, err
    code, out, err = run("fleet", "query", "detector-rates-per-model", str(tmp_path / "car"), "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(row["model"] == "EX30 2025" for row in rows)


def test_sql_runs_over_the_view_read_only_and_its_csv_cannot_run_in_a_spreadsheet(tmp_path: Path) -> None:
    seed = PROJECT / "seeds" / "taint-leak"
    code, _, err = run("replay", "--config", str(seed / "config.yaml"), "-o", str(tmp_path / "car"), "--vehicle-id", "car-1",
                       str(seed / "can.log"), str(seed / "capture.pcap"))
    assert code == 0, err
    hostile = "SELECT vehicle, '=HYPERLINK(\"http://x\")' AS a, '@SUM(1)' AS b, '-2+3' AS c, chr(9) || '=1' AS d, " \
              "'+1' AS e, chr(13) || '=1' AS f, 'plain' AS g FROM alerts LIMIT 1"
    code, out, err = run("fleet", "query", "--sql", hostile, str(tmp_path), "--format", "csv")
    assert code == 0, err
    [header, row] = list(csv.reader(io.StringIO(out, newline="")))
    assert header == ["vehicle", "a", "b", "c", "d", "e", "f", "g"]
    assert row == ["car-1", "'=HYPERLINK(\"http://x\")", "'@SUM(1)", "'-2+3", "'\t=1", "'+1", "'\r=1", "plain"]
    code, out, err = run("fleet", "query", "--sql", "WITH c AS (SELECT category FROM alerts) SELECT COUNT(*) AS n FROM c",
                         str(tmp_path), "--format", "jsonl")
    assert code == 0 and json.loads(out) == {"n": 8}, err
    for sql, says in (("DELETE FROM alerts", "starts with 'DELETE'"),
                      ("COPY (SELECT 1) TO '/tmp/x.csv'", "starts with 'COPY'"),
                      ("SELECT 1; DROP VIEW alerts", "one query only"),
                      ("SELECT * FROM alerts WHERE 1 = (SELECT 1 FROM (INSTALL httpfs))", "INSTALL is not allowed"),
                      ("SELECT no_such_column FROM alerts", "no_such_column"),
                      ("SELECT 'unterminated FROM alerts", "unterminated"),
                      # no extension is fetched or loaded for a query (httpfs would reach the network)
                      ("SELECT * FROM read_csv('https://example.com/x.csv')", "httpfs")):
        code, _, err = run("fleet", "query", "--sql", sql, str(tmp_path))
        assert code == 1 and len(err.strip().splitlines()) == 1 and says in err, (sql, err)
    settings = "SELECT current_setting('autoinstall_known_extensions') AS fetching, current_setting('autoload_known_extensions') AS loading"
    code, out, err = run("fleet", "query", "--sql", settings, str(tmp_path), "--format", "jsonl")
    assert code == 0 and json.loads(out) == {"fetching": False, "loading": False}, (out, err)
