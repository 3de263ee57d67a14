"""``gatewatch bench can --live``: the raw SocketCAN path at bus load, CPU per frame.

Four buses, each a SOCK_SEQPACKET socket pair carrying kernel ``can_frame`` records (the raw
source reads them exactly as from an AF_CAN socket; vcan needs a kernel module this machine
may not have). A child process writes full-length classic frames of the DBC's messages at the
rate of four buses at 1 Mbit/s (about 8,800 frames/s each, 35,000 in all), paced in 10 ms steps.
This process receives them through the daemon's own path (raw sources, lanes, the time merge,
the pipeline: decode and vehicle-state update on every frame) and its CPU time is counted per
frame. The writer's CPU is its own process's and is not counted.
"""

from __future__ import annotations

import functools
import os
import resource
import socket
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import native
from ..canbus.dbc import load_dbc
from ..canbus.frames import FrameBatch
from ..canbus.rawsocket import RawSocketCanSource
from ..testing.oracle import encoded_payloads

BUSES = 4
FRAMES_PER_S = 8_800  # per bus: 1 Mbit/s of 8-byte classic frames (about 113 bits each with stuffing)
STEP_S = 0.01
TARGET_US = 3.0


def records(db, count: int, seed: int) -> list[bytes]:
    """``count`` kernel can_frame records (16 bytes) of the DBC's 8-byte messages, cycling randomly."""
    rng = np.random.default_rng(seed)
    messages = [m for m in db.messages if m.length == 8 and not m.is_container]
    pools = [encoded_payloads(m, rng, 16) for m in messages]
    pick, variant = rng.integers(0, len(messages), count), rng.integers(0, 16, count)
    out = []
    for m, v in zip(pick.tolist(), variant.tolist()):
        message = messages[m]
        can_id = message.frame_id | (0x80000000 if message.is_extended_frame else 0)
        out.append(struct.pack("=IBBBB", can_id, 8, 0, 0, 0) + pools[m][v][:8].ljust(8, b"\0"))
    return out


def _write(ends: list[socket.socket], frames: list[list[bytes]]) -> None:
    """In the child: every bus's frames at FRAMES_PER_S, one 10 ms step at a time."""
    per_step = int(FRAMES_PER_S * STEP_S)
    start = time.perf_counter()
    for step in range(0, max(len(f) for f in frames), per_step):
        for end, bus in zip(ends, frames, strict=True):
            for record in bus[step : step + per_step]:
                end.send(record)
        delay = start + (step // per_step + 1) * STEP_S - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    for end in ends:
        end.close()


def _same(sock: socket.socket) -> socket.socket:
    return sock


def run(dbc: Path, frames_per_bus: int) -> dict:
    from ..pipeline import Monitor, load_config
    from ..pipeline import run as pipeline_run
    from ..timeline import Timeline

    db = load_dbc(dbc)
    frames = [records(db, frames_per_bus, seed) for seed in range(BUSES)]
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(BUSES)]
    for reader, _ in pairs:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    with tempfile.TemporaryDirectory() as tmp:  # the default configuration; each bus decodes with the bench's DBC
        path = Path(tmp) / "live.yaml"
        buses = "".join(f"    - {{name: bus{i}, interface: socketcan, channel: bench{i}, dbc: [{dbc}]}}\n" for i in range(BUSES))
        path.write_text(f"version: 1\nextends: default\nsources:\n  can:\n{buses}")
        config = load_config(path)
    monitor = Monitor(config)
    sources = [RawSocketCanSource(f"bus{i}", f"bench{i}", fd=False, connect=functools.partial(_same, reader))
               for i, (reader, _) in enumerate(pairs)]
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    child = os.fork()
    if child == 0:  # the writer: its own process, its own CPU
        try:
            for reader, _ in pairs:
                reader.close()
            _write([writer for _, writer in pairs], frames)
        finally:
            os._exit(0)
    for _, writer in pairs:
        writer.close()
    timeline = Timeline(sources).start()
    seen = {"frames": 0}

    def stop_when_drained() -> None:
        if seen["frames"] >= BUSES * frames_per_bus:
            timeline.stop()

    def count(source, batch: object) -> None:
        assert isinstance(batch, FrameBatch)
        seen["frames"] += len(batch)

    pipeline_run(monitor, timeline, tick=stop_when_drained, dispatched=count)
    wall = time.perf_counter() - wall
    os.waitpid(child, 0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    received = seen["frames"]
    return {"buses": BUSES, "frames_sent": BUSES * frames_per_bus, "frames_received": received,
            "offered_frames_per_s": BUSES * FRAMES_PER_S, "seconds": wall, "cpu_seconds": cpu,
            "cpu_us_per_frame": cpu / received * 1e6 if received else None,
            "cpu_share_of_one_core": cpu / wall, "target_us_per_frame": TARGET_US,
            "queue_drops": sum(s.stats.queue_drops for s in sources)}


def run_on_cores(dbc: Path, frames_per_bus: int) -> dict:
    """``run`` on the core in use and, where that is native, again on the numpy reference."""
    report = run(dbc, frames_per_bus)
    report["core"] = native.DESCRIPTION
    if native.kernels is not None:
        with native.use_numpy():
            report["numpy"] = run(dbc, frames_per_bus)
    return report


def format_table(report: dict) -> str:
    lines = _table(report, f"core {report['core']}")
    if "numpy" in report:
        lines += _table(report["numpy"], "the numpy reference core, in the same run")
    return "\n".join(lines)


def _table(report: dict, core: str) -> list[str]:
    us = report["cpu_us_per_frame"]
    verdict = "met" if us is not None and us <= TARGET_US else "NOT MET"
    return [
        (f"live CAN ({core}): {report['buses']} buses over socket pairs, {report['offered_frames_per_s']:,} frames/s offered "
        f"(full-length classic frames), through the daemon's path"),
        f"  frames sent / received        {report['frames_sent']:,} / {report['frames_received']:,}",
        f"  wall (s)                      {report['seconds']:.2f}",
        f"  CPU (s)                       {report['cpu_seconds']:.2f}   ({report['cpu_share_of_one_core']:.1%} of a core)",
        f"  CPU per frame (us)            {us:.2f}   target <= {TARGET_US}: {verdict}" if us is not None else "  no frames",
    ]
