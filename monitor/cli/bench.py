"""``gatewatch bench can|net|daemon|fleet``: gatewatch's speed against the reference tools, on the
target (never in tests, which only check the reports' shape).

Everything a bench writes (workloads, recorded drives, broker data) goes to the folder named by
``--out``, kept, or else to a temporary folder removed afterwards: never beside the installed
package. The corpus is named with ``--corpus``. Detection scoring, the ROAD figures and the
hostile-input figures are the development lab's (lab/ in the checkout: ``make score``,
``make hostile``), not the wheel's."""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from . import progress
from .extras import need

DEFAULT_DBC = "dbc/opendbc/tesla_model3_party.dbc"


def _out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="write the workload and what the bench records here, and keep it "
                                                     "(default: a temporary folder, removed afterwards)")


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
    net_parser.add_argument("--corpus", metavar="DIR", help="build the workload from the captures in DIR/pcap (needed without CAPTURE)")
    net_parser.add_argument("--scapy-packets", type=int, default=20_000,
                            help="scapy is timed on this many packets of the same file (default 20000)")
    net_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    daemon_parser = targets.add_parser("daemon", help="the daemon's start-up, memory and CPU on a recorded drive")
    daemon_parser.add_argument("--seconds", type=int, default=600, help="length of the recorded drive (default 600)")
    daemon_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    fleet_parser = targets.add_parser("fleet", help="records/s through uplink, broker and collector; fleet queries on DuckDB "
                                                    "and Spark (needs gatewatch[fleet], and gatewatch[spark] for spark)")
    fleet_parser.add_argument("--alerts", type=int, default=2000, help="alert episodes sent through the broker (default 2000)")
    fleet_parser.add_argument("--vehicles", type=int, default=1000, help="vehicles in the synthetic fleet (default 1000)")
    fleet_parser.add_argument("--records", type=int, default=1_000_000, help="records in the synthetic fleet (default 1000000)")
    fleet_parser.add_argument("--engines", default="duckdb,spark", help="comma-separated: duckdb, spark (default both)")
    fleet_parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    for target in (can_parser, net_parser, daemon_parser, fleet_parser):
        _out_option(target)
        progress.add_arguments(target)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    runners = {"net": _run_net, "can": _run_can, "daemon": _run_daemon, "fleet": _run_fleet}
    with progress.shown(err, f"gatewatch bench {args.target}", lambda: "running", args.quiet, out) as shown_out:
        return runners[args.target](args, shown_out)  # a sign of life until the report prints


@contextlib.contextmanager
def _folder(args: argparse.Namespace) -> Iterator[Path]:
    """The user's --out folder (made if missing, kept), else a temporary one."""
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        yield Path(args.out)
        return
    with tempfile.TemporaryDirectory(prefix=f"gatewatch-bench-{args.target}-") as tmp:
        yield Path(tmp)


def _run_fleet(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import fleet
    from ..errors import ConfigError

    engines = [e for e in args.engines.split(",") if e]
    if not engines or set(engines) - {"duckdb", "spark"} or min(args.alerts, args.vehicles, args.records) < 1:
        raise ConfigError("--engines takes duckdb and/or spark; --alerts, --vehicles and --records at least 1")
    need("paho.mqtt.client", "duckdb", *(["pyspark.sql"] if "spark" in engines else []))
    with _folder(args) as folder:
        report = fleet.run(args.alerts, args.vehicles, args.records, engines, folder)
    print(json.dumps(report) if args.json else fleet.format_report(report), file=out)
    return 0 if report["queries"]["same_answers"] and report["transfer"]["collected"] == report["transfer"]["records"] else 1


def _run_daemon(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import daemon
    from ..errors import ConfigError

    if args.seconds < 60:
        raise ConfigError("--seconds must be at least 60")
    with _folder(args) as folder:
        report = daemon.run(folder, args.seconds)
    print(json.dumps(report) if args.json else daemon.format_table(report), file=out)
    return 0


def _run_net(args: argparse.Namespace, out: TextIO) -> int:
    from ..bench import net as bench_net
    from ..errors import ConfigError, SourceError

    if args.packets <= 0 or args.scapy_packets <= 0:
        raise ConfigError("--packets and --scapy-packets must be positive")
    if not args.capture and not args.corpus:
        raise ConfigError("give a CAPTURE to time, or --corpus DIR to build the workload from DIR/pcap")
    with _folder(args) as folder:
        if args.capture:
            capture = Path(args.capture)
        else:
            sources = bench_net.corpus_sources(Path(args.corpus))
            if not sources:
                raise SourceError(f"no captures under {Path(args.corpus) / 'pcap'}: give a CAPTURE or another --corpus")
            capture = folder / f"net-mix-{args.packets}.pcap"
            if not capture.exists():  # a kept --out folder times the same workload again
                bench_net.build_capture(sources, args.packets, capture)
        report = bench_net.run(capture, args.scapy_packets)
    print(json.dumps(report) if args.json else bench_net.format_table(report), file=out)
    return 1 if report["records_identical_to_numpy"] is False else 0


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

        report = canlive.run_on_cores(dbc, max(args.frames // canlive.BUSES, 1))  # nothing to write: socket pairs
        print(json.dumps(report) if args.json else canlive.format_table(report), file=out)
        return 0
    with _folder(args) as folder:
        report = bench_can.run(dbc, args.frames, folder, Path(args.log) if args.log else None, repeat=args.repeat)
    print(json.dumps(report) if args.json else bench_can.format_table(report), file=out)
    return 0
