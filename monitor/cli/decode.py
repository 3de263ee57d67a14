"""``gatewatch decode LOG... --dbc FILE|NAME``: decode CAN logs, one record per frame.

A --dbc that is no file names a DBC shipped with gatewatch, as policies do: ``gnss`` or
``gnss.dbc`` (the file's name), or ``dbc/css-electronics/gnss.dbc`` (its place under dbc/). An
unknown name is one line listing the shipped ones, exit 2. Output that cannot be written (stdout
or -o: a full disk, /dev/full, a read-only folder) is one line naming it with the records
written and not written, exit 74 (output.py); the decode goes on to count them."""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path
from typing import TextIO

from .extras import need
from .output import RecordSink, record_output

UNKNOWN_DBC = 2  # exit status: a --dbc that is neither a file nor a shipped DBC (a usage error)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="candump .log/.log.gz, .asc, .blf, .trc, .mf4")
    parser.add_argument("--dbc", action="append", required=True, metavar="FILE|NAME",
                        help="DBC file, or a shipped one by name (gnss, gateway-telematics, dbc/opendbc/...; an "
                             "unknown name lists them) (repeat for several; a later one wins on the same id)")
    parser.add_argument("--signals", metavar="NAME,...", help="only these signals (Signal or Message.Signal)")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--choices", action="store_true", help="print value-table names instead of raw numbers")
    parser.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..canbus.dbc import load_dbc
    from ..canbus.decode import decode_batch
    from ..canbus.export import SignalFilter, iter_records
    from ..canbus.logs import read_log
    from ..canbus.plan import compile_plan
    from ..errors import OutputError

    if any(log.lower().endswith(".mf4") for log in args.logs):
        need("asammdf")
    try:
        dbcs = [dbc_path(name) for name in args.dbc]
    except LookupError as error:
        print(f"gatewatch decode: {error}", file=err)
        return UNKNOWN_DBC
    plan = compile_plan([(load_dbc(path), path) for path in dbcs])
    selection = SignalFilter.parse(args.signals)
    summary = _Summary()
    try:
        with record_output(args.output, out, "decoded frames") as sink:
            write = _writer(args.format, sink)
            for log_path in args.logs:
                for batch, stats in read_log(log_path):
                    summary.parsed(log_path, stats, err)
                    decoded = decode_batch(plan, batch)
                    summary.decoded(decoded)
                    for record in iter_records(decoded, selection, args.choices):
                        write(record)
    except OutputError:
        if summary.frames:  # what was read, before the line that says what was not written
            summary.report(err)
        raise
    summary.report(err)
    return 0


def shipped_dbcs() -> dict[str, Path]:
    """The DBCs shipped with gatewatch by file name without .dbc."""
    from ..resources import data_root

    return {path.stem: path for path in sorted((data_root() / "dbc").rglob("*.dbc"), key=lambda p: (p.stem, p))}


def dbc_path(name: str) -> str:
    """A file as given; else a shipped DBC by name (``gnss``, ``gnss.dbc``) or by its place
    (``dbc/css-electronics/gnss.dbc``); a path that is neither is left for load_dbc to refuse.
    LookupError: a bare name that is no shipped DBC."""
    from ..resources import shipped

    if Path(name).is_file():
        return name
    if name.startswith("dbc/") and shipped(name, must_exist=False).is_file():
        return str(shipped(name))
    if "/" in name and not name.startswith("dbc/"):
        return name
    known = shipped_dbcs()
    if name.removesuffix(".dbc") in known:
        return str(known[name.removesuffix(".dbc")])
    raise LookupError(f"--dbc {name!r}: no such file, and no shipped DBC of that name (shipped: {', '.join(known)})")


def _writer(fmt: str, sink: RecordSink):
    """A function writing one decoded frame (its CSV rows, one per signal, count as one)."""
    if fmt == "jsonl":
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        return lambda record: sink.write(dumps(record) + "\n")
    rows = _Rows()
    writer = csv.writer(rows)
    writer.writerow(["timestamp", "channel", "arbitration_id", "is_extended", "message", "signal", "value", "error"])
    sink.write(rows.take(), record=False)

    def write_rows(record: dict) -> None:
        head = [repr(record["timestamp"]), record["channel"], record["arbitration_id"],
                int(record["is_extended"]), record["message"]]
        if "error" in record:
            writer.writerow([*head, "", "", record["error"]])
        for name, value in record.get("signals", {}).items():
            writer.writerow([*head, name, value, ""])
        text = rows.take()
        if text:
            sink.write(text)

    return write_rows


class _Rows:
    """Where csv.writer puts a frame's rows, taken as one text."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


class _Summary:
    """Counts for the stderr summary: nothing dropped goes unmentioned."""

    def __init__(self) -> None:
        self.frames = self.decoded_frames = self.errors = self.not_data = self.malformed = 0
        self.unknown: Counter[tuple[int, bool]] = Counter()

    def parsed(self, path: str, stats, err: TextIO) -> None:
        self.malformed += stats.malformed
        for line, reason in stats.examples:
            where = f"{path}:{line}" if line else path
            print(f"gatewatch decode: skipped {where}: {reason}", file=err)

    def decoded(self, decoded) -> None:
        batch = decoded.batch
        self.frames += len(batch)
        self.not_data += int((~batch.is_data).sum())
        self.decoded_frames += sum(len(m.rows) for m in decoded.messages)
        self.errors += decoded.errors
        for i in decoded.unknown.tolist():
            self.unknown[(int(batch.arbitration_id[i]), bool(batch.is_extended[i]))] += 1

    def report(self, err: TextIO) -> None:
        unknown = sum(self.unknown.values())
        print(f"gatewatch decode: {self.frames} frames read, {self.decoded_frames} decoded "
              f"({self.errors} refused by the DBC rules), {unknown} with no DBC entry, "
              f"{self.not_data} remote/error frames, {self.malformed} malformed lines skipped", file=err)
        if self.unknown:
            top = ", ".join(f"{_id_text(i, e)} x{n}" for (i, e), n in self.unknown.most_common(10))
            more = len(self.unknown) - 10
            print(f"gatewatch decode: ids with no DBC entry: {top}" + (f" and {more} more" if more > 0 else ""),
                  file=err)


def _id_text(frame_id: int, extended: bool) -> str:
    return f"0x{frame_id:08X}" if extended else f"0x{frame_id:03X}"
