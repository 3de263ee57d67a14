"""Native TCP reassembly helpers (checksum verdicts, the segment fast path) against the numpy
reference: each batch hands out the same bytes, the same past-depth rows, the same counters and
the same per-sender state, on the corpus, the seeds and hypothesis-made segment streams
(reordering, overlaps under every policy, retransmissions, wrap-around, holes, bad and
offloaded checksums, mid-stream starts, huge gaps, tight caps); and `gatewatch flows` gives the
same sorted records."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.net.pipeline import NetConfig
from monitor.net.reassembly import MOD, StreamConfig
from tests.conftest import PROJECT, corpus_files

from .core import required_core
from .streams_support import batches_of, capture_batches, records, tcp_frame, twin_run

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/*.pcap*"))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                              HealthCheck.too_slow])
SYN, ACK, PSH = 0x02, 0x10, 0x08


@pytest.mark.parametrize("path", CAPTURES + SEEDS, ids=lambda p: p.name)
def test_real_captures_reassemble_the_same(path) -> None:
    twin_run(capture_batches(path))


@pytest.mark.parametrize("checksum", ["verify", "ignore"])
@pytest.mark.parametrize("path", CAPTURES[:8] + SEEDS[:3], ids=lambda p: p.name)
def test_real_captures_under_other_checksum_modes(path, checksum) -> None:
    twin_run(capture_batches(path), NetConfig(stream=StreamConfig(checksum=checksum, depth=4096)))


@pytest.mark.parametrize("path", CAPTURES + SEEDS, ids=lambda p: p.name)
def test_gatewatch_flows_records_are_the_same(path) -> None:
    batches = capture_batches(path)
    assert records(batches, required_core()) == records(batches, None)


def test_checksum_kernel_rejects_columns_of_other_lengths() -> None:
    core = required_core()
    z = np.zeros(3, np.int64)
    with pytest.raises(ValueError, match="differ in length"):
        core.streams_checksums(np.zeros(10, np.uint8), z, np.zeros(2, np.uint8), z, z, z, z, np.zeros(3, np.uint8))


# ---------------------------------------------------------------- hypothesis-made streams

DATA = bytes(range(33, 127)) * 40
CHECKSUMS = st.sampled_from(["good"] * 6 + ["bad", "bad", "zero", "bare"])


@st.composite
def segment_streams(draw):
    """Frames of one or two connections: segments drawn over a stream (any order, overlaps,
    conflicting bytes, repeats), a SYN or not, ISNs near the wrap, decoys far away, holes, and
    time jumps past the gap timeout; cut into batches anywhere."""
    frames, times, t = [], [], 1_700_000_000 * 10**9
    for conn in range(draw(st.integers(1, 2))):
        v6 = draw(st.booleans())
        isn = draw(st.sampled_from([0, MOD - 1, MOD - 40, 1_000_000, draw(st.integers(0, MOD - 1))]))
        to_server = draw(st.booleans())
        port = 40000 + conn
        if draw(st.booleans()):
            syn_data = DATA[: draw(st.sampled_from([0, 0, 0, 5]))]
            frames.append(tcp_frame(isn, SYN, syn_data, to_server=to_server, v6=v6, port=port, checksum=draw(CHECKSUMS)))
            times.append(t)
        grid = draw(st.booleans())  # pieces that abut and overlap by a byte: the edges of holds
        for _ in range(draw(st.integers(0, 24))):
            kind = draw(st.integers(0, 9))
            if grid:
                start = 8 * draw(st.integers(0, 12)) + draw(st.sampled_from([0, 0, 0, 1, -1]))
                size = draw(st.sampled_from([8, 8, 16, 7, 9]))
            else:
                start = draw(st.integers(0, 300))
                size = draw(st.sampled_from([0, 1, 2, 3, 8, 16, 40, 100]))
            start = max(start, 0)
            payload = bytearray(DATA[start : start + size])
            if kind == 0 and payload:  # conflicting bytes
                payload[draw(st.integers(0, len(payload) - 1))] ^= 0x20
            seq = isn + 1 + start
            if kind == 1:  # a decoy far away, or a jump past the window
                seq += draw(st.sampled_from([(1 << 31) - 1, 1 << 31, (1 << 20) + 1, -(1 << 20) - 5, MOD - 3]))
            flags = draw(st.sampled_from([ACK, ACK | PSH, SYN, ACK]))
            t += draw(st.sampled_from([1000, 1000, 10**6, 11 * 10**9, 10**10, 10**10 + 1, 5 * 10**9]))
            frames.append(tcp_frame(seq, flags, bytes(payload), to_server=to_server, v6=v6, port=port,
                                    checksum=draw(CHECKSUMS)))
            times.append(t)
    cuts = draw(st.lists(st.integers(1, max(len(frames) - 1, 1)), max_size=3))
    return frames, times, cuts


CONFIGS = st.builds(
    StreamConfig,
    policy=st.sampled_from(["first", "last", "bsd", "linux"]),
    checksum=st.sampled_from(["auto", "auto", "verify", "ignore"]),
    depth=st.sampled_from([1 << 20, 50, 200]),
    window=st.sampled_from([1 << 20, 64]),
    flow_memcap=st.sampled_from([256 << 10, 30]),
    memcap=st.sampled_from([64 << 20, 50]),
    max_segments=st.sampled_from([1024, 2]),
    max_streams=st.sampled_from([65_536, 1]),
    confirm=st.sampled_from([16, 1, 100]),
    unreliable_after=st.sampled_from([2, 1]),
)


@SETTINGS
@given(stream=segment_streams(), config=CONFIGS)
def test_made_up_segment_streams_reassemble_the_same(stream, config) -> None:
    frames, times, cuts = stream
    if frames:
        twin_run(batches_of(frames, times, cuts), NetConfig(stream=config))


@SETTINGS
@given(frames=st.lists(st.binary(min_size=0, max_size=80), min_size=1, max_size=12), data=st.data())
def test_garbage_and_cut_frames_are_checked_the_same(frames, data) -> None:
    """A real segment's bytes flipped or cut anywhere (headers included), or plain garbage."""
    made = []
    for junk in frames:
        real = bytearray(tcp_frame(data.draw(st.integers(0, MOD - 1)), ACK, junk[:20]))
        how = data.draw(st.integers(0, 3))
        if how == 0 and junk:
            real[data.draw(st.integers(0, len(real) - 1))] ^= junk[0] | 1
        elif how == 1:
            real = real[: data.draw(st.integers(14, len(real)))]
        elif how == 2:
            real = bytearray(real[:14] + junk)
        made.append(bytes(real))
    twin_run(batches_of(made, list(range(len(made))), []))


@pytest.mark.parametrize("policy", ["first", "last", "bsd", "linux"])
def test_pieces_held_behind_a_hole_then_the_hole_filled(policy) -> None:
    """A SYN, a lost first segment, pieces that abut, overlap the last by a byte, come again,
    then the lost one: the walk holds the new last pieces, the Python does the rest."""
    isn, t = 1_000_000, 1_700_000_000 * 10**9
    plan = [(8, 8), (16, 8), (24, 8), (31, 9), (40, 8), (24, 8), (48, 8), (56, 4), (0, 8), (64, 8)]
    frames = [tcp_frame(isn, SYN)] + [tcp_frame(isn + 1 + a, ACK, DATA[a : a + n]) for a, n in plan]
    times = [t + i * 10**6 for i in range(len(frames))]
    for cuts in ([], [3], [2, 5, 9]):
        twin_run(batches_of(frames, times, cuts), NetConfig(stream=StreamConfig(policy=policy)))


@pytest.mark.parametrize("waited", [10**10 - 1, 10**10, 10**10 + 1, 2**53 + 5])
def test_a_hole_skipped_at_the_gap_timeout_exactly(waited) -> None:
    """A piece held behind a hole, then the next one exactly around gap_timeout_s later."""
    isn, t = 7_000, 1_700_000_000 * 10**9
    frames = [tcp_frame(isn, SYN), tcp_frame(isn + 9, ACK, DATA[8:16]), tcp_frame(isn + 17, ACK, DATA[16:24]),
              tcp_frame(isn + 25, ACK, DATA[24:32])]
    times = [t, t + 1, t + 1 + waited, t + 2 + waited]
    twin_run(batches_of(frames, times, [2]))


@pytest.mark.parametrize("config", [StreamConfig(depth=1 << 70), StreamConfig(window=2.5e6), StreamConfig(depth=0),
                                    StreamConfig(max_segments=0, flow_memcap=0, memcap=0), StreamConfig(confirm=0)])
def test_odd_settings_give_the_same_results(config) -> None:
    """Settings the C cannot take leave the batch to the Python; the edges it can take match."""
    path = next((p for p in CAPTURES if p.name == "ndpi_netflix.pcap"), SEEDS[0])  # many TCP streams
    twin_run(capture_batches(path), NetConfig(stream=config))
