"""Fleet answers as text: the table aligned under its header with control characters escaped,
CSV with a header and every cell a spreadsheet would run made text, JSON Lines as objects."""

from __future__ import annotations

import csv
import io
import json
import re

from monitor.cli.fleetformat import csv_cell, write

COLUMNS = ["vehicle", "names", "n"]
ROWS = [("car-1", "=cmd|' /C calc'!A0", 3), ("car-22", None, -4), ("car\x1b[2J", ["a", "b"], 0)]


def answer(form: str) -> str:
    out = io.StringIO()
    write(COLUMNS, ROWS, form, out)
    return out.getvalue()


def test_the_table_is_aligned_under_its_header_and_escapes_control_characters() -> None:
    lines = answer("table").splitlines()
    assert lines[0].split() == COLUMNS and set(lines[1].replace(" ", "")) == {"-"}
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    assert [lines[2].index(c) for c in ("car-1", "=cmd", "3")] == starts  # each cell under its column's name
    assert lines[3].index("-4") == starts[2] and lines[3][starts[1]:starts[2]].strip() == ""  # NULL is blank
    assert "\x1b" not in answer("table") and "car\\x1b[2J" in lines[4] and lines[-1] == "(3 rows)"


def test_csv_has_a_header_and_no_cell_a_spreadsheet_would_run() -> None:
    rows = list(csv.reader(io.StringIO(answer("csv"), newline="")))
    assert rows[0] == COLUMNS
    assert rows[1] == ["car-1", "'=cmd|' /C calc'!A0", "3"] and rows[2] == ["car-22", "", "'-4"]
    assert rows[3] == ["car\x1b[2J", '["a", "b"]', "0"]
    assert [csv_cell(c) for c in ("+1", "@x", "\tx", "\rx", "x=1", "")] == ["'+1", "'@x", "'\tx", "'\rx", "x=1", ""]


def test_jsonl_rows_are_objects_keyed_by_column() -> None:
    assert [json.loads(x) for x in answer("jsonl").splitlines()] == [dict(zip(COLUMNS, r)) for r in
                                                                    [list(r) for r in ROWS]]
