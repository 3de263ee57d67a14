"""``gatewatch demo``: the main job on the embedded default, needing no hardware, root or network.

1. The decoder on a real drive (seeds/gnss-drive), checked against python-can + cantools.
2. Every seed scenario (seeds/*/expect.yaml) replayed under its configuration: its alerts in a
   compact table (what left the vehicle, to whom and in which country (- for none: a CAN bus, an
   address no table places), the verdict and the rule), and whether its
   expect.yaml holds.
3. The chained alert logs of all scenarios (one vehicle each) in OUT/logs/, the HTML report
   OUT/report.html, and the ``gatewatch alerts summary`` of OUT/logs.

Exit 1 if the decode check or any expectation fails; 74 if the report cannot be written (one
line naming it, output.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="out/demo", metavar="DIR", help="where the logs and the report go")
    parser.add_argument("--seeds", metavar="DIR", help="the scenarios (default: the checkout's seeds/)")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..alerts.read import records
    from ..alerts.report import build_report
    from ..alerts.summary import format_summary, summarize
    from ..errors import SourceError
    from ..resources import PROJECT_ROOT
    from ..scenarios import load_scenario, run_scenario, scenario_folders
    from .decodecheck import decode_check
    from .output import write_output

    output = Path(args.output)
    seeds = Path(args.seeds) if args.seeds else PROJECT_ROOT / "seeds"
    folders = scenario_folders(seeds)
    if not folders:
        raise SourceError(f"{seeds}: no seed scenarios (folders with expect.yaml); they ship with the source tree")
    print("== 1. the decoder on a real drive", file=out)
    decode_check(output / "decode", out)
    print(f"\n== 2. {len(folders)} scenarios replayed (each under its config.yaml), alerts by episode", file=out)
    failed = 0
    for folder in folders:
        outcome = run_scenario(load_scenario(folder), output / "logs" / folder.name)
        failed += not outcome.ok
        print(_scenario(outcome), file=out)
    logs = output / "logs"
    all_records = list(records([logs]))
    names = _names_looked_up(logs)
    write_output(output / "report.html", build_report(all_records, title="gatewatch demo: what left the vehicles",
                                                      looked_up=names),
                 f"the report of {len(all_records):,} records")
    print(f"\n== 3. alert logs in {logs}/ (one vehicle per scenario), report {output / 'report.html'}", file=out)
    print(f"gatewatch alerts summary {logs}:", file=out)
    print(format_summary(summarize(all_records, names)), file=out)
    print(f"\nexpectations: {len(folders) - failed} of {len(folders)} scenarios hold"
          + ("" if not failed else f"; {failed} FAILED (see above)"), file=out)
    return 1 if failed else 0


def _names_looked_up(logs: Path):
    """The names the vehicles looked up, from the DNS logs beside their alert logs (as summary reads them)."""
    from . import review

    _, found, problems = review.find_logs([str(logs)], recursive=False)
    return review.names_looked_up(found, problems)


def _scenario(outcome) -> str:
    scenario = outcome.scenario
    lines = [f"\n-- {scenario.name}: {len(outcome.rows)} alert episode(s); expect.yaml "
             + ("holds" if outcome.ok else "FAILS")]
    for row in outcome.rows:
        where = ", ".join(row["names"]) or str(row["destination"])
        where += f":{row['port']}" if row["port"] is not None else ""
        lines.append(f"   {row['action']:<6} {row['category']:<12} {row['detector']:<18} {where[:30]:<30} "
                     f"{row['country'] or '-':<2} {row['count'] or 1:>4}x  {row['seen']}  [rule {row['rule']}]")
    lines += [f"   ! {problem}" for problem in outcome.problems]
    return "\n".join(lines)
