"""``make score`` (``python -m lab.score``): detection quality in one command, against the targets of issue 15.

Parts (each skipped, saying why, when its data is absent):
- the telematics vectors of the shared corpus: every geolocation vector found at its position;
- the benign corpus captures: at most one finding per capture-hour, each explained;
- the ROAD CAN captures: F1 >= 0.99 on fabrication and fuzzing; masquerade reported by AUROC;
- generated drives over N seeds: recall 1.0 for every episode type, no alert on benign destinations.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from . import DEFAULT_CORPUS, corpus, drives, road

MIN_F1 = 0.99
MAX_PER_CAPTURE_HOUR = 1.0


def run(corpus_dir: Path, seeds: Iterable[int], seconds: int = 600, workdir: Path | None = None,
        start: tuple[float, float] | None = None) -> dict:
    """Every part; the generated drives from ``start`` (lat, lon) when given, else each seed's own."""
    logging.getLogger("cantools").setLevel(logging.ERROR)  # the shipped GNSS DBC repeats message names
    report: dict = {"skipped": {}}
    vectors = corpus_dir / "telematics" / "vectors.json"
    if vectors.exists():
        report["vectors"] = corpus.vector_recall(vectors)
    else:
        report["skipped"]["vectors"] = f"no {vectors}"
    captures = sorted((corpus_dir / "pcap").glob("*.pcap")) + sorted((corpus_dir / "pcap").glob("*.pcapng"))
    if captures:
        report["captures"] = corpus.benign_captures(captures)
    else:
        report["skipped"]["captures"] = f"no captures in {corpus_dir / 'pcap'}"
    road_files = sorted((corpus_dir / "can-ids" / "road-processed").glob("*.csv.gz"))
    if road_files:
        report["road"] = [road.evaluate(path) for path in road_files]
    else:
        report["skipped"]["road"] = f"no ROAD captures in {corpus_dir / 'can-ids' / 'road-processed'}"
    with tempfile.TemporaryDirectory(prefix="gatewatch-drives-") as scratch:
        base = workdir or Path(scratch)
        results = [drives.run_drive(seed, base, seconds, keep=workdir is not None, start=start) for seed in seeds]
    report["drives"] = drives.summarise(results)
    report["targets"] = targets(report)
    return report


def targets(report: dict) -> dict:
    """Each target: met or not, with the figure it was judged by."""
    out: dict = {}
    d = report["drives"]
    out["drives: recall 1.0 for every episode type"] = (min(d["recall"].values()) == 1.0, min(d["recall"].values()))
    out["drives: no alert on a benign destination"] = (not d["false_alerts"], len(d["false_alerts"]))
    out["drives: no alert that names no episode (CAN rules learning the bus included)"] = (not d["other_alerts"], len(d["other_alerts"]))
    if "vectors" in report:
        missed = len(report["vectors"]["misses"]) + sum(r["total"] - r["found"] for k, r in report["vectors"]["protocols"].items()
                                                        if k.startswith("jt1078"))
        out["vectors: every geolocation vector (and JT/T 1078 packet) found"] = (missed == 0, missed)
    if "captures" in report:
        c = report["captures"]
        unexplained = sum(1 for f in c["listed"] if f["explained"] == "NOT EXPLAINED")
        out[f"captures: at most {MAX_PER_CAPTURE_HOUR:g} finding per capture-hour"] = (
            (c["per_capture_hour"] or 0) <= MAX_PER_CAPTURE_HOUR, c["per_capture_hour"])
        out["captures: every finding explained"] = (unexplained == 0, unexplained)
    for r in report.get("road", []):
        if r["attack"] in ("Fabrication", "Fuzzing"):
            f1 = r["all"]["f1"]
            out[f"ROAD {r['capture']}: F1 >= {MIN_F1}"] = ((f1 or 0) >= MIN_F1, f1)
    return {"met": all(ok for ok, _ in out.values()), "each": {k: {"met": ok, "value": v} for k, (ok, v) in out.items()}}


def format_report(report: dict) -> str:
    parts = []
    if "vectors" in report:
        parts.append(corpus.format_vectors(report["vectors"]))
    if "captures" in report:
        parts.append(corpus.format_captures(report["captures"]))
    if "road" in report:
        parts.append(road.format_table(report["road"]))
    parts.append(drives.format_table(report["drives"]))
    parts += [f"skipped {part}: {why}" for part, why in report["skipped"].items()]
    lines = ["targets:"] + [f"  {'met    ' if t['met'] else 'NOT MET'} {name} ({_figure(t['value'])})"
                            for name, t in report["targets"]["each"].items()]
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _figure(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.score", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=20, help="generated drives, seeds 1..N (default 20)")
    parser.add_argument("--seconds", type=int, default=600, help="length of each generated drive (default 600, at least 600)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help=f"corpus folder (default {DEFAULT_CORPUS}); parts it lacks are skipped, saying so")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the generated drives (recordings, config, truth, alerts) in DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.seconds < 600:
        parser.error("--seeds must be at least 1 and --seconds at least 600 (a drive of ten minutes or more)")
    report = run(args.corpus, range(1, args.seeds + 1), args.seconds, args.keep)
    print(json.dumps(report) if args.json else format_report(report))
    return 0 if report["targets"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
