"""``gatewatch flows``: one record per flow (Zeek conn.log-like, names joined in), from pcap or
pcapng replay or from live capture on interfaces. Output that cannot be written (stdout or -o)
is one line naming it with the flow records written and not written, exit 74 (output.py): a
replay goes on to count them, a live capture stops."""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import TextIO

from ..net.direction import remote_side
from ..net.flowbatch import FlowBatch
from ..net.flowjson import fields_text, flow_lines
from .output import RecordSink, record_output

TABLE_COLUMNS = ("proto", "orig_h", "orig_p", "resp_h", "resp_p", "direction", "orig_pkts", "orig_ip_bytes",
                 "resp_pkts", "resp_ip_bytes", "app_proto", "names")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("captures", nargs="*", metavar="CAPTURE", help="pcap or pcapng files, replayed in order")
    parser.add_argument("-i", "--interface", action="append", default=[], metavar="IF",
                        help="capture live on this interface (repeatable; needs root or CAP_NET_RAW)")
    parser.add_argument("--filter", metavar="BPF", help="live capture: kernel BPF filter in tcpdump syntax")
    parser.add_argument("--snaplen", type=int, default=2048, help="live capture: bytes kept per packet (default 2048)")
    parser.add_argument("--count", type=int, help="live capture: stop after this many packets")
    parser.add_argument("--duration", type=float, help="live capture: stop after this many seconds")
    parser.add_argument("--vehicle-net", action="append", metavar="CIDR",
                        help="an in-vehicle network (repeatable); default: private and link-local ranges")
    parser.add_argument("--format", choices=("jsonl", "table"), default="jsonl")
    parser.add_argument("--strict-length", action="store_true",
                        help="drop datagrams the snap length cut (Suricata's behaviour) instead of counting them")
    parser.add_argument("--stream-policy", choices=("first", "last", "bsd", "linux"), default="linux",
                        help="TCP overlaps: whose bytes the reassembled stream keeps (default linux)")
    parser.add_argument("--checksum", choices=("auto", "verify", "ignore"), default="auto",
                        help="TCP segments with a bad checksum: dropped per sender (auto), always, or never checked")
    parser.add_argument("-o", "--output", help="write records here instead of stdout")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..errors import ConfigError, OutputError
    from ..net.pipeline import NetConfig, NetPipeline

    if bool(args.captures) == bool(args.interface):
        raise ConfigError("give capture files or --interface, not both and not neither")
    from ..net.reassembly import StreamConfig

    config = NetConfig(vehicle_networks=args.vehicle_net, strict_length=args.strict_length,
                       stream=StreamConfig(policy=args.stream_policy, checksum=args.checksum))
    replays: list = []
    state: dict = {}
    try:
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(record_output(args.output, out, "flow records"))
            writer = _Writer(sink, args.format)
            state["pipeline"] = pipeline = NetPipeline(config, sink=writer)
            try:
                _read(args, pipeline, sink, replays, state, stack)
            except KeyboardInterrupt:
                pass  # finish the flows seen so far
            finally:
                pipeline.finish()
                writer.close()
    except OutputError:
        if "pipeline" in state:  # what was read, before the line that says what was not written
            _summary(state["pipeline"], replays, state.get("capture"), err)
        raise
    _summary(pipeline, replays, state.get("capture"), err)
    return 0


def _read(args, pipeline, sink: RecordSink, replays: list, state: dict, stack: contextlib.ExitStack) -> None:
    from ..net.capture import ReplayStats, read_capture

    if args.captures:
        for path in args.captures:
            replays.append(ReplayStats())
            for batch in read_capture(path, stats=replays[-1]):
                pipeline.process(batch)
        return
    state["capture"] = capture = stack.enter_context(_live(args))
    for batch in capture.take(max_packets=args.count, duration=args.duration):
        pipeline.process(batch)
        sink.check()  # nowhere to write: stop capturing


def _live(args):
    from ..net.live import CaptureConfig, LiveCapture

    return LiveCapture(CaptureConfig(interfaces=args.interface, bpf_filter=args.filter, snaplen=args.snaplen))


class _Writer:
    """The flows' records as JSON lines (or a table): a batch of finishing flows is written
    from its columns (flowjson.py), each record with its remote side's country appended."""

    def __init__(self, sink: RecordSink, fmt: str) -> None:
        from ..config.model import GeoIp
        from ..policy.countries import Countries

        self.sink, self.fmt = sink, fmt
        self.takes_columns = fmt == "jsonl"  # with the native core, C writes the lines (flowcolumns.py)
        self.rows: list[dict] = []
        self.countries = Countries(GeoIp())  # the built-in table: the remote side's country

    def __call__(self, record: dict) -> None:
        remote = record[f"{remote_side(record.get('direction'))}_h"]
        record.update(self.countries.place(remote).as_dict())
        if self.fmt == "jsonl":
            self.sink.write(json.dumps(record) + "\n")
        else:
            self.rows.append(record)

    def batch(self, flows: FlowBatch) -> None:
        if self.fmt != "jsonl":
            for record in flows.records():
                self(record)
            return
        remotes = flows.remotes()
        places = {address: fields_text(self.countries.place(address).as_dict()) for address in set(remotes)}
        write = self.sink.write
        for line in flow_lines(flows, list(map(places.__getitem__, remotes))):
            write(line)

    def columns(self, flows) -> None:
        """The same lines as ``batch``, written by the native core from the flows' columns."""
        remotes, entry = flows.remotes()
        places = [fields_text(self.countries.place(address).as_dict()) for address in remotes]
        write = self.sink.write
        for line in flows.lines(places, entry).splitlines(True):
            write(line)

    def close(self) -> None:
        if self.fmt == "table":
            self.rows.sort(key=lambda r: r["first_seen"])
            cells = [[_cell(r, c) for c in TABLE_COLUMNS] for r in self.rows]
            widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(TABLE_COLUMNS)]
            self.sink.write("  ".join(c.ljust(w) for c, w in zip(TABLE_COLUMNS, widths)).rstrip() + "\n", record=False)
            for row in cells:
                self.sink.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
        self.sink.flush()


def _cell(record: dict, column: str) -> str:
    value = record.get(column)
    if column == "names":
        return ",".join(f"{n['name']}({'+'.join(n['learned_from'])})" for n in value or ()) or "-"
    return "-" if value is None else str(value)


def _summary(pipeline, replays, capture, err: TextIO) -> None:
    summary = pipeline.summary()
    status = ", ".join(f"{k} {v}" for k, v in sorted(summary["packets_by_status"].items()))
    flows = summary["flows"]
    print(f"packets: {summary['packets']} ({status or 'none'}); flows: {flows['finished']} "
          f"(evicted {flows['evicted']})", file=err)
    frag = summary["fragments"]
    if frag["fragments"]:
        print(f"fragments: {frag['fragments']}, reassembled datagrams {frag['reassembled']}, "
              f"incomplete {frag['incomplete_datagrams']} ({frag['incomplete_fragments']} fragments, "
              f"{frag['incomplete_bytes']} bytes), overlaps {frag['overlaps']}", file=err)
    from ..net.pipeline import limits_hit

    limits = limits_hit(summary)
    if limits:
        print("limits reached (counted, see docs/architecture.md, Bounds): " + ", ".join(limits), file=err)
    for replay in replays:
        if replay.damaged or replay.truncated_file or replay.bad_times:
            print(f"{replay.path}: damaged records skipped {replay.damaged}"
                  f"{f'; packet times out of range {replay.bad_times}' if replay.bad_times else ''}"
                  f"{'; file truncated' if replay.truncated_file else ''}", file=err)
    if capture is not None:
        print(f"live: {capture.capture.packets} packets captured, kernel drops {capture.capture.kernel_drops}", file=err)
