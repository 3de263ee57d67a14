"""``gatewatch bench can|net|road|daemon|detect|hostile``: speed against the reference tools, detection quality on
labelled and generated data, and robustness under hostile input and faults, in one run (speed never in tests;
``detect`` runs in a test on two seeds)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from .extras import need

DEFAULT_DBC = "dbc/opendbc/tesla_model3_party.dbc"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    can_parser = targets.add_parser("can", help="CAN: candump parse and DBC decode vs python-can + cantools")
    can_parser.add_argument("--frames", type=int, default=1_000_000, help="workload size (default 1000000)")
    can_parser.add_argument("--dbc", help=f"DBC to generate frames for (default {DEFAULT_DBC})")
    can_parser.add_argument("--log", help="time this candump log instead of a generated workload (needs --dbc)")
    can_parser.add_argument("--repeat", type=int, default=3, help="best of N runs for every contender (default 3)")
    can_parser.add_argument("--live", action="store_true",
                            help="the raw SocketCAN path at four buses' load (socket pairs), CPU per frame")
    can_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    net_parser = targets.add_parser("net", help="IP: capture to named flow records vs scapy's full dissection "
                                                "(and dpkt's, with gatewatch[bench])")
    net_parser.add_argument("capture", nargs="?", help="time this pcap/pcapng instead of a built workload")
    net_parser.add_argument("--packets", type=int, default=1_000_000,
                            help="size of the workload built from the corpus captures (default 1000000)")
    net_parser.add_argument("--corpus", default=None, help="corpus folder with pcap/ (default ../shared/corpus)")
    net_parser.add_argument("--scapy-packets", type=int, default=20_000,
                            help="scapy is timed on this many packets of the same file (default 20000)")
    net_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    daemon_parser = targets.add_parser("daemon", help="the daemon's start-up, memory and CPU on a recorded drive")
    daemon_parser.add_argument("--seconds", type=int, default=600, help="length of the recorded drive (default 600)")
    daemon_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    detect_parser = targets.add_parser("detect", help="detection quality: corpus vectors, benign captures, ROAD, generated drives")
    detect_parser.add_argument("--seeds", type=int, default=20, help="generated drives, seeds 1..N (default 20)")
    detect_parser.add_argument("--seconds", type=int, default=600, help="length of each generated drive (default 600, at least 600)")
    detect_parser.add_argument("--corpus", default=None, help="corpus folder (default ../shared/corpus); parts it lacks are skipped, saying so")
    detect_parser.add_argument("--keep", default=None, metavar="DIR", help="keep the generated drives (recordings, config, truth, alerts) in DIR")
    detect_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    hostile_parser = targets.add_parser("hostile", help="hostile input, crashes and load: crafted inputs, fuzzing, kills, spoofed flows")
    hostile_parser.add_argument("--kills", type=int, default=50, help="SIGKILLs of a replay writing its log (default 50)")
    hostile_parser.add_argument("--inputs", type=int, default=500, help="random and mutated inputs per fuzz target (default 500)")
    hostile_parser.add_argument("--flows", type=int, default=200_000, help="spoofed flows replayed past max_flows (default 200000)")
    hostile_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    fleet_parser = targets.add_parser("fleet", help="records/s through uplink, broker and collector; fleet queries on DuckDB "
                                                    "and Spark (needs gatewatch[fleet], and gatewatch[spark] for spark)")
    fleet_parser.add_argument("--alerts", type=int, default=2000, help="alert episodes sent through the broker (default 2000)")
    fleet_parser.add_argument("--vehicles", type=int, default=1000, help="vehicles in the synthetic fleet (default 1000)")
    fleet_parser.add_argument("--records", type=int, default=1_000_000, help="records in the synthetic fleet (default 1000000)")
    fleet_parser.add_argument("--engines", default="duckdb,spark", help="comma-separated: duckdb, spark (default both)")
    fleet_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    road_parser = targets.add_parser("road", help="CAN IDS: precision/recall/F1/AUROC of the CAN rules on ROAD")
    road_parser.add_argument("captures", nargs="*", help="ROAD CSV(.gz) files (default: the corpus' can-ids captures)")
    road_parser.add_argument("--corpus", default=None, help="corpus folder with can-ids/ (default ../shared/corpus)")
    road_parser.add_argument("--learn", type=float, default=None,
                             help="seconds of benign traffic to learn from (default: all of it before the first attack)")
    road_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    runners = {"net": _run_net, "can": _run_can, "road": _run_road, "daemon": _run_daemon, "detect": _run_detect,
               "hostile": _run_hostile, "fleet": _run_fleet}
    return runners[args.target](args, out)


def _run_fleet(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import fleet
    from ..errors import ConfigError

    engines = [e for e in args.engines.split(",") if e]
    if not engines or set(engines) - {"duckdb", "spark"} or min(args.alerts, args.vehicles, args.records) < 1:
        raise ConfigError("--engines takes duckdb and/or spark; --alerts, --vehicles and --records at least 1")
    need("paho.mqtt.client", "duckdb", *(["pyspark.sql"] if "spark" in engines else []))
    report = fleet.run(args.alerts, args.vehicles, args.records, engines)
    print(json.dumps(report) if args.json else fleet.format_report(report), file=out)
    return 0 if report["queries"]["same_answers"] and report["transfer"]["collected"] == report["transfer"]["records"] else 1


def _run_hostile(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import hostile
    from ..errors import ConfigError

    if args.kills < 1 or args.inputs < 1 or args.flows < 1:
        raise ConfigError("--kills, --inputs and --flows must be at least 1")
    report = hostile.run(args.kills, args.inputs, args.flows)
    print(json.dumps(report) if args.json else hostile.format_report(report), file=out)
    return 0 if hostile.held(report) else 1


def _run_daemon(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import daemon
    from ..errors import ConfigError
    from ..resources import PROJECT_ROOT

    if args.seconds < 60:
        raise ConfigError("--seconds must be at least 60")
    report = daemon.run(PROJECT_ROOT / "out" / "bench", args.seconds)
    print(json.dumps(report) if args.json else daemon.format_table(report), file=out)
    return 0


def _run_detect(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import detect
    from ..errors import ConfigError
    from ..resources import PROJECT_ROOT

    if args.seeds < 1 or args.seconds < 600:
        raise ConfigError("--seeds must be at least 1 and --seconds at least 600 (a drive of ten minutes or more)")
    corpus = Path(args.corpus) if args.corpus else PROJECT_ROOT.parent / "shared" / "corpus"
    workdir = Path(args.keep) if args.keep else None
    report = detect.run(corpus, range(1, args.seeds + 1), args.seconds, workdir)
    print(json.dumps(report) if args.json else detect.format_report(report), file=out)
    return 0 if report["targets"]["met"] else 1


def _run_road(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import road
    from ..errors import SourceError
    from ..resources import PROJECT_ROOT

    corpus = Path(args.corpus) if args.corpus else PROJECT_ROOT.parent / "shared" / "corpus"
    captures = [Path(c) for c in args.captures] or sorted((corpus / "can-ids" / "road-processed").glob("*.csv.gz"))
    if not captures:
        raise SourceError(f"no ROAD captures under {corpus / 'can-ids' / 'road-processed'}: give CAPTURES or --corpus")
    results = [road.evaluate(path, learn_s=args.learn) for path in captures]
    print(json.dumps(results) if args.json else road.format_table(results), file=out)
    return 0


def _run_net(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import net as bench_net
    from ..errors import ConfigError, SourceError
    from ..resources import PROJECT_ROOT

    if args.packets <= 0 or args.scapy_packets <= 0:
        raise ConfigError("--packets and --scapy-packets must be positive")
    if args.capture:
        capture = Path(args.capture)
    else:
        corpus = Path(args.corpus) if args.corpus else PROJECT_ROOT.parent / "shared" / "corpus"
        sources = bench_net.corpus_sources(corpus)
        if not sources:
            raise SourceError(f"no captures under {corpus / 'pcap'}: give a CAPTURE or --corpus")
        capture = PROJECT_ROOT / "out" / "bench" / f"net-mix-{args.packets}.pcap"
        if not capture.exists():
            bench_net.build_capture(sources, args.packets, capture)
    report = bench_net.run(capture, args.scapy_packets)
    print(json.dumps(report) if args.json else bench_net.format_table(report), file=out)
    return 0


def _run_can(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import can as bench_can
    from ..errors import ConfigError
    from ..resources import shipped

    if args.frames <= 0 or args.repeat <= 0:
        raise ConfigError("--frames and --repeat must be positive")
    if args.log and not args.dbc:
        raise ConfigError("--log needs --dbc to decode it with")
    dbc = Path(args.dbc) if args.dbc else shipped(DEFAULT_DBC)
    if args.live:
        from ..bench import canlive

        report = canlive.run(dbc, max(args.frames // canlive.BUSES, 1))
        print(json.dumps(report) if args.json else canlive.format_table(report), file=out)
        return 0
    report = bench_can.run(dbc, args.frames, Path(args.log) if args.log else None, repeat=args.repeat)
    print(json.dumps(report) if args.json else bench_can.format_table(report), file=out)
    return 0
