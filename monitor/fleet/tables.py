"""The fleet folder's Parquet table: ``tables/alerts/day=YYYY-MM-DD/vehicle=ID/part-0.parquet``,
one file per partition, rewritten whole from the partition's ``rows.jsonl`` (the rows the
collector appends as records arrive) with the one schema of schema.py.

The table has a folder of its own so that it holds nothing but Parquet: Spark and pandas read a
folder as a dataset and stop at the first file that is not Parquet (the records, the stats, the
quarantine live beside it). ``read_parquet('DIR/**/*.parquet')`` in DuckDB, ``spark.read.parquet
('DIR/tables/alerts')`` and ``pandas.read_parquet('DIR/tables/alerts')`` read the same rows.

A file is written to a temporary name and renamed, so a reader sees the old file or the new one,
never half of one. Older collectors wrote ``rows.parquet`` beside ``rows.jsonl`` with types
inferred from each file's values; ``migrate`` writes the table from the rows and removes them.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

from ..errors import ConfigError
from .schema import arrow_schema, check_file, conform

log = logging.getLogger(__name__)

TABLE = Path("tables") / "alerts"
ROWS = "day=*/vehicle=*/rows.jsonl"
LEGACY = "day=*/vehicle=*/rows.parquet"  # an older collector's, types inferred


def table_file(out: Path, partition: Path) -> Path:
    """The Parquet file of a partition folder (``out/day=.../vehicle=...``)."""
    return out / TABLE / partition.parent.name / partition.name / "part-0.parquet"


def read_rows(path: Path, counts: Counter) -> list[dict]:
    """A partition's rows, conformed; a line that is not a JSON object is skipped, counted
    (``rows_unreadable``) and named with its line number in the log."""
    rows = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
            except ValueError as error:
                row = str(error)
            if not isinstance(row, dict):
                counts["rows_unreadable"] += 1
                log.warning("%s:%d: not a row (%s), left out of the table", path, number, row if isinstance(row, str)
                            else "not a JSON object")
                continue
            counts["row_values_unfit"] += conform(row)
            rows.append(row)
    return rows


def write_partition(out: Path, partition: Path, counts: Counter) -> Path | None:
    """Rewrite one partition's Parquet file from its rows; None when it has none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = partition / "rows.jsonl"
    if not source.is_file():
        return None
    rows = read_rows(source, counts)
    target = table_file(out, partition)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.tmp")  # hidden: no reader takes it for part of the table
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), partial)
    os.replace(partial, target)
    counts["table_rows"] += len(rows)
    return target


def write_tables(out: Path, partitions: list[Path] | None = None) -> Counter:
    """Write the table's files of these partitions (default: every partition with rows)."""
    counts: Counter = Counter()
    for partition in sorted(partitions if partitions is not None else (p.parent for p in out.glob(ROWS))):
        if write_partition(out, partition, counts):
            counts["table_files"] += 1
    return counts


def migrate(out: Path) -> Counter:
    """An older collector's folder made readable: the table written from every partition's rows,
    then the old ``rows.parquet`` files (inferred types) removed. Safe to run again."""
    if not out.is_dir():
        raise ConfigError(f"{out}: no such folder")
    counts = write_tables(out)
    for old in sorted(out.glob(LEGACY)):
        old.unlink()
        counts["legacy_files_removed"] += 1
    return counts


def table_files(out: Path) -> list[Path]:
    """The table's files, each checked to be of this schema version; an older collector's
    Parquet left in the folder is refused too (DuckDB's ``DIR/**/*.parquet`` would read it)."""
    for old in sorted(out.glob(LEGACY)):
        raise ConfigError(f"{old}: a fleet table of types inferred from its values (an older collector): "
                          f"run `gatewatch fleet migrate {out}`")
    files = sorted((out / TABLE).glob("day=*/vehicle=*/*.parquet"))
    for path in files:
        check_file(path)
    return files
