"""The one schema of the fleet table: a row is made exactly its columns, a value that does not
fit its type becomes NULL and is counted, and the Arrow schema carries the version readers check."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.fleet.schema import (
    COLUMNS,
    SCHEMA_VERSION,
    VERSION_KEY,
    arrow_schema,
    check_file,
    conform,
    spark_ddl,
)


def test_a_row_becomes_exactly_the_columns_with_unfit_values_counted() -> None:
    row = {"time": 1, "seq": True, "dst_port": "443", "lat": 48, "lon": "11.5", "can_ids": ["0x1", 7],
           "severity_id": 1 << 40, "names": "a,b", "extra": 1}
    assert conform(row) == 6  # seq (a bool), dst_port, lon, can_ids, severity_id (past int32), extra
    assert list(row) == list(COLUMNS)
    assert row["time"] == 1 and row["lat"] == 48.0 and isinstance(row["lat"], float) and row["names"] == "a,b"
    assert row["seq"] is row["dst_port"] is row["lon"] is row["can_ids"] is row["severity_id"] is None
    assert row["model"] is None and "extra" not in row


def test_the_arrow_schema_and_spark_ddl_name_every_column_and_the_version() -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is in the fleet extra")
    schema = arrow_schema()
    assert schema.names == list(COLUMNS) and schema.metadata[VERSION_KEY] == SCHEMA_VERSION.encode()
    ddl = spark_ddl()
    assert ddl.startswith("`time` BIGINT, `seq` BIGINT") and "`can_ids` ARRAY<STRING>" in ddl
    assert ddl.endswith("`day` DATE, `vehicle` STRING")


def test_a_file_of_another_version_is_one_line_naming_it(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow", reason="pyarrow is in the fleet extra")
    import pyarrow.parquet as pq

    good, old, junk = tmp_path / "good.parquet", tmp_path / "old.parquet", tmp_path / "junk.parquet"
    pq.write_table(pa.Table.from_pylist([], schema=arrow_schema()), good)
    pq.write_table(pa.table({"time": [1]}), old)
    junk.write_bytes(b"not parquet")
    check_file(good)
    with pytest.raises(ConfigError, match=rf"^{old}: a fleet table of types inferred .*`gatewatch fleet migrate`"):
        check_file(old)
    with pytest.raises(ConfigError, match=rf"^{junk}: not a readable Parquet file"):
        check_file(junk)
