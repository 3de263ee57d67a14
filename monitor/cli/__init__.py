# PYTHON_ARGCOMPLETE_OK (argcomplete's global completion completes scripts whose module says this)
"""The ``gatewatch`` command: a thin shell of subcommands over the library.

Logging is configured here and nowhere else. Every deliberate error (MonitorError) becomes one
line on stderr and a non-zero exit status; a traceback means a bug in gatewatch. An output that
cannot be written (output.py) is one line naming it and exit status 74; stdout closed by its
reader (``| head``) ends the command quietly, exit 0.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from enum import IntEnum
from pathlib import Path
from typing import TextIO

from .. import __version__, native
from ..errors import MonitorError, OutputError

#: Where ``gatewatch run`` writes unless told (-o), as deploy/gatewatch.service sets it; what
#: ``status``, ``alerts`` and ``report`` read when given no folder.
DEFAULT_OUTPUT = Path("/var/lib/gatewatch")

#: name -> (module, one-line help). Modules are small; heavy imports happen inside run().
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "decode": ("monitor.cli.decode", "decode CAN logs with DBC files (JSON lines or CSV)"),
    "flows": ("monitor.cli.flows", "flow records (Zeek conn.log-like, with names) from captures or live interfaces"),
    "replay": ("monitor.cli.replay", "run CAN logs and captures through the detectors; chained alert, flow and DNS logs to DIR"),
    "alerts": ("monitor.cli.alerts", "read, filter, sum up (summary) and verify (verify) alert logs of one or many vehicles"),
    "report": ("monitor.cli.report", "one self-contained HTML report of alert logs"),
    "run": ("monitor.cli.run", "the live daemon: CAN buses and interfaces on one timeline; detect, alert, enforce"),
    "status": ("monitor.cli.status", "whether the daemon runs, and its counters (from DIR/stats.json; exit 3 gone or "
                                     "stopped, 4 silent, 5 degraded)"),
    "policy": ("monitor.cli.policy", "check policy files; try a policy on recordings (which rule decides what)"),
    "uplink": ("monitor.cli.uplink", "publish a folder's alert records to the fleet's MQTT broker as they are written "
                                     "(needs gatewatch[fleet])"),
    "collect": ("monitor.cli.collect", "receive the fleet's alert records: verify each vehicle's chain, drop duplicates, "
                                       "file by day (needs gatewatch[fleet])"),
    "fleet": ("monitor.cli.fleetquery", "fleet questions (query NAME DIR, query --list) on DuckDB (needs gatewatch[fleet]) "
                                       "or Spark (gatewatch[spark])"),
    "test": ("monitor.cli.testcmd", "replay scenario folders and judge their expect.yaml, for CI: JUnit XML, SARIF, "
                                    "a baseline of known findings, --fail-on (exit 1 failed, 2 usage, 3 input)"),
    "demo": ("monitor.cli.demo", "the main job: every seed scenario's alerts, their logs, the report and the summary"),
    "bench": ("monitor.cli.bench", "benchmark gatewatch against the reference tools"),
    "man": ("monitor.cli.manpage", "the manual page, made from this parser (gatewatch man > gatewatch.1; man -l gatewatch.1)"),
}


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # a MonitorError: bad input file, unloadable DBC, failed check
    USAGE = 2  # argparse's own status for bad arguments; also a missing optional dependency (extras.py)
    # An output could not be written (disk full past what memory holds, read-only, I/O error): one
    # line names the file, the error and the records written and not written. sysexits.h's
    # EX_IOERR. systemd restarts the daemon on it (not in RestartPreventExitStatus): the disk may
    # have room again, and a restart tries a fresh descriptor.
    OUTPUT = 74
    INTERRUPTED = 130


#: errno values only a write gives: an OSError carrying one that no command turned into an
#: OutputError still ends as one line and Exit.OUTPUT, not a traceback.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def build_parser() -> argparse.ArgumentParser:
    from .extras import HELP

    parser = argparse.ArgumentParser(
        prog="gatewatch",
        description="Monitor what data leaves a connected vehicle: CAN buses and IP uplinks.",
        epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gatewatch {__version__}, core {native.DESCRIPTION}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(sub_parser)
        sub_parser.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (argcomplete): it answers and exits
        import argcomplete

        argcomplete.autocomplete(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    _configure_logging(args.verbose, stderr)
    from .extras import MissingExtra, missing
    from .output import Guarded, quiet

    out = Guarded(stdout, "stdout")
    try:
        status = int(importlib.import_module(args.module).run(args, out, stderr))
        out.flush()
        return status
    except OutputError as error:
        print(f"gatewatch {args.command}: {error}", file=stderr)
        return Exit.OUTPUT
    except MissingExtra as error:
        print(f"gatewatch {args.command}: {error}", file=stderr)
        return Exit.USAGE
    except ModuleNotFoundError as error:
        extra = missing(error)
        if extra is None:
            raise
        print(f"gatewatch {args.command}: {extra}", file=stderr)
        return Exit.USAGE
    except MonitorError as error:
        print(f"gatewatch {args.command}: error: {error}", file=stderr)
        return Exit.ERROR
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:  # e.g. `gatewatch decode ... | head`
        quiet(stdout)
        return Exit.OK
    except OSError as error:
        if error.errno not in WRITE_ERRNOS:
            raise
        print(f"gatewatch {args.command}: {error.filename or 'output'}: {error.strerror}", file=stderr)
        return Exit.OUTPUT


def _configure_logging(verbosity: int, stream: TextIO) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("gatewatch: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbosity < 2:
        logging.getLogger("cantools").setLevel(logging.ERROR)  # per-message overwrite chatter
