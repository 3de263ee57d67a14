"""``gatewatch fleet query NAME DIR... [--engine duckdb|spark] [--master URL]`` and
``gatewatch fleet query --list``: the named fleet questions over a collector's folder or over
folders of vehicles' alert logs. DuckDB comes with the fleet extra, Spark with the spark extra."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TextIO

from .extras import need


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    query = actions.add_parser("query", help="run a named question (--list: the names)")
    query.add_argument("name", nargs="?", metavar="NAME")
    query.add_argument("folders", nargs="*", metavar="DIR", help="a collector's folder, or vehicles' alert folders")
    query.add_argument("--list", action="store_true", help="the named questions")
    query.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                       help="duckdb (gatewatch[fleet]) or spark (gatewatch[spark] and a Java runtime)")
    query.add_argument("--master", default="local[2]", help="Spark master (default local[2]; a cluster's URL)")
    query.add_argument("--json", action="store_true", help="rows as JSON arrays")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..errors import ConfigError
    from ..fleet.queries import QUERIES, ROWS, run_queries
    from ..fleet.rows import materialize

    if args.list:
        for name, (about, _) in QUERIES.items():
            print(f"{name:<30} {about}", file=out)
        return 0
    if not args.name or not args.folders:
        raise ConfigError("fleet query needs NAME and at least one DIR (or --list)")
    need("duckdb" if args.engine == "duckdb" else "pyspark.sql")
    folders = [Path(f) for f in args.folders]
    with tempfile.TemporaryDirectory(prefix="gatewatch-fleet-") as tmp:
        if len(folders) == 1 and any(folders[0].glob(ROWS)):
            folder = folders[0]  # a collector's folder
        else:
            folder = Path(tmp)
            if not materialize(folders, folder):
                raise ConfigError(f"no alert records under {', '.join(args.folders)}")
        rows = run_queries([args.name], folder, args.engine, args.master)[args.name]
    for row in rows:
        print(json.dumps(list(row)) if args.json else "\t".join("" if v is None else str(v) for v in row), file=out)
    return 0
