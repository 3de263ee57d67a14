"""The compiled BLF reader (src/gw_blf.c, canbus/blffile.py) against python-can's BLFReader
path: identical batches, channel names, stats and errors on the corpus, on files python-can's
writer makes (compressed or not, objects split across containers), and on crafted files (every
frame object type, unknown header versions and types, 10 us and ns clocks, times past 2^53
ticks, sizes too small, too large or zero, truncation, bad zlib, unknown compression)."""

from __future__ import annotations

import struct
import zlib

import can
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import corpus_files, ids
from .canlogs_compare import assert_same_both_ways, can_messages

CORPUS = corpus_files("can/logs/python-can/*.blf")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])



@pytest.mark.parametrize("path", CORPUS, ids=ids(CORPUS))
def test_corpus_reads_the_same(path, core):
    assert_same_both_ways(path, core)


messages = can_messages(max_time=2e9)


@SETTINGS
@given(st.lists(messages, max_size=40), st.sampled_from([0, 1, 6]), st.sampled_from([64, 100, 128 * 1024]))
def test_files_written_by_python_can_read_the_same(tmp_path, core, frames, level, container):
    path = tmp_path / "written.blf"
    with can.BLFWriter(str(path), compression_level=level, max_container_size=container) as writer:
        for message in frames:
            writer.on_message_received(message)
    assert_same_both_ways(path, core, batch_sizes=(1 << 16, 4))


STRUCT_SIZES = {1: 16, 86: 16, 73: 32, 100: 84, 101: 40, 5: 8, 999: 0}


@st.composite
def inner_object(draw):
    kind = draw(st.sampled_from(sorted(STRUCT_SIZES)))
    version = draw(st.sampled_from([1, 1, 2, 3]))
    header = 32 if version == 1 else 40
    body = draw(st.binary(min_size=STRUCT_SIZES[kind], max_size=STRUCT_SIZES[kind] + 80))
    if kind == 101 and body:
        body = bytes([body[0], draw(st.integers(0, 20)), draw(st.integers(0, 255))]) + body[3:35] + bytes(
            [draw(st.sampled_from([0, 1, 40, 200]))]) + body[36:]
    size = header + len(body) + draw(st.sampled_from([0, 0, 0, -4, 8, 1]))
    size = draw(st.sampled_from([size, size, size, size, 15, 0, 1 << 20 + 1]))
    # past 2^53 ticks a double division rounds differently from python-can's Decimal for these two
    ticks = draw(st.sampled_from([0, 123456789, (1 << 53) + 1, (1 << 64) - 1, 14046286627791492475, 12844858052482565542]))
    flags = draw(st.sampled_from([1, 2, 0]))
    head = struct.pack("<4sHHLL", b"LOBJ", header, version, size, kind)
    head += struct.pack("<LHHQ", flags, 0, 0, ticks) if version == 1 else struct.pack("<LBxHQ8x", flags, 0, 0, ticks)
    return head + body + b"\0" * draw(st.integers(0, 3))


@st.composite
def crafted_file(draw):
    objects = b"".join(draw(st.lists(inner_object(), max_size=12)))
    cuts = sorted(draw(st.lists(st.integers(0, len(objects)), max_size=3)))
    pieces = [objects[a:b] for a, b in zip([0, *cuts], [*cuts, len(objects)])]
    out = b""
    for piece in pieces:
        method = draw(st.sampled_from([0, 2, 2, 7]))
        data = zlib.compress(piece) if method == 2 else piece
        if method == 2 and draw(st.integers(0, 9)) == 0:
            data = data[:2] + b"\xff" + data[3:]  # bad zlib
        size = 32 + len(data)
        out += struct.pack("<4sHHLL", b"LOBJ", 16, 1, size, 10) + struct.pack("<H6xL4x", method, len(piece))
        out += data + b"\0" * (size % 4)
    if draw(st.booleans()):
        out += struct.pack("<4sHHLL", b"LOBJ", 16, 1, 48, 1) + bytes(32)  # a frame outside any container
    cut = draw(st.sampled_from([None, None, None, len(out) - 1, len(out) // 2, 10]))
    return out if cut is None else out[:max(cut, 0)]


def blf_header(tmp_path) -> bytes:
    path = tmp_path / "empty.blf"
    with can.BLFWriter(str(path)):
        pass
    return path.read_bytes()[:144]


@SETTINGS
@given(crafted_file())
def test_crafted_files_read_the_same(tmp_path, core, body):
    path = tmp_path / "crafted.blf"
    path.write_bytes(blf_header(tmp_path) + body)
    assert_same_both_ways(path, core, batch_sizes=(1 << 16, 2))


@SETTINGS
@given(st.binary(max_size=400), st.integers(0, 600))
def test_garbage_and_truncated_files_read_the_same(tmp_path, core, garbage, keep):
    path = tmp_path / "garbage.blf"
    with can.BLFWriter(str(path), compression_level=0, max_container_size=64) as writer:
        for i in range(5):
            writer.on_message_received(can.Message(timestamp=i, arbitration_id=i, data=b"12345678"[:i]))
    written = path.read_bytes()
    path.write_bytes(written[:144 + keep] + garbage)
    assert_same_both_ways(path, core)


def test_the_batches_of_a_large_file_read_the_same(tmp_path, core):
    path = tmp_path / "large.blf"
    with can.BLFWriter(str(path)) as writer:
        for i in range(5000):
            writer.on_message_received(can.Message(timestamp=1.7e9 + i / 1000, arbitration_id=i % 2048,
                                                   is_extended_id=False, data=bytes([i % 256] * (i % 9)), channel=i % 3))
    parts = assert_same_both_ways(path, core, batch_sizes=(1 << 16, 1000, 777))
    assert sum(len(part[0]["timestamp"]) for part in parts) == 5000


def test_times_past_2_53_ticks_are_rounded_as_python_can_rounds_them(tmp_path, core):
    """Past 2^53 ticks a double division is not python-can's Decimal: the C hands those back."""
    objects = b""
    for flags, ticks in ((1, 14046286627791492475), (2, 12844858052482565542), (1, 1500)):
        head = struct.pack("<4sHHLL", b"LOBJ", 32, 1, 48, 1) + struct.pack("<LHHQ", flags, 0, 0, ticks)
        objects += head + struct.pack("<HBBL8s", 1, 0, 2, 0x123, b"\1\2")
    path = tmp_path / "late.blf"
    path.write_bytes(blf_header(tmp_path) + struct.pack("<4sHHLL", b"LOBJ", 16, 1, 32 + len(objects), 10)
                     + struct.pack("<H6xL4x", 0, len(objects)) + objects)
    parts = assert_same_both_ways(path, core)
    with can.BLFReader(str(path)) as reader:
        start = reader.start_timestamp
    times = parts[0][0]["timestamp"]
    assert times[0] != 14046286627791492475 / 1e5 + start and times[2] == 0.015 + start


@pytest.mark.parametrize("objects", [2, 5])
def test_unknown_header_versions_are_warned_and_capped_alike(tmp_path, core, monkeypatch, objects):
    from monitor.canbus import logs

    monkeypatch.setattr(logs, "MAX_READER_WARNINGS", 3)
    odd = struct.pack("<4sHHLL", b"LOBJ", 32, 7, 48, 1) + bytes(32)
    good = struct.pack("<4sHHLL", b"LOBJ", 32, 1, 48, 1) + struct.pack("<LHHQ", 2, 0, 0, 5) + bytes(16)
    inner = odd * objects + good
    path = tmp_path / "versions.blf"
    path.write_bytes(blf_header(tmp_path) + struct.pack("<4sHHLL", b"LOBJ", 16, 1, 32 + len(inner), 10)
                     + struct.pack("<H6xL4x", 0, len(inner)) + inner)
    parts = assert_same_both_ways(path, core)
    examples = parts[-1][2][3]
    assert "Unknown object header version (7)" in examples[-1][1]
    assert (objects > 3) == any("reader is stuck" in reason for _, reason in examples)
