"""A fleet answer (column names and rows) as text: ``table`` (a header and aligned columns, for
people), ``csv`` (a header row, for spreadsheets) or ``jsonl`` (one object per row, for programs).

CSV cells go to spreadsheets, which run a cell starting with = + - @ (or a tab or carriage return
before one) as a formula: a destination name or message chosen by whoever sends the data could
do that. Such a cell is written with a leading apostrophe (OWASP's CSV-injection advice), numbers
too (a negative number as text is the price of never running one); the other formats are as is.
"""

from __future__ import annotations

import csv
import json
from typing import TextIO

FORMATS = ("table", "csv", "jsonl")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def csv_cell(value: object) -> str:
    cell = text(value)
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def write(columns: list[str], rows: list[tuple], form: str, out: TextIO) -> None:
    if form == "csv":
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; with "\n" alone a CR in a cell went unquoted
        writer.writerow([csv_cell(c) for c in columns])
        writer.writerows([csv_cell(v) for v in row] for row in rows)
    elif form == "jsonl":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str), file=out)
    else:
        _table(columns, rows, out)


def _table(columns: list[str], rows: list[tuple], out: TextIO) -> None:
    """Columns as wide as their widest cell; control characters shown escaped (a name from the
    network must not move the terminal's cursor)."""
    cells = [[_printable(text(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    for line in [list(columns), ["-" * w for w in widths], *cells]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip(), file=out)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


def _printable(cell: str) -> str:
    return cell if cell.isprintable() else cell.encode("unicode_escape").decode("ascii")
