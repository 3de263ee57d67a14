"""The one schema of the fleet's ``alerts`` table: every column typed here, never from the data.

A Parquet writer that infers types from values types a column that is empty in one file as
NULL (or as JSON text) and the same column as VARCHAR or BIGINT in the next; DuckDB, Spark and
pandas then refuse to read the folder as one dataset. So the rows are conformed to ``COLUMNS``
(a value that does not fit its column becomes NULL and is counted) and written with the Arrow
schema built from it, with ``SCHEMA_VERSION`` in the file's key-value metadata. A reader checks
that key: a Parquet file without it was written by an older collector with inferred types
(``gatewatch fleet migrate`` rewrites it from the rows it kept). ``day`` and ``vehicle`` are
the partition folders (``day=YYYY-MM-DD/vehicle=ID``), typed by ``PARTITIONS`` when read.

Bump ``SCHEMA_VERSION`` when a column changes; readers refuse files of another version.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError

SCHEMA_VERSION = "2"  # 1: the rows.parquet of older collectors, typed by DuckDB from the JSON
VERSION_KEY = b"gatewatch.fleet.alerts.schema"

#: column -> type: int64, int32, double, string, or list<string>. Times are ms since the epoch (UTC).
COLUMNS: dict[str, str] = {
    "time": "int64", "seq": "int64", "hash": "string", "model": "string", "activity": "string",
    "class_uid": "int32", "severity_id": "int32", "category": "string", "detector": "string",
    "action": "string", "rule": "string", "dst_ip": "string", "dst_port": "int32", "country": "string",
    "names": "string", "message": "string",
    "lat": "double", "lon": "double",  # the position the finding saw leave (unmapped.gatewatch.position)
    "can_bus": "string", "can_ids": "list<string>",  # a CAN finding's bus and ids
}
PARTITIONS: dict[str, str] = {"day": "date", "vehicle": "string"}

_INT_RANGE = {"int64": (-(1 << 63), (1 << 63) - 1), "int32": (-(1 << 31), (1 << 31) - 1)}
_SPARK = {"int64": "BIGINT", "int32": "INT", "double": "DOUBLE", "string": "STRING", "list<string>": "ARRAY<STRING>",
          "date": "DATE"}


def _fits(kind: str, value: object) -> bool:
    if kind in _INT_RANGE:
        low, high = _INT_RANGE[kind]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind == "double":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # list<string>


def conform(row: dict) -> int:
    """Make ``row`` exactly the table's columns, in place: a missing column is NULL, an extra
    one goes, a value that does not fit its type becomes NULL. How many values were set to NULL
    (the caller counts them: nothing is lost without a count)."""
    unfit = sum(1 for k in row if k not in COLUMNS)
    fitted = {}
    for name, kind in COLUMNS.items():
        value = row.get(name)
        if value is not None and not _fits(kind, value):
            value = None
            unfit += 1
        fitted[name] = float(value) if kind == "double" and value is not None else value
    row.clear()
    row.update(fitted)  # in the table's column order
    return unfit


def arrow_schema():
    """The Arrow schema of the files (pyarrow, from the fleet extra, imported only here)."""
    import pyarrow as pa

    types = {"int64": pa.int64(), "int32": pa.int32(), "double": pa.float64(), "string": pa.string(),
             "list<string>": pa.list_(pa.string())}
    return pa.schema([pa.field(name, types[kind]) for name, kind in COLUMNS.items()],
                     metadata={VERSION_KEY: SCHEMA_VERSION.encode(), b"gatewatch.fleet.columns": json.dumps(COLUMNS).encode()})


def spark_ddl() -> str:
    """The table with its partition columns as Spark DDL (Spark would otherwise guess the
    partitions' types from the folder names: a vehicle named 12345 would become a number)."""
    return ", ".join(f"`{name}` {_SPARK[kind]}" for name, kind in {**COLUMNS, **PARTITIONS}.items())


def check_file(path: Path) -> None:
    """Refuse a Parquet file of another schema version with one line naming it."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ConfigError(f"{path}: not a readable Parquet file ({error})") from None
    version = metadata.get(VERSION_KEY, b"").decode(errors="replace")
    if version != SCHEMA_VERSION:
        found = f"schema version {version}" if version else "types inferred from its values (no schema version)"
        raise ConfigError(f"{path}: a fleet table of {found}, this gatewatch reads version {SCHEMA_VERSION}: "
                          f"run `gatewatch fleet migrate` on its fleet folder")
