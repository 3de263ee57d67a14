"""``gatewatch alerts``: read, filter, sum up and verify alert logs of one or many vehicles.

    gatewatch alerts [PATH...] [FILTERS] [--format table|jsonl|csv] [--follow]
    gatewatch alerts summary [PATH...] [FILTERS] [--json]
    gatewatch alerts verify [PATH...] [--key FILE]

PATH is an alert file, a run's folder, or a folder of vehicles' folders (default: the daemon's
output folder; see review.py for what a folder means and --recursive). verify exits 0 only when
every chain holds, and names the first broken record and how. No alert log found: one line and
exit 1, for each of them.

FILTERS (filters.py, the same for the list and the summary): --since/--until (ISO 8601, epoch
seconds, or 1h, 30m, 2d, 1w before now), --vehicle, --category, --action, --detector,
--destination, --country, --min-confidence. A filtered summary says its filters, and leaves out
the names looked up (the DNS logs are not alert records: no filter applies to them).
"""

from __future__ import annotations

import argparse
import csv
import json
from typing import TextIO

from . import filters, review

COLUMNS = ("time", "vehicle", "seq", "activity", "category", "action", "detector", "destination", "port", "names",
           "count", "confidence", "seen", "country")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="[summary|verify] PATH",
                        help=f"'summary' or 'verify' first for those actions; PATH: {review.PATHS_HELP}")
    review.add_recursive(parser)
    filters.add_arguments(parser)
    parser.add_argument("--format", choices=("table", "jsonl", "csv"), default="table")
    parser.add_argument("--follow", action="store_true",
                        help="keep printing records as they are appended (waits for the first in an existing folder)")
    parser.add_argument("--key", metavar="FILE", help="verify: the HMAC key file the log was written with")
    parser.add_argument("--json", action="store_true", help="summary: print JSON")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    action = args.paths[0] if args.paths and args.paths[0] in ("summary", "verify") else "list"
    given = args.paths[1:] if action != "list" else args.paths
    paths, logs, problems = review.find_logs(given, args.recursive)
    if not logs and not (args.follow and action == "list" and all(p.is_dir() for p in paths)):
        review.report_problems("alerts", problems, err)
        return review.no_logs("alerts", paths, args.recursive, err)
    if action == "verify":
        code = _verify(logs, args, out)
    elif action == "summary":
        code = _summary(logs, problems, args, out)
    else:
        code = _list(paths, logs, problems, args, out)
    review.report_problems("alerts", problems, err)
    return code


def _verify(logs, args: argparse.Namespace, out: TextIO) -> int:
    from ..alerts.chain import read_key
    from ..alerts.verify import format_reports, verify_chain

    key = read_key(args.key)
    reports = [verify_chain(folder, stem, files, key) for (folder, stem), files in sorted(logs.items())]
    print(format_reports(reports), file=out)
    return 0 if all(r.ok for r in reports) else 1


def _summary(logs, problems, args: argparse.Namespace, out: TextIO) -> int:
    from ..alerts.read import rows_of
    from ..alerts.summary import format_summary, summarize_rows

    keep = filters.of(args)
    given = keep.given()
    rows = (row for _, row in rows_of(logs, problems) if keep(row))
    summary = summarize_rows(rows, None if given else review.names_looked_up(logs, problems))
    if given:
        summary["filters"] = filters.describe(given)
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary), file=out)
    return 0


def _list(paths, logs, problems, args: argparse.Namespace, out: TextIO) -> int:
    from ..alerts.read import flat, follow, rows_of

    keep = filters.of(args)
    writer = _Writer(out, args.format)
    source = (((r, flat(r)) for r in follow(paths, recursive=args.recursive, problems=problems)) if args.follow
              else rows_of(logs, problems))
    try:
        for record, row in source:
            if keep(row):
                writer.write(record, row)
    except KeyboardInterrupt:
        pass
    writer.close()
    return 0


class _Writer:
    def __init__(self, out: TextIO, fmt: str) -> None:
        self.out, self.fmt = out, fmt
        self.csv = csv.writer(out) if fmt == "csv" else None
        if self.csv:
            self.csv.writerow(COLUMNS)
        elif fmt == "table":
            print(f"{'time (UTC)':<20} {'vehicle':<14} {'seq':>5} {'activity':<7} {'category':<11} {'action':<6} "
                  f"{'detector':<16} {'destination':<28} {'cc':<2} {'count':>5}  seen", file=out)

    def write(self, record: dict, row: dict) -> None:
        from ..alerts.tally import terminal

        if self.fmt == "jsonl":
            print(json.dumps(record, separators=(",", ":")), file=self.out, flush=True)
        elif self.csv:
            self.csv.writerow([_utc(row["time"]) if k == "time" else ";".join(row[k]) if k == "names" else row[k]
                               for k in COLUMNS])
        else:  # text from the record through terminal(): no escape sequence reaches the operator's terminal
            where = terminal(row["names"][0] if row["names"] else row["destination"] or "") + (
                f":{row['port']}" if row["port"] is not None else "")
            print(f"{_utc(row['time']):<20} {terminal(row['vehicle']):<14} {row['seq'] or 0:>5} {terminal(row['activity']):<7} "
                  f"{terminal(row['category']):<11} {terminal(row['action']):<6} {terminal(row['detector']):<16} "
                  f"{where[:28]:<28} {terminal(row['country'] or '-')[:2]:<2} {row['count'] or 0:>5}  {terminal(row['seen'])}", file=self.out, flush=True)

    def close(self) -> None:
        self.out.flush()


def _utc(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
