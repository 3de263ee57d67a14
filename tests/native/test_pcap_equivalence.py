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


def _block(endian: str, kind: int, body: bytes, length: int | None = None) -> bytes:
    body += b"\0" * (-len(body) % 4)
    size = len(body) + 12 if length is None else length
    return struct.pack(endian + "II", kind, size) + body + struct.pack(endian + "I", size)


@st.composite
def pcapng_blocks(draw, endian: str) -> bytes:
    kind = draw(st.sampled_from(["epb"] * 4 + ["spb", "pb", "idb", "shb", "other", "garbage"]))
    body_bytes = draw(st.binary(max_size=80))
    hostile = draw(st.integers(0, 5)) == 0  # one block in six lies about a length
    caplen = draw(st.integers(0, 2**32 - 1)) if hostile and draw(st.booleans()) else len(body_bytes)
    ifid = draw(st.sampled_from([0, 0, 0, 1, 3]))
    ticks = draw(st.one_of(st.integers(0, 2**40), st.integers(0, 2**64 - 1), st.sampled_from([2**62 - 1, 2**62])))
    lie = draw(st.sampled_from([0, 4, 13, 28, 31, 32, 2**24, 2**32 - 4])) if hostile else None
    if kind == "epb":
        body = struct.pack(endian + "IIIII", ifid, ticks >> 32, ticks & 0xFFFFFFFF, caplen, draw(st.integers(0, 2**32 - 1)))
        return _block(endian, 6, body + body_bytes, lie)
    if kind == "pb":
        body = struct.pack(endian + "HHIIII", ifid, 0, ticks >> 32, ticks & 0xFFFFFFFF, caplen, len(body_bytes))
        return _block(endian, 2, body + body_bytes, lie)
    if kind == "spb":
        return _block(endian, 3, struct.pack(endian + "I", draw(st.integers(0, 200))) + body_bytes, lie)
    if kind == "idb":
        options = b""
        if draw(st.booleans()):
            options += struct.pack(endian + "HHB3x", 9, 1, draw(st.sampled_from([6, 9, 3, 0x86, 0x8A, 0x9F, 12])))
        if draw(st.booleans()):
            options += struct.pack(endian + "HHq", 14, 8, draw(st.sampled_from([0, 100, -5, 2**40])))
        options += struct.pack(endian + "HH", 2, 3) + b"if\xff\0"
        linktype = draw(st.sampled_from([1, 101, 113, 276, 0, 9999]))
        return _block(endian, 1, struct.pack(endian + "HHI", linktype, 0, 0) + options + bytes(4), lie)
    if kind == "shb":
        return _section(draw(st.sampled_from("<>")))
    if not hostile and kind == "garbage":
        return b""
    if kind == "other":
        return _block(endian, draw(st.sampled_from([4, 5, 0x0BAD, 0x40000BAD, 7])), body_bytes, lie)
    return body_bytes


def _section(endian: str) -> bytes:
    return _block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))


@st.composite
def pcapng_files(draw) -> bytes:
    endian = draw(st.sampled_from("<>"))
    out = _section(endian) + _block(endian, 1, struct.pack(endian + "HHI", 1, 0, 0))
    for _ in range(draw(st.integers(0, 14))):
        out += draw(pcapng_blocks(endian))
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return out


@SETTINGS
@given(data=pcapng_files(), chunk=st.sampled_from([64, 700, 4 << 20]))
def test_made_up_pcapng_files_replay_the_same(monkeypatch, tmp_path, data, chunk) -> None:
    """Sections of either byte order, interfaces with resolutions and offsets, every packet
    block kind, unknown and garbage blocks, lying lengths, interface ids out of range."""
    path = tmp_path / "made.pcapng"
    path.write_bytes(data)
    assert_same_replay(*both(monkeypatch, replay, path, chunk_bytes=chunk, batch_size=5))


PCAPNGS = corpus_files("pcap/*.pcapng")


@SETTINGS
@given(flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_corpus_pcapng_replays_the_same(monkeypatch, tmp_path, flips) -> None:
    if not PCAPNGS:
        pytest.skip("needs the shared corpus's pcapng captures, absent on this machine")
    data = bytearray(PCAPNGS[flips[0][1] % len(PCAPNGS)].read_bytes()[:30_000])
    for at, value in flips:
        data[at % len(data)] = value
    path = tmp_path / "mutated.pcapng"
    path.write_bytes(bytes(data))
    assert_same_replay(*both(monkeypatch, replay, path, chunk_bytes=4096))
