"""Fuzz targets: every parser of outside input, with the only errors it may raise.

A target takes bytes and feeds them to one reader the way the monitor does (a file for the
file readers, a payload for the protocol parsers). Any exception outside ``allowed`` is a bug.
tests/hostile/test_fuzz.py runs each under hypothesis within a CPU and memory budget;
``python -m lab.fuzz`` (``make fuzz``) runs them coverage-guided with atheris,
seeded from the project's own data, and keeps what crashes in out/fuzz/<target>/.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import MonitorError
from monitor.resources import shipped

from . import PROJECT


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]


def _as_file(suffix: str, read: Callable[[Path], object]) -> Callable[[bytes], object]:
    def run(data: bytes) -> object:
        with tempfile.TemporaryDirectory(prefix="gatewatch-fuzz-") as folder:
            path = Path(folder) / f"input{suffix}"
            path.write_bytes(data)
            return read(path)

    return run


# ------------------------------------------------------------------ the readers, as the monitor calls them

def _candump(data: bytes) -> object:
    from monitor.canbus.candump import parse_candump

    return parse_candump(data)


def _can_log(path: Path) -> object:
    from monitor.canbus.logs import read_log

    return [len(batch) for batch, _ in read_log(path)]


def _dbc(path: Path) -> object:
    from monitor.canbus.dbc import load_dbc
    from monitor.canbus.plan import compile_plan

    return compile_plan([(load_dbc(path), str(path))])


FRAME_RECORD = 70  # bytes per fuzzed frame: id (4, little-endian; bit 31 extended), dlc (1), flags (1), 64 data


def _decode(data: bytes) -> object:
    """Frames made of the bytes, decoded with every shipped DBC's plan (the decode kernel)."""
    import numpy as np

    from monitor.canbus.decode import decode_batch
    from monitor.canbus.frames import FrameBatch

    n = min(len(data) // FRAME_RECORD, 4096)
    raw = np.frombuffer(data[: n * FRAME_RECORD], np.uint8).reshape(n, FRAME_RECORD)
    batch = FrameBatch.empty(n, ("fuzz",))
    ident = raw[:, :4].copy().view("<u4").ravel()
    batch.is_extended[:] = (ident >> 31) == 1
    batch.arbitration_id[:] = np.where(batch.is_extended, ident & 0x1FFFFFFF, ident & 0x7FF)
    batch.is_fd[:] = (raw[:, 5] & 1) == 1
    batch.dlc[:] = np.minimum(raw[:, 4], np.where(batch.is_fd, 64, 8))
    batch.data[:] = raw[:, 6:]
    return [decode_batch(plan, batch).errors for plan in _decode_plans()]


def _decode_plans() -> list:
    from monitor.canbus.dbc import load_dbc
    from monitor.canbus.plan import compile_plan

    if not _PLANS:
        for path in sorted(shipped("dbc").rglob("*.dbc")):
            _PLANS.append(compile_plan([(load_dbc(path), str(path))]))
    return _PLANS


_PLANS: list = []


def _decode_seeds() -> list[bytes]:
    from monitor.canbus.candump import parse_candump

    batch, _ = parse_candump(_can_seeds()[0])
    records = []
    for i in range(min(len(batch), 256)):
        ident = int(batch.arbitration_id[i]) | (1 << 31 if batch.is_extended[i] else 0)
        records.append(ident.to_bytes(4, "little") + bytes([int(batch.dlc[i]), int(batch.is_fd[i])]) + batch.data[i].tobytes())
    return [b"".join(records)]


def _capture(path: Path) -> object:
    from monitor.net.capture import read_capture

    return sum(len(batch) for batch in read_capture(path))


def _frames(data: bytes) -> list[bytes]:
    """Bytes cut into frames at each 0xFF 0xFE marker, so one input is many packets."""
    return data.split(b"\xff\xfe")[:64]


def _pipeline(data: bytes) -> object:
    """L2-L4 headers, fragments, flows and the application parsers on Ethernet frames."""
    from monitor.net.packets import LINKTYPE_ETHERNET, from_packets
    from monitor.net.pipeline import NetConfig, NetPipeline

    pipeline = NetPipeline(NetConfig(keep_events=True))
    frames = _frames(data)
    pipeline.process(from_packets(frames, [1_700_000_000_000_000_000 + i * 1_000 for i in range(len(frames))],
                                  LINKTYPE_ETHERNET))
    pipeline.finish()
    return pipeline.drain()


def _dns(data: bytes) -> object:
    from monitor.net.app.dns import parse_message
    from monitor.net.names import NameCache

    return NameCache().learn(parse_message(data), 0)


def _tls(data: bytes) -> object:
    from monitor.net.app.tls import client_hello_from_records

    return client_hello_from_records(data)


def _http(data: bytes) -> object:
    from monitor.net.app.http import host_of, parse_requests

    requests, _ = parse_requests(data)
    return [host_of(r) for r in requests]


def _quic(data: bytes) -> object:
    from monitor.net.app import quic

    assembler = quic.CryptoAssembler()
    for packet in quic.initial_packets(data):
        for offset, chunk in quic.crypto_frames(packet.frames_payload):
            assembler.add(offset, chunk)
    return assembler


def _mqtt(data: bytes) -> object:
    from monitor.detect.wire.scan import mqtt

    return mqtt(data)


def _wire(data: bytes) -> object:
    """Every wire signature and position decoder on the payload, each called directly (not
    through scan_payload, which would count a raise instead of showing it)."""
    from monitor.detect.wire.scan import PARSERS

    return [parser.parse(data) for parser in PARSERS]


def _isotp_uds(data: bytes) -> object:
    from monitor.canbus.isotp import Reassembler
    from monitor.detect.uds import UdsTransfers

    uds = UdsTransfers()
    uds.configure(_default_thresholds())
    assembler = Reassembler()
    found = []
    for i, frame in enumerate(_frames(data)):
        message = assembler.add("can0", 0x7E0 + (i & 1) * 8, i / 100, frame[:64])
        if message is not None:
            found.append(uds._service(message))
    return found


_THRESHOLDS: list = []


def _default_thresholds():
    if not _THRESHOLDS:
        from monitor.pipeline import load_config

        _THRESHOLDS.append(load_config().thresholds)
    return _THRESHOLDS[0]


def _config(path: Path) -> object:
    from monitor.pipeline import load_config

    return load_config(path)


def _alert_log(data: bytes) -> object:
    from monitor.alerts.logfiles import read_file
    from monitor.alerts.verify import verify_all

    with tempfile.TemporaryDirectory(prefix="gatewatch-fuzz-") as folder:
        path = Path(folder) / "alerts-fuzz-000000000001.jsonl"
        path.write_bytes(data)
        return list(read_file(path)), verify_all([Path(folder)], None)


# ------------------------------------------------------------------ seeds from the project's own data

def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _can_seeds() -> list[bytes]:
    return [_head(p) for p in sorted((PROJECT / "seeds").glob("*/can.log"))[:4]]


def _converted(suffix: str) -> Callable[[], list[bytes]]:
    """A seed CAN log rewritten by python-can's own writer in another format."""
    def seeds() -> list[bytes]:
        import can

        from monitor.canbus.candump import parse_candump

        batch, _ = parse_candump(_head(PROJECT / "seeds" / "clean-drive" / "can.log", 2048))
        with tempfile.TemporaryDirectory(prefix="gatewatch-fuzz-") as folder:
            path = Path(folder) / f"seed{suffix}"
            with can.Logger(str(path)) as writer:
                for i in range(len(batch)):
                    writer.on_message_received(can.Message(timestamp=float(batch.timestamp[i]),
                                                           arbitration_id=int(batch.arbitration_id[i]),
                                                           is_extended_id=bool(batch.is_extended[i]),
                                                           data=batch.payload(i), channel=0))
            return [path.read_bytes()]

    return seeds


def _capture_seeds() -> list[bytes]:
    return [_head(p, 8192) for p in sorted((PROJECT / "seeds").glob("*/capture.pcap"))[:4]]


def _pcapng_seeds() -> list[bytes]:
    """The first packets of a seed capture as a pcapng (section, interface, enhanced packets)."""
    from monitor.net.capture import read_capture
    from monitor.testing.pcapngwire import option, pcapng_bytes

    batch = next(iter(read_capture(PROJECT / "seeds" / "clean-drive" / "capture.pcap", batch_size=8)))
    packets = [(int(batch.ts_ns[i]), batch.packet(i)) for i in range(len(batch))]
    return [pcapng_bytes(packets, option(9, bytes([9])))]  # if_tsresol 9: nanoseconds


def _payload_seeds() -> list[bytes]:
    from monitor.testing.drive import jt808_location
    from monitor.testing.quicwire import client_initial
    from monitor.testing.scene import client_hello, gbt32960_realtime, http_post

    hello = client_hello("seed.example")
    return [hello, http_post("t.example", "/v1/pos", b'{"lat": 48.1, "lon": 11.5}'),
            jt808_location(48.1, 11.5, 1), gbt32960_realtime("LSVAX4182E2000001", 1.7e9, 31.2, 121.4, 50.0, 80),
            b"\x30\x1c\x00\x09vehicle/1{\"lat\":48.1,\"lon\":11.5}", b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n",
            client_initial(bytes(range(8)), b"\x06\x00" + bytes([0x40 | (len(hello) - 5) >> 8, (len(hello) - 5) & 0xFF]) + hello[5:])[0]]


def _dns_seeds() -> list[bytes]:
    name = b"\x03www\x07example\x03com\x00"
    return [struct.pack("!HHHHHH", 1, 0x8180, 1, 2, 0, 0) + name + struct.pack("!HH", 1, 1)
            + b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 6) + b"\x03cdn\xc0\x10"
            + b"\xc0\x29" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([93, 184, 216, 34])]


def _isotp_seeds() -> list[bytes]:
    return [b"\xff\xfe".join([bytes.fromhex("1014350000123401"), bytes.fromhex("3000000000000000"),
                              bytes.fromhex("2101020304050607"), bytes.fromhex("2208090a0b0c0d0e"),
                              bytes.fromhex("037f2735")])]


def _config_seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted((PROJECT / "policies").glob("*.yaml"))[:2]]


def _dbc_seeds() -> list[bytes]:
    return [shipped("dbc/css-electronics/gnss.dbc").read_bytes()]


def _alert_seeds() -> list[bytes]:
    from monitor.alerts.files import ChainedWriter

    with tempfile.TemporaryDirectory(prefix="gatewatch-fuzz-") as folder:
        writer = ChainedWriter(Path(folder), "fuzz")
        for i in range(3):
            writer.append({"class_uid": 2004, "time": 1_700_000_000_000 + i, "message": f"seed {i}", "metadata": {}, "unmapped": {}})
        writer.close()
        return [p.read_bytes() for p in sorted(Path(folder).glob("alerts-*.jsonl"))]


def _pipeline_seeds() -> list[bytes]:
    from monitor.net.capture import read_capture

    batch = next(iter(read_capture(PROJECT / "seeds" / "remote-access" / "capture.pcap", batch_size=32)))
    return [b"\xff\xfe".join(batch.packet(i) for i in range(len(batch)))]


def targets() -> tuple[Target, ...]:
    from monitor.net.app.dns import DnsError
    from monitor.net.app.quic import QuicError
    from monitor.net.app.tls import NeedMore, NotTls

    return (
        Target("candump", _candump, (), _can_seeds),
        Target("candump_file", _as_file(".log", _can_log), (MonitorError,), _can_seeds),
        Target("asc", _as_file(".asc", _can_log), (MonitorError,), _converted(".asc")),
        Target("blf", _as_file(".blf", _can_log), (MonitorError,), _converted(".blf")),
        Target("trc", _as_file(".trc", _can_log), (MonitorError,), _converted(".trc")),
        Target("dbc", _as_file(".dbc", _dbc), (MonitorError,), _dbc_seeds),
        Target("dbc_decode", _decode, (), _decode_seeds),
        Target("pcap", _as_file(".pcap", _capture), (MonitorError,), _capture_seeds),
        Target("pcapng", _as_file(".pcapng", _capture), (MonitorError,), _pcapng_seeds),
        Target("l2_l4_fragments_flows_apps", _pipeline, (), _pipeline_seeds),
        Target("dns", _dns, (DnsError,), _dns_seeds),
        Target("tls", _tls, (NeedMore, NotTls), lambda: _payload_seeds()[:1]),
        Target("http", _http, (), lambda: _payload_seeds()[1:2]),
        Target("quic", _quic, (QuicError, NotTls), lambda: _payload_seeds()[-1:]),
        Target("mqtt", _mqtt, (), lambda: _payload_seeds()[4:5]),
        Target("wire_signatures_and_positions", _wire, (), _payload_seeds),
        Target("isotp_uds", _isotp_uds, (), _isotp_seeds),
        Target("config_yaml", _as_file(".yaml", _config), (MonitorError,), _config_seeds),
        Target("alert_log", _alert_log, (MonitorError,), _alert_seeds),
    )


def by_name(name: str) -> Target:
    for target in targets():
        if target.name == name:
            return target
    raise SystemExit(f"no fuzz target {name!r} (known: {', '.join(t.name for t in targets())})")


def fuzz_one(name: str, options: list[str]) -> int:
    """One target under atheris (libFuzzer options pass through), its corpus in
    out/fuzz/NAME/corpus seeded from the project's data; crashing inputs land beside it."""
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]' (or make fuzz)", file=sys.stderr)
        return 2
    target = by_name(name)
    home = PROJECT / "out" / "fuzz" / target.name
    corpus = home / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(target.seeds()):  # also imports every module the target reaches
        (corpus / f"seed-{i}").write_bytes(seed)
    atheris.instrument_all()

    def one_input(data: bytes) -> None:
        try:
            target.run(data)
        except target.allowed:
            pass

    atheris.Setup([sys.argv[0], *BUDGET, *options, f"-artifact_prefix={home}/", str(corpus)], one_input)
    atheris.Fuzz()
    return 0


#: libFuzzer's per-input limits: the same kind of budget the hypothesis tests hold each input to.
BUDGET = ["-timeout=10", "-rss_limit_mb=1024"]
ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-")  # what libFuzzer keeps of a failing input
DONE = re.compile(r"Done (\d+) runs")


def fuzz_all(runs: int, names: list[str]) -> dict:
    """Every target (or those named) for ``runs`` inputs each, one process per target: inputs
    run, crashes kept, in out/fuzz/summary.json for make hostile."""
    out = PROJECT / "out" / "fuzz" / "summary.json"
    from monitor import native

    summary: dict = {"runs_asked": runs, "core": native.DESCRIPTION, "targets": {}}  # the sanitizer build under make fuzz
    if names and out.is_file():  # a run of some targets updates theirs and keeps the others'
        summary["targets"] = json.loads(out.read_text()).get("targets", {})
    for target in targets():
        if names and target.name not in names:
            continue
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "lab.fuzz", target.name, f"-runs={runs}"],
                              capture_output=True, text=True, cwd=PROJECT, check=False)
        found = DONE.findall(done.stderr)
        crashes = sorted(p.name for p in (PROJECT / "out" / "fuzz" / target.name).iterdir() if p.name.startswith(ARTIFACTS))
        summary["targets"][target.name] = {"inputs": int(found[-1]) if found else None, "exit": done.returncode,
                                           "crashes": crashes, "seconds": round(time.perf_counter() - started, 1),
                                           **({"tail": done.stderr[-600:]} if done.returncode else {})}
        print(f"{target.name:32} inputs {summary['targets'][target.name]['inputs']}  crashes {len(crashes)}  "
              f"exit {done.returncode}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str]) -> int:
    """``python -m lab.fuzz TARGET [libFuzzer options]`` runs one target;
    ``python -m lab.fuzz --all [--runs N] [TARGET ...]`` runs each for N inputs."""
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(main.__doc__, "\ntargets:", ", ".join(t.name for t in targets()))
        return 0
    if argv[1] == "--all":
        rest = argv[2:]
        runs = 20_000
        if rest[:1] == ["--runs"]:
            runs, rest = int(rest[1]), rest[2:]
        summary = fuzz_all(runs, rest)
        return 1 if any(t["crashes"] or t["exit"] for t in summary["targets"].values()) else 0
    return fuzz_one(argv[1], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
