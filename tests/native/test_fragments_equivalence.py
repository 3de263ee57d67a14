"""Native IP fragment walk against the numpy reference: each batch completes the same datagrams
(bytes, times, order), and leaves the same counters and pending datagrams (order, pieces,
units, ends, headers), on the corpus, the seeds, and made-up fragments: shuffled, duplicated,
overlapping with other bytes, cut, garbage offsets and lengths, ends that disagree, IPv6."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether

from monitor import native
from monitor.net.fragments import Reassembler
from monitor.net.packets import from_packets
from monitor.net.pipeline import NetPipeline
from tests.conftest import PROJECT, corpus_files

from .core import required_core
from .streams_support import capture_batches

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/*.pcap*"))
ETHER = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # no address resolution
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _state(table: Reassembler) -> tuple:
    return (table.stats, table.held, [(key, vars(d)) for key, d in table.pending.items()])


def _batch(out) -> tuple | None:
    return None if out is None else (out.data.tobytes(), out.offset.tolist(), out.caplen.tolist(), out.ts_ns.tolist())


class TwinFragments:
    """Stands in for a pipeline's Reassembler: every batch goes to one on the compiled core and
    one on the numpy reference; their results and states must match after each."""

    def __init__(self, core, max_pending: int = 4096) -> None:
        self.fast, self.reference = Reassembler(max_pending=max_pending), Reassembler(max_pending=max_pending)
        self.core, self.stats = core, self.reference.stats

    def add(self, batch, h, rows):
        saved = native.kernels
        native.kernels = self.core
        try:
            fast = self.fast.add(batch, h, rows)
        finally:
            native.kernels = saved
        with native.use_numpy():
            reference = self.reference.add(batch, h, rows)
        assert _batch(fast) == _batch(reference)
        assert _state(self.fast) == _state(self.reference)
        return reference

    def flush(self) -> None:
        self.fast.flush()
        self.reference.flush()
        assert _state(self.fast) == _state(self.reference)


def twin_run(batches, max_pending: int = 4096) -> Reassembler:
    pipeline = NetPipeline()
    twin = pipeline.fragments = TwinFragments(required_core(), max_pending)
    for batch in batches:
        pipeline.process(batch)
    pipeline.finish()
    return twin.reference


@pytest.mark.parametrize("path", CAPTURES + SEEDS, ids=lambda p: p.name)
def test_real_captures_reassemble_fragments_the_same(path) -> None:
    twin_run(capture_batches(path))


def _frames(seed: int, count: int, v6: bool, size: int) -> list[bytes]:
    frames = []
    for i in range(count):
        if v6:
            whole = IPv6(src="fd00::2", dst="2001:db8::53") / IPv6ExtHdrFragment(id=seed + i) / UDP() / (b"Q" * size)
            frames += [bytes(ETHER / f) for f in fragment6(whole, 1280)]
        else:
            whole = IP(src="10.0.0.2", dst="9.9.9.9", id=(seed + i) % 65536) / UDP() / (bytes([65 + i % 26]) * size)
            frames += [bytes(ETHER / f) for f in fragment(whole, fragsize=8 * (1 + seed % 60))]
    return frames


def _mangle(frames: list[bytes], rng: random.Random) -> list[bytes]:
    out = []
    for frame in frames:
        how = rng.randrange(8)
        if how == 0:
            out += [frame, frame]  # a duplicate
        elif how == 1:
            out.append(frame[: rng.randrange(14, len(frame))])  # cut
        elif how == 2 and len(frame) > 40:
            mangled = bytearray(frame)
            mangled[rng.randrange(34, len(frame))] ^= 0xFF  # other bytes where it overlaps a copy
            out += [frame, bytes(mangled)] if rng.random() < 0.5 else [bytes(mangled), frame]
        elif how == 3 and len(frame) > 22:
            mangled = bytearray(frame)
            mangled[20] ^= rng.choice([0x20, 0x1F, 0x3F])  # more-fragments flag and offset bits
            out.append(bytes(mangled))
        else:
            out.append(frame)
    rng.shuffle(out)
    return out


@SETTINGS
@given(seed=st.integers(0, 10**6), count=st.integers(1, 4), v6=st.booleans(), size=st.sampled_from([100, 1500, 4000]),
       cuts=st.lists(st.integers(1, 200), max_size=4), max_pending=st.sampled_from([4096, 2, 1]))
def test_made_up_fragments_reassemble_the_same(seed, count, v6, size, cuts, max_pending) -> None:
    rng = random.Random(seed)
    frames = _mangle(_frames(seed, count, v6, size), rng)
    edges = sorted({0, len(frames), *(c for c in cuts if c < len(frames))})
    batches = [from_packets(frames[a:b], list(range(a, b)), 1) for a, b in zip(edges, edges[1:])]
    twin_run(batches, max_pending)


def test_garbage_fragments_are_the_same() -> None:
    rng = random.Random(5)
    packets = []
    for _ in range(400):
        packets.append(bytes(ETHER / IP(src="10.0.0.3", dst="9.9.9.9", id=rng.randrange(4), proto=17,
                                          frag=rng.choice([0, 1, 2, rng.randrange(0, 8192)]), flags=rng.choice([0, 1]))
                             / bytes(rng.choice([0, 8, 16, rng.randrange(0, 64)]))))
    twin_run([from_packets(packets[a : a + 50], list(range(a, a + 50)), 1) for a in range(0, 400, 50)])
