"""The compiled flow kernels against the numpy reference: with the flow table's index and unit
walk in C (gw_flowtable) and the finished-flow records written by C (gw_flowjson), the records
must be those of the numpy FlowTable and flowjson.py (compared as sorted multisets of JSON
lines) with the same FlowStats, on the corpus captures, the seeds' captures and generated
packet streams (port reuse, idle gaps across batches, RST/FIN, SYN/ACK
first, a small max_flows, batches from one packet); and the writer's number and address
formatting must be Python's repr and inet_ntop."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT, corpus_files, ids

from .flowstreams import EVENTS, NS, T0, both_ways, conversation_frame, flow_lines

SETTINGS = settings(max_examples=150, deadline=None)
CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEED_CAPTURES = sorted(PROJECT.glob("seeds/*/capture.pcap"))



# ------------------------------------------------------------ formatting primitives

@SETTINGS
@given(st.one_of(st.integers(-(2**63), 2**63 - 1).map(lambda ns: ns / 1e9),
                 st.floats(allow_nan=False, allow_infinity=False), st.floats(1e-7, 1e20),
                 st.integers(-1074, 1023).map(lambda k: 2.0**k)))  # powers of two: narrower below
def test_doubles_are_written_as_python_repr(core, value: float) -> None:
    assert core.flowjson_double(value) == repr(value)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([4, 6]), st.one_of(st.integers(0, 2**128 - 1), st.integers(0, 2**32 - 1),
                                                              st.integers(0, 0xFFFF).map(lambda w: (w << 32) | 0x0A000001),
                                                              st.integers(0, 2**16).map(lambda w: w << 96))),
                max_size=20))
def test_addresses_are_written_as_inet_ntop(core, addresses) -> None:
    version = np.array([v for v, _ in addresses], dtype=np.uint8)
    hi = np.array([(a >> 64) if v == 6 else 0 for v, a in addresses], dtype=np.uint64)
    lo = np.array([(a & (2**64 - 1)) if v == 6 else a & 0xFFFFFFFF for v, a in addresses], dtype=np.uint64)
    expected = [socket.inet_ntop(socket.AF_INET6, a.to_bytes(16, "big")) if v == 6
                else socket.inet_ntop(socket.AF_INET, (a & 0xFFFFFFFF).to_bytes(4, "big")) for v, a in addresses]
    assert core.flowjson_addresses(version, hi, lo) == expected


def test_bad_text_columns_are_refused_before_c_runs(core) -> None:
    n = np.zeros(1, np.int64)
    u8, u64 = np.zeros(1, np.uint8), np.zeros(1, np.uint64)
    good = (b"null", np.array([0, 4], np.int64), np.zeros(1, np.int64))
    texts = dict.fromkeys(("community", "direction", "app_proto", "names", "tunnel", "suffix"), good)
    args = (n, n, n, u8, u8, u64, u64, u64, u64, n, n, np.zeros(1, np.uint32), np.zeros((1, 6), np.int64), u8, u8)
    text, ends = core.flowjson_lines(*args, texts, b'"x"')
    assert text.endswith('"reason": "x"nullnull}\n') and ends.tolist() == [len(text)]
    for bad in ((b"null", np.array([0, 5], np.int64), np.zeros(1, np.int64)),  # past the blob
                (b"null", np.array([0, 4], np.int64), np.ones(1, np.int64)),  # no such entry
                (b"null", np.array([0, 4], np.int64), np.full(1, -1, np.int64)),
                (b"null", np.array([1, 4], np.int64), np.zeros(1, np.int64)),
                (b"nullnull", np.array([0, 6, 4], np.int64), np.zeros(1, np.int64)),  # out of order
                (b"null", np.array([0, 4], np.int64), np.zeros(2, np.int64))):  # one index per row
        with pytest.raises(ValueError):
            core.flowjson_lines(*args, {**texts, "names": bad}, b'"x"')
    with pytest.raises(ValueError):
        core.flowjson_lines(*args[:-1], np.zeros(2, np.uint8), texts, b'"x"')
    with pytest.raises(ValueError):
        core.flowjson_lines(*args[:12], np.zeros((1, 5), np.int64), u8, u8, texts, b'"x"')


# ------------------------------------------------------------ whole captures

def _capture_lines(path: Path) -> tuple[str, object]:
    from monitor.net.capture import read_capture

    from .flowstreams import Lines, NetConfig, NetPipeline, _Writer

    lines = Lines()
    pipeline = NetPipeline(NetConfig(), sink=_Writer(lines, "jsonl"))
    for batch in read_capture(path):
        pipeline.process(batch)
    pipeline.finish()
    return "".join(lines.text), pipeline.flows.stats


@pytest.mark.parametrize("path", CAPTURES + SEED_CAPTURES, ids=ids(CAPTURES) + [p.parent.name for p in SEED_CAPTURES])
def test_capture_records_are_identical(core, path: Path) -> None:
    (native_lines, native_stats), (numpy_lines, numpy_stats) = both_ways(core, lambda: _capture_lines(path))
    assert sorted(native_lines.splitlines()) == sorted(numpy_lines.splitlines())
    assert native_stats == numpy_stats
    assert native_lines.count("\n") == numpy_stats.finished + numpy_stats.reasons.get("active_timeout", 0)


def test_the_corpus_is_compared_here_when_present() -> None:
    if not CAPTURES:
        pytest.skip("the shared corpus (../shared/corpus/pcap) is absent: only seeds and generated streams compared")
    assert len(CAPTURES) > 10


# ------------------------------------------------------------ generated streams

@SETTINGS
@given(st.lists(EVENTS, min_size=1, max_size=80), st.integers(1, 40), st.sampled_from([2, 3, 5, 16, 262_144]))
def test_generated_stream_records_are_identical(core, events, batch_size: int, max_flows: int) -> None:
    frames, times, now = [], [], T0
    for event in events:
        now += event.gap_ns
        frames.append(conversation_frame(event))
        times.append(now)
    (native_lines, native_stats), (numpy_lines, numpy_stats) = both_ways(
        core, lambda: flow_lines(frames, times, batch_size, max_flows))
    assert sorted(native_lines.splitlines()) == sorted(numpy_lines.splitlines())
    assert native_stats == numpy_stats


def test_generated_streams_reach_the_cases_they_are_for(core) -> None:
    """A fixed stream through both paths: eviction, idle timeouts, port reuse and RST all happen."""
    from .flowstreams import Event

    events = [Event(c, False, 0x02, 1000 * k, NS // 10, 0) for k in range(3) for c in range(24)]
    events += [Event(0, False, 0x04, 0, NS, 0), Event(0, False, 0x02, 77, NS, 0), Event(1, True, 0x12, 5, 400 * NS, 3)]
    frames = [conversation_frame(e) for e in events]
    times = list(np.cumsum([T0] + [e.gap_ns for e in events[1:]]).tolist())
    (native_lines, native_stats), (numpy_lines, numpy_stats) = both_ways(
        core, lambda: flow_lines(frames, times, 7, 8))
    assert native_lines == numpy_lines and native_stats == numpy_stats
    assert {"evicted", "idle_timeout", "end_of_input"} <= set(numpy_stats.reasons), numpy_stats.reasons
    assert numpy_stats.evicted > 0


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([4, 6, 0]), st.sampled_from([6, 17, 132, 47, 50, 1, 58, 0, 255]),
                          st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1),
                          st.integers(0, 2**64 - 1), st.integers(0, 65535), st.integers(0, 65535)), max_size=30))
def test_community_ids_are_those_of_community_id_py(core, rows) -> None:
    from monitor.net.community_id import community_ids
    from monitor.net.flowkeys import KEY_DTYPE

    keys = np.zeros(len(rows), dtype=KEY_DTYPE)
    for i, (version, proto, a_hi, a_lo, b_hi, b_lo, a_port, b_port) in enumerate(rows):
        keys[i] = (a_hi, a_lo, b_hi, b_lo, a_port, b_port, 0, proto, version)
    column = lambda name: np.ascontiguousarray(keys[name])
    blob, ok = core.flowjson_community_ids(column("version"), column("proto"), column("a_hi"), column("a_lo"),
                                           column("b_hi"), column("b_lo"), column("a_port"), column("b_port"))
    expected = community_ids(keys)
    for i, want in enumerate(expected):
        if want is None:  # ICMP (fixed from the first packet) or not IP
            assert not ok[i] or keys["proto"][i] in (1, 58)
        else:
            assert ok[i] and blob[32 * i : 32 * i + 32].decode() == f'"{want}"'
