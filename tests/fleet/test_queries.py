"""The named fleet questions give the same answers on DuckDB and on Spark (local mode) over the
same folder: vehicles' alert logs from the seed scenarios, one with a record missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.bench.fleet import synthetic_fleet
from monitor.fleet.queries import QUERIES, run_queries
from monitor.fleet.rows import materialize
from monitor.fleet.tables import write_tables
from tests.builders import run

PROJECT = Path(__file__).resolve().parents[2]
SEEDS = ("taint-leak", "countries-of-concern", "jt808-untrusted", "mapping-upload", "remote-access")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    logs = tmp_path_factory.mktemp("vehicles")
    for seed in SEEDS:
        folder = PROJECT / "seeds" / seed
        recordings = [str(p) for p in sorted(folder.glob("*")) if p.suffix in (".log", ".pcap")]
        code, _, err = run("replay", "--config", str(folder / "config.yaml"), "-o", str(logs / seed),
                           "--vehicle-id", seed, *recordings)
        assert code == 0, err
    out = tmp_path_factory.mktemp("fleet")
    assert materialize([logs], out) > 20
    # One vehicle's third row goes missing, as a record lost on the way would.
    rows = next(out.glob("day=*/vehicle=taint-leak/rows.jsonl"))
    lines = rows.read_text().splitlines(keepends=True)
    rows.write_text("".join(lines[:2] + lines[3:]))
    write_tables(out, [rows.parent])
    return out


def test_duckdb_answers_every_named_question(fleet: Path) -> None:
    answers = run_queries(list(QUERIES), fleet, "duckdb")
    assert all(answers[name] for name in QUERIES if name != "new-destinations-this-week")
    gaps = {row[0]: row[4] for row in answers["chain-gaps-per-vehicle"]}
    assert gaps["taint-leak"] == 1 and all(v == 0 for k, v in gaps.items() if k != "taint-leak")
    assert {row[0] for row in answers["position-senders"]} <= set(SEEDS)


def test_spark_gives_the_same_answers_as_duckdb(fleet: Path, tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (make test installs Debian's default-jre-headless as root)")
    pytest.importorskip("pyspark", reason="Spark needs pyspark (make test installs the spark extra)")
    assert run_queries(list(QUERIES), fleet, "spark") == run_queries(list(QUERIES), fleet, "duckdb")
    # A synthetic fleet too: many vehicles, NULL countries in every order (the engines sort NULLs apart by default).
    synthetic = synthetic_fleet(tmp_path / "synthetic", 30, 6000, destinations=12)
    assert run_queries(list(QUERIES), synthetic, "spark") == run_queries(list(QUERIES), synthetic, "duckdb")
