"""Named fleet questions as SQL that is the same text on DuckDB and on Spark, over the view
``alerts``: the Parquet table (tables.py, one schema: schema.py) with the partition columns
``day`` and ``vehicle``; ``run_sql`` runs a query of the user's over the same view (sqlguard.py
keeps it to one read-only query).

DuckDB runs in this process and needs nothing else; Spark runs in local mode (``local[2]``) or
against a cluster URL (``--master``), from the optional ``spark`` extra and a Java runtime.
Both return rows as tuples of plain values (dates as ISO text), so their answers compare equal;
every ORDER BY says where NULLs go (DuckDB puts them last by default, Spark first).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..errors import ConfigError
from .schema import PARTITIONS, spark_ddl
from .sqlguard import check, check_duckdb, first_line
from .tables import TABLE, table_files

QUERIES: dict[str, tuple[str, str]] = {
    "alerts-per-category-per-day": (
        "alert episodes opened per category and day",
        ("SELECT CAST(day AS STRING) AS day, category, COUNT(*) AS alerts FROM alerts "
        "WHERE activity = 'Create' GROUP BY day, category ORDER BY day, category NULLS LAST")),
    "top-destinations": (
        "destinations alerted on, by how many vehicles",
        ("SELECT dst_ip, COUNT(DISTINCT vehicle) AS vehicles, COUNT(*) AS records FROM alerts "
        "WHERE dst_ip IS NOT NULL GROUP BY dst_ip ORDER BY vehicles DESC, records DESC, dst_ip NULLS LAST LIMIT 20")),
    "position-senders": (
        "vehicles sending position, to which destination and country",
        ("SELECT vehicle, dst_ip, country, COUNT(*) AS records FROM alerts WHERE category = 'geolocation' "
        "GROUP BY vehicle, dst_ip, country ORDER BY vehicle, dst_ip NULLS LAST, country NULLS LAST")),
    "new-destinations-this-week": (
        "destinations first alerted on in the last 7 days of the data",
        ("SELECT dst_ip, MIN(time) AS first_seen FROM alerts WHERE dst_ip IS NOT NULL GROUP BY dst_ip "
        "HAVING MIN(time) >= (SELECT MAX(time) FROM alerts) - 604800000 ORDER BY first_seen, dst_ip NULLS LAST")),
    "chain-gaps-per-vehicle": (
        "records per vehicle and sequence numbers missing between its first and last",
        ("SELECT vehicle, MIN(seq) AS first_seq, MAX(seq) AS last_seq, COUNT(DISTINCT seq) AS records, "
        "MAX(seq) - MIN(seq) + 1 - COUNT(DISTINCT seq) AS missing FROM alerts GROUP BY vehicle ORDER BY vehicle")),
    "detector-rates-per-model": (
        "alert episodes per detector and vehicle model, and per vehicle of that model",
        ("SELECT model, detector, COUNT(*) AS alerts, COUNT(DISTINCT vehicle) AS vehicles, "
        "CAST(COUNT(*) AS DOUBLE) / COUNT(DISTINCT vehicle) AS per_vehicle FROM alerts WHERE activity = 'Create' "
        "GROUP BY model, detector ORDER BY model NULLS LAST, detector NULLS LAST")),
    "detector-rates-per-vehicle": (
        "alert episodes per detector and vehicle, per day of data",
        ("SELECT vehicle, detector, COUNT(*) AS alerts, COUNT(DISTINCT day) AS days FROM alerts "
        "WHERE activity = 'Create' GROUP BY vehicle, detector ORDER BY vehicle, detector NULLS LAST")),
}

Answer = tuple[list[str], list[tuple]]  # column names, rows


def sql_of(name: str) -> str:
    if name not in QUERIES:
        raise ConfigError(f"no fleet query {name!r} (known: {', '.join(QUERIES)})")
    return QUERIES[name][1]


def _table(folder: Path) -> Path:
    if not table_files(folder):
        raise ConfigError(f"{folder}: no fleet table ({TABLE}/day=*/vehicle=*/*.parquet); "
                          "an older collector's folder: run `gatewatch fleet migrate` on it")
    return folder / TABLE


def run_duckdb(folder: Path, sqls: list[str], user: bool = False) -> list[Answer]:
    import duckdb

    table = _table(folder)
    hive_types = ", ".join(f"'{name}': '{kind.upper().replace('STRING', 'VARCHAR')}'" for name, kind in PARTITIONS.items())
    with duckdb.connect() as con:
        glob = str(table / "*" / "*" / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW alerts AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true, "
                    f"hive_types = {{{hive_types}}})")
        if user:  # no extension fetched or loaded by a query (httpfs would reach the network), and no SET undoing it
            for setting in ("autoinstall_known_extensions", "autoload_known_extensions"):
                con.execute(f"SET {setting} = false")
            con.execute("SET lock_configuration = true")
        answers = []
        for sql in sqls:
            if user:
                check_duckdb(con, sql)
            try:
                cursor = con.execute(sql)
                answers.append(([d[0] for d in cursor.description], [_plain(row) for row in cursor.fetchall()]))
            except duckdb.Error as error:
                if not user:
                    raise
                raise ConfigError(f"--sql: {first_line(error)}") from None
        return answers


def run_spark(folder: Path, sqls: list[str], master: str = "local[2]", user: bool = False) -> list[Answer]:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("the Spark engine needs pyspark: pip install -e '.[spark]' (and a Java runtime)") from None
    table = _table(folder)
    spark = (SparkSession.builder.master(master).appName("gatewatch-fleet").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "4")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        spark.read.schema(spark_ddl()).parquet(str(table)).createOrReplaceTempView("alerts")
        return [_spark_answer(spark, sql, user) for sql in sqls]
    finally:
        spark.stop()


def _spark_answer(spark, sql: str, user: bool) -> Answer:
    try:
        frame = spark.sql(sql)
        return list(frame.columns), [_plain(tuple(row)) for row in frame.collect()]
    except Exception as error:  # Spark's errors (AnalysisException, ParseException, Py4J's) share no base
        if not user:
            raise
        raise ConfigError(f"--sql: {first_line(error)}") from None


def _plain(row: tuple) -> tuple:
    return tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row)


def _run(folder: Path, sqls: list[str], engine: str, master: str, user: bool = False) -> list[Answer]:
    if engine == "duckdb":
        return run_duckdb(folder, sqls, user)
    if engine == "spark":
        return run_spark(folder, sqls, master, user)
    raise ConfigError(f"unknown engine {engine!r} (duckdb or spark)")


def run_sql(sql: str, folder: Path, engine: str = "duckdb", master: str = "local[2]") -> Answer:
    """A query of the user's over the view ``alerts``: its columns and rows; errors are one line."""
    return _run(folder, [check(sql)], engine, master, user=True)[0]


def answers(names: list[str], folder: Path, engine: str = "duckdb", master: str = "local[2]") -> dict[str, Answer]:
    """Each named question's columns and rows; one engine session for all of them."""
    return dict(zip(names, _run(folder, [sql_of(name) for name in names], engine, master), strict=True))


def run_queries(names: list[str], folder: Path, engine: str = "duckdb", master: str = "local[2]") -> dict[str, list[tuple]]:
    """Each named question's rows; one engine session for all of them."""
    return {name: rows for name, (_, rows) in answers(names, folder, engine, master).items()}
