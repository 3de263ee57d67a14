"""The native pcap/pcapng record walk against the numpy reference: identical batches (every
column, dtype and value), counters and warnings, on the corpus, the seeds and made-up files
(both byte orders, both time units, damaged, truncated, zero-length and oversized records)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT, corpus_files

from .packets_support import assert_same_replay, both, replay

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/*.pcap*"))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MAGICS = {("<", 1000): 0xA1B2C3D4, (">", 1000): 0xA1B2C3D4, ("<", 1): 0xA1B23C4D, (">", 1): 0xA1B23C4D}


@pytest.mark.parametrize("path", CAPTURES + SEEDS, ids=lambda p: p.name)
def test_real_captures_replay_the_same(monkeypatch, path) -> None:
    assert_same_replay(*both(monkeypatch, replay, path))


@pytest.mark.parametrize("path", (CAPTURES + SEEDS)[::7], ids=lambda p: p.name)
def test_small_chunks_and_batches_replay_the_same(monkeypatch, path) -> None:
    """Records cut by chunk boundaries carry over to the next chunk in both walks."""
    assert_same_replay(*both(monkeypatch, replay, path, chunk_bytes=1500, batch_size=7))


def _pcap_header(endian: str, unit: int, snaplen: int, linktype: int) -> bytes:
    return struct.pack(endian + "IHHiIII", MAGICS[endian, unit], 2, 4, 0, 0, snaplen, linktype)


record = st.tuples(
    st.integers(0, 2**32 - 1),  # seconds
    st.integers(0, 2**32 - 1),  # fraction (any value: a hostile file)
    st.one_of(st.integers(0, 300), st.sampled_from([0, 262_144, 262_145, 2**31, 2**32 - 1])),  # caplen field
    st.integers(0, 2**32 - 1),  # wirelen field
    st.binary(max_size=300),  # bytes that follow
)


@st.composite
def pcap_files(draw) -> bytes:
    endian, unit = draw(st.sampled_from(sorted(MAGICS)))
    snaplen = draw(st.sampled_from([0, 64, 65_535, 262_144, 2**32 - 1]))
    out = bytearray(_pcap_header(endian, unit, snaplen, draw(st.integers(0, 2**32 - 1))))
    for sec, frac, caplen, wirelen, body in draw(st.lists(record, max_size=12)):
        honest = draw(st.booleans())  # most records say their own length; others lie
        length = len(body) if honest else caplen
        out += struct.pack(endian + "IIII", sec, frac, length, wirelen) + body
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]  # the file ends anywhere
    return bytes(out)


@SETTINGS
@given(data=pcap_files(), chunk=st.sampled_from([64, 1000, 4 << 20]))
def test_made_up_pcap_files_replay_the_same(monkeypatch, tmp_path, data, chunk) -> None:
    path = tmp_path / "made.pcap"
    path.write_bytes(data)
    assert_same_replay(*both(monkeypatch, replay, path, chunk_bytes=chunk, batch_size=5))


@SETTINGS
@given(flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_seed_captures_replay_the_same(monkeypatch, tmp_path, flips) -> None:
    """Real records with bytes overwritten anywhere (headers included): damage, resyncs, cuts."""
    source = SEEDS[flips[0][1] % len(SEEDS)] if SEEDS else pytest.skip("no seed captures")
    data = bytearray(source.read_bytes()[:20_000])
    for at, value in flips:
        data[at % len(data)] = value
    path = tmp_path / ("mutated" + source.suffix)
    path.write_bytes(bytes(data))
    assert_same_replay(*both(monkeypatch, replay, path, chunk_bytes=4096))
