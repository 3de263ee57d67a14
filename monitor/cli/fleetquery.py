"""``gatewatch fleet query NAME DIR... [--engine duckdb|spark] [--master URL] [--format table|csv|jsonl]``,
``gatewatch fleet query --sql "SELECT ..." DIR...``, ``gatewatch fleet query --list`` and
``gatewatch fleet migrate DIR``: the named fleet questions, or a read-only query of one's own,
over the view ``alerts`` of a collector's folder or of folders of vehicles' alert logs; the
answer with its column names. ``migrate`` rewrites an older collector's Parquet (types inferred
from each file's values) as the table of one schema. DuckDB and pyarrow come with the fleet
extra, Spark with the spark extra."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TextIO

from .extras import need
from .fleetformat import FORMATS, write


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    query = actions.add_parser("query", help="run a named question (--list: the names) or --sql")
    query.add_argument("name", nargs="?", metavar="NAME", help="a named question (not with --sql)")
    query.add_argument("folders", nargs="*", metavar="DIR", help="a collector's folder, or vehicles' alert folders")
    query.add_argument("--list", action="store_true", help="the named questions")
    query.add_argument("--sql", metavar="QUERY", help="one read-only query over the view alerts (SELECT/WITH ...)")
    query.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                       help="duckdb (gatewatch[fleet]) or spark (gatewatch[spark] and a Java runtime)")
    query.add_argument("--master", default="local[2]", help="Spark master (default local[2]; a cluster's URL)")
    query.add_argument("--format", choices=FORMATS, default="table",
                       help="table (default), csv (a header row; cells that a spreadsheet would run are quoted) or jsonl")
    query.add_argument("--json", action="store_const", const="jsonl", dest="format", help=argparse.SUPPRESS)
    migrate = actions.add_parser("migrate", help="rewrite an older collector's Parquet with the one fleet schema")
    migrate.add_argument("folder", metavar="DIR", help="a collector's folder")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.action == "migrate":
        return _migrate(Path(args.folder), out)
    return _query(args, out)


def _migrate(folder: Path, out: TextIO) -> int:
    need("pyarrow")
    from ..fleet.tables import migrate

    print(json.dumps(dict(sorted(migrate(folder).items()))), file=out)
    return 0


def _query(args: argparse.Namespace, out: TextIO) -> int:
    from ..errors import ConfigError
    from ..fleet.queries import QUERIES, sql_of

    if args.list:
        for name, (about, _) in QUERIES.items():
            print(f"{name:<30} {about}", file=out)
        return 0
    if args.sql is not None and args.name is not None:
        args.folders.insert(0, args.name)  # with --sql every positional is a folder
    if not args.folders or (args.sql is None and not args.name):
        raise ConfigError("fleet query needs NAME (or --sql QUERY) and at least one DIR (or --list)")
    if args.sql is None:
        sql_of(args.name)  # an unknown name before any work
    need("duckdb" if args.engine == "duckdb" else "pyspark.sql", "pyarrow")
    with tempfile.TemporaryDirectory(prefix="gatewatch-fleet-") as tmp:
        columns, rows = _answer(args, _fleet_folder([Path(f) for f in args.folders], Path(tmp)))
    write(columns, rows, args.format, out)
    return 0


def _fleet_folder(folders: list[Path], tmp: Path) -> Path:
    """A collector's folder as it is; vehicles' alert folders turned into its layout in ``tmp``."""
    from ..errors import ConfigError
    from ..fleet.rows import materialize
    from ..fleet.tables import LEGACY, ROWS, TABLE

    if len(folders) == 1 and any((folders[0] / TABLE).glob("day=*/vehicle=*/*.parquet")):
        return folders[0]
    if len(folders) == 1 and (any(folders[0].glob(ROWS)) or any(folders[0].glob(LEGACY))):
        raise ConfigError(f"{folders[0]}: a collector's folder without the fleet table (an older collector): "
                          f"run `gatewatch fleet migrate {folders[0]}`")
    if not materialize(folders, tmp):
        raise ConfigError(f"no alert records under {', '.join(map(str, folders))}")
    return tmp


def _answer(args: argparse.Namespace, folder: Path) -> tuple[list[str], list[tuple]]:
    from ..fleet.queries import answers, run_sql

    if args.sql is not None:
        return run_sql(args.sql, folder, args.engine, args.master)
    return answers([args.name], folder, args.engine, args.master)[args.name]
