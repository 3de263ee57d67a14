"""``gatewatch report [PATH...] -o report.html``: one self-contained HTML file (inline CSS, SVG
and the map's one constant script, nothing fetched) of the alert logs PATH holds (what a PATH
means, and the default, as for ``gatewatch alerts``: review.py): the map of each vehicle's track
and the lines to where its data went, the timeline per category and per vehicle, countries, top
network destinations (with countries when --config names a MaxMind country database), CAN
findings, vehicles, and the alert table. No alert log found: one line, exit 1, and no page written."""

from __future__ import annotations

import argparse
from typing import TextIO

from . import review


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help=review.PATHS_HELP)
    review.add_recursive(parser)
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    parser.add_argument("--config", metavar="FILE", help="a configuration whose geoip.country database names countries")
    parser.add_argument("--title", default="gatewatch alert report")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..alerts.read import rows_of
    from ..alerts.report import build_report_rows, with_can
    from .output import write_output

    paths, logs, problems = review.find_logs(args.paths, args.recursive)
    if not logs:
        review.report_problems("report", problems, err)
        return review.no_logs("report", paths, args.recursive, err)
    country_of = _countries(args.config)
    counted = _Counted(with_can(record, row) for record, row in rows_of(logs, problems))  # streamed: never all records at once
    page = build_report_rows(counted, country_of, args.title, review.names_looked_up(logs, problems))
    write_output(args.output, page, f"the report of {counted.n:,} records")
    review.report_problems("report", problems, err)
    skipped = f" ({problems.skipped} lines that are not records skipped)" if problems.skipped else ""
    print(f"gatewatch report: {counted.n} records{skipped} -> {args.output}", file=out)
    return 0


class _Counted:
    def __init__(self, items) -> None:
        self.items, self.n = items, 0

    def __iter__(self):
        for item in self.items:
            self.n += 1
            yield item


def _countries(config_path: str | None):
    """Countries by the built-in RIR table, or as the configuration's geoip section says."""
    from ..config.model import GeoIp
    from ..pipeline import load_config
    from ..policy.countries import Countries

    geoip = load_config(config_path).policy.geoip if config_path else GeoIp()
    return Countries(geoip).country
