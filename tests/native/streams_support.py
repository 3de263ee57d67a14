"""Shared by the streams equivalence tests: raw TCP frames with every kind of checksum, and a
StreamTable twin that runs the compiled core and the numpy reference side by side inside one
pipeline, comparing what each batch hands out, the counters and every sender's state."""

from __future__ import annotations

import struct

import numpy as np

from monitor import native
from monitor.net.capture import read_capture
from monitor.net.packets import from_packets
from monitor.net.pipeline import NetConfig, NetPipeline
from monitor.net.reassembly import StreamTable

from .core import required_core

CLIENT, SERVER = bytes([10, 1, 0, 5]), bytes([203, 0, 113, 9])
CLIENT6, SERVER6 = bytes(range(1, 17)), bytes(range(100, 116))


def _fold(words: int) -> int:
    return words % 0xFFFF


def _sum(data: bytes) -> int:
    data += b"\0" * (len(data) & 1)
    return sum(struct.unpack(f">{len(data) // 2}H", data)) if data else 0


def tcp_frame(seq: int, flags: int, payload: bytes = b"", *, to_server: bool = True, checksum: str = "good",
              v6: bool = False, port: int = 40000) -> bytes:
    """An Ethernet frame: IPv4 (or IPv6) and TCP, its checksum good, bad, 0 or the bare
    pseudo-header sum (as offload leaves it)."""
    src, dst = (CLIENT6, SERVER6) if v6 else (CLIENT, SERVER)
    if not to_server:
        src, dst = dst, src
    sport, dport = (port, 443) if to_server else (443, port)
    tcp = bytearray(struct.pack(">HHIIBBHHH", sport, dport, seq % (1 << 32), 1, 5 << 4, flags, 65535, 0, 0) + payload)
    pseudo = _fold(_sum(src + dst)) + 6 + len(tcp)
    good = (0xFFFF - _fold(pseudo + _sum(bytes(tcp)))) or 0xFFFF
    value = {"good": good, "bad": good ^ 0x5A5A, "zero": 0, "bare": _fold(pseudo) or 0xFFFF}[checksum]
    tcp[16:18] = struct.pack(">H", value)
    if v6:
        ip = struct.pack(">IHBB", 6 << 28, len(tcp), 6, 64) + src + dst
        ether = 0x86DD
    else:
        ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0) + src + dst
        ether = 0x0800
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + struct.pack(">H", ether) + ip + bytes(tcp)


def batches_of(frames: list[bytes], times_ns: list[int], cuts: list[int]) -> list:
    """The frames as Ethernet batches, cut at the given indices."""
    edges = sorted({0, len(frames), *(c for c in cuts if 0 < c < len(frames))})
    return [from_packets(frames[a:b], times_ns[a:b], 1) for a, b in zip(edges, edges[1:])]


def sender_state(table: StreamTable) -> list:
    slots = ("anchor", "next", "base", "confirmed", "delivered", "held", "pieces", "waiting_since", "verdict", "bad",
             "aside")
    return [(key, [getattr(sender, name) for name in slots]) for key, sender in table.senders.items()]


def table_state(table: StreamTable) -> tuple:
    return (list(table.summary().items()), sender_state(table), sorted(table.waiting), dict(table.slots),
            table.memory.used, table.done_fid.tolist(), table.done_bits.tolist())


class TwinStreams:
    """Stands in for a pipeline's StreamTable: every batch goes to a table on the compiled core
    and to one on the numpy reference; their results and states must match after each."""

    def __init__(self, config, core) -> None:
        self.fast, self.reference, self.core, self.batches = StreamTable(config), StreamTable(config), core, 0

    def process(self, *args):
        saved = native.kernels
        native.kernels = self.core
        try:
            fast = self.fast.process(*args)
        finally:
            native.kernels = saved
        with native.use_numpy():
            reference = self.reference.process(*args)
        assert list(fast[0].items()) == list(reference[0].items()), f"batch {self.batches}: delivered bytes differ"
        assert fast[1].tolist() == reference[1].tolist(), f"batch {self.batches}: past-depth rows differ"
        assert table_state(self.fast) == table_state(self.reference), f"batch {self.batches}: states differ"
        self.batches += 1
        return reference

    def purge(self, live) -> None:
        self.fast.purge(live)
        self.reference.purge(live)

    def summary(self) -> dict:
        assert table_state(self.fast) == table_state(self.reference)
        return self.reference.summary()


def twin_run(batches, config: NetConfig | None = None) -> tuple[dict, int]:
    """Run batches through a pipeline whose streams are a TwinStreams; its summary and batches."""
    core = required_core()
    pipeline = NetPipeline(config or NetConfig())
    twin = pipeline.streams = TwinStreams(pipeline.config.stream, core)
    for batch in batches:
        pipeline.process(batch)
    pipeline.finish()
    return pipeline.summary(), twin.batches


def capture_batches(path) -> list:
    with native.use_numpy():
        return list(read_capture(path))


def records(batches, kernels, config: NetConfig | None = None) -> list[str]:
    """The sorted JSON records of a pipeline run with native.kernels set to kernels for the
    streams (the rest on the numpy reference), its summary last."""
    import json

    from monitor.net import reassembly

    out: list[dict] = []

    class Only:
        pass

    only = Only()
    only.kernels = kernels
    saved = reassembly.native
    reassembly.native = only
    try:
        with native.use_numpy():
            pipeline = NetPipeline(config or NetConfig(), sink=out.append)
            for batch in batches:
                pipeline.process(batch)
            pipeline.finish()
    finally:
        reassembly.native = saved
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in out) + [json.dumps(pipeline.summary(), default=str)]


__all__ = ["batches_of", "capture_batches", "np", "records", "tcp_frame", "twin_run"]
