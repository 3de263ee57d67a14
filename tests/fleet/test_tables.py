"""A fleet folder reads as one dataset. Three vehicles with different mixes of data go through
the real uplink, a real Mosquitto and the real collector: one with only CAN findings (no
destination, no position; its name all digits, which a reader guessing partition types would
make a number), one with network findings but no position, one with everything over two days.
Their Parquet files share one schema, and the whole folder is read by plain DuckDB
(``read_parquet('DIR/**/*.parquet')``), by Spark (``spark.read.parquet``) and by pandas, with
the same rows. An older collector's Parquet (types inferred, as DuckDB's COPY from JSON made
them) is refused with one line naming it, and ``fleet migrate`` makes the folder readable."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from monitor.alerts.files import ChainedWriter
from monitor.alerts.logfiles import chain_files
from monitor.fleet.broker import Broker
from monitor.fleet.collector import Collector
from monitor.fleet.schema import COLUMNS, SCHEMA_VERSION, VERSION_KEY
from monitor.fleet.tables import TABLE
from monitor.fleet.uplink import Uplink
from tests.builders import run
from tests.loaded import GENEROUS, wait_until

PROJECT = Path(__file__).resolve().parents[2]
DAY = 86_400_000
VEHICLES = {"20250417": 2, "car-nopos": 3, "car-all": 6}  # records each
WANT = {  # per vehicle: records, with a position, with CAN ids, with a destination, days
    "20250417": (2, 0, 2, 0, 1), "car-nopos": (3, 0, 0, 3, 1), "car-all": (6, 2, 2, 4, 2)}


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, dict]:
    """Real records from two seed replays: a CAN finding, one with a position, one without."""
    folder = tmp_path_factory.mktemp("templates")
    records = []
    for seed, recordings in (("can-fabrication", ["can.log"]), ("taint-leak", ["can.log", "capture.pcap"])):
        code, _, err = run("replay", "--config", str(PROJECT / "seeds" / seed / "config.yaml"), "-o", str(folder / seed),
                           *[str(PROJECT / "seeds" / seed / r) for r in recordings])
        assert code == 0, err
        records += [json.loads(x) for path in chain_files(folder / seed) for x in path.read_bytes().splitlines()]
    gw = [(r, r["unmapped"]["gatewatch"]) for r in records]
    return {"can": next(r for r, g in gw if g.get("can")),
            "position": next(r for r, g in gw if g.get("position") and g.get("flow")),
            "plain": next(r for r, g in gw if g.get("flow") and not g.get("position"))}


def vehicle_records(templates: dict[str, dict], vehicle: str) -> list[dict]:
    kinds = {"20250417": ["can", "can"], "car-nopos": ["plain"] * 3,
             "car-all": ["can", "position", "plain", "can", "position", "plain"]}[vehicle]
    out = []
    for n, kind in enumerate(kinds):
        record = json.loads(json.dumps(templates[kind]))
        record["unmapped"]["gatewatch"]["vehicle"] = {"id": vehicle, **({"model": "EX30 2025"} if n % 2 else {})}
        record["device"]["uid"] = record["device"]["name"] = vehicle
        record["time"] += DAY * (n >= 3)  # the last three a day later
        out.append(record)
    return out


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, templates) -> Path:
    """A collector's folder filled through the uplink and a real broker."""
    from monitor.testing.mosquitto import Mosquitto

    if shutil.which("mosquitto") is None:
        pytest.skip("needs Debian's mosquitto (make test installs it as root)")
    root = tmp_path_factory.mktemp("fleet")
    broker_folder = root / "broker"
    broker_folder.mkdir()
    mosquitto = Mosquitto.create("", broker_folder)
    mosquitto.start()
    try:
        return _collect(root, Broker.parse(mosquitto.url), templates)
    finally:
        mosquitto.remove()


def _collect(root: Path, broker: Broker, templates: dict[str, dict]) -> Path:
    import pyarrow.parquet as pq

    collector = Collector(broker, root / "out")
    stop = threading.Event()
    thread = threading.Thread(target=collector.run, args=(stop,))
    thread.start()
    try:
        assert collector.subscribed.wait(GENEROUS), "the collector's subscription was not granted"
        for vehicle in VEHICLES:
            writer = ChainedWriter(root / vehicle, vehicle)
            for record in vehicle_records(templates, vehicle):
                writer.append(record)
            writer.close()
            Uplink(root / vehicle, broker, root / f"state-{vehicle}").run(threading.Event(), until_idle=True)
        wait_until(lambda: collector.counts["records"] >= sum(VEHICLES.values()), "every record filed")
        collector.write_tables()  # what it does every TABLE_EVERY_S while it runs: readable before it stops
        assert sum(pq.read_metadata(f).num_rows for f in (root / "out" / TABLE).rglob("*.parquet")) == sum(VEHICLES.values())
    finally:
        stop.set()
        thread.join(GENEROUS)
    assert not thread.is_alive()
    assert collector.counts["table_files"] == 4 and collector.counts["row_values_unfit"] == 0, collector.counts
    return root / "out"


def by_vehicle(rows: list[tuple]) -> dict[str, tuple]:
    return {str(row[0]): tuple(row[1:]) for row in rows}


SUMMARY = ("SELECT vehicle, COUNT(*), COUNT(lat), COUNT(can_ids), COUNT(dst_ip), COUNT(DISTINCT day) FROM alerts "
           "GROUP BY vehicle")


def test_every_file_has_the_one_schema_even_where_a_column_is_empty(fleet: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((fleet / TABLE).glob("day=*/vehicle=*/*.parquet"))
    assert len(files) == 4 and not list(fleet.glob("day=*/vehicle=*/*.parquet"))  # nothing beside the rows
    schemas = [pq.read_schema(f) for f in files]
    assert all(s.equals(schemas[0], check_metadata=True) for s in schemas)
    assert schemas[0].names == list(COLUMNS) and schemas[0].metadata[VERSION_KEY] == SCHEMA_VERSION.encode()
    can_ids = schemas[0].field("can_ids").type
    assert pa.types.is_float64(schemas[0].field("lat").type) and pa.types.is_list(can_ids) and can_ids.value_type == pa.string()
    can_only = pq.read_table(next(f for f in files if "vehicle=20250417" in str(f)))
    assert can_only.column("dst_ip").null_count == can_only.num_rows == 2  # all NULL, typed all the same


def test_plain_duckdb_reads_the_whole_folder(fleet: Path) -> None:
    import duckdb

    rows = duckdb.sql(f"SELECT vehicle, COUNT(*), COUNT(lat), COUNT(can_ids), COUNT(dst_ip), COUNT(DISTINCT day) "
                      f"FROM read_parquet('{fleet}/**/*.parquet', union_by_name = false) GROUP BY vehicle").fetchall()
    assert by_vehicle(rows) == WANT


def test_pandas_reads_the_table_folder(fleet: Path) -> None:
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    frame = pd.read_parquet(fleet / TABLE, engine="pyarrow")
    assert len(frame) == sum(VEHICLES.values())
    got = {str(v): (len(g), int(g["lat"].notna().sum()), int(g["can_ids"].notna().sum()), int(g["dst_ip"].notna().sum()),
                    g["day"].nunique()) for v, g in frame.groupby("vehicle", observed=True)}
    assert got == WANT


def test_spark_reads_the_table_folder_and_fleet_query_sql_runs_on_it(fleet: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (make test installs Debian's default-jre-headless as root)")
    pytest.importorskip("pyspark", reason="Spark needs pyspark (make test installs the spark extra)")
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("gatewatch-test").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    try:
        spark.read.parquet(str(fleet / TABLE)).createOrReplaceTempView("alerts")
        assert by_vehicle([tuple(r) for r in spark.sql(SUMMARY).collect()]) == WANT
    finally:
        spark.stop()
    code, out, err = run("fleet", "query", "--sql", SUMMARY.replace("COUNT(*)", "COUNT(*) AS n"), str(fleet),
                         "--engine", "spark", "--format", "jsonl")
    assert code == 0, err
    answer = {row["vehicle"]: row["n"] for row in map(json.loads, out.splitlines())}
    assert answer == {v: n for v, (n, *_) in WANT.items()}  # the vehicle stays text: the DDL types the partitions
    code, _, err = run("fleet", "query", "--sql", "SELECT no_such_column FROM alerts", str(fleet), "--engine", "spark")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "no_such_column" in err, err


def test_an_older_collector_s_parquet_is_refused_by_name_and_migrated(fleet: Path, tmp_path: Path) -> None:
    import duckdb

    old = tmp_path / "old"
    shutil.copytree(fleet, old, ignore=shutil.ignore_patterns("tables"))
    for rows in sorted(old.glob("day=*/vehicle=*/rows.jsonl")):  # what the collector before did: types from the values
        duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{rows}', format = 'newline_delimited')) "
                   f"TO '{rows.with_suffix('.parquet')}' (FORMAT PARQUET)")
    with pytest.raises(duckdb.Error, match="to \"NULL\""):  # the bug: the first file types dst_ip NULL, the next VARCHAR
        duckdb.sql(f"SELECT * FROM read_parquet('{old}/**/*.parquet', union_by_name = false)").fetchall()
    code, _, err = run("fleet", "query", "chain-gaps-per-vehicle", str(old))
    assert code == 1 and len(err.strip().splitlines()) == 1 and f"run `gatewatch fleet migrate {old}`" in err, err
    code, out, err = run("fleet", "migrate", str(old))
    assert code == 0, err
    assert json.loads(out)["legacy_files_removed"] == 4 and json.loads(out)["table_rows"] == sum(VEHICLES.values())
    rows = duckdb.sql(f"SELECT vehicle, COUNT(*), COUNT(lat), COUNT(can_ids), COUNT(dst_ip), COUNT(DISTINCT day) "
                      f"FROM read_parquet('{old}/**/*.parquet') GROUP BY vehicle").fetchall()
    assert by_vehicle(rows) == WANT
    code, out, err = run("fleet", "query", "chain-gaps-per-vehicle", str(old), "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "vehicle,first_seq,last_seq,records,missing", err
    assert sorted(out.splitlines()[1:]) == ["20250417,1,2,2,0", "car-all,1,6,6,0", "car-nopos,1,3,3,0"]


def test_a_bad_row_is_left_out_counted_and_named_with_its_line(tmp_path: Path, caplog) -> None:
    import pyarrow.parquet as pq

    from monitor.fleet.tables import write_tables

    partition = tmp_path / "day=2026-01-01" / "vehicle=car-1"
    partition.mkdir(parents=True)
    (partition / "rows.jsonl").write_text('{"time": 1, "seq": 1, "dst_port": "443"}\nnot json\n[1, 2]\n{"time": 2, "seq": 2}\n')
    counts = write_tables(tmp_path)
    assert counts == {"rows_unreadable": 2, "row_values_unfit": 1, "table_rows": 2, "table_files": 1}
    assert f"{partition / 'rows.jsonl'}:2: not a row" in caplog.text and ":3: not a row (not a JSON object)" in caplog.text
    table = pq.read_table(tmp_path / TABLE / "day=2026-01-01" / "vehicle=car-1" / "part-0.parquet")
    assert table.column("seq").to_pylist() == [1, 2] and table.column("dst_port").to_pylist() == [None, None]
