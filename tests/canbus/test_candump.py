"""The columnar candump parser agrees with python-can's reader, and reports bad lines."""

from __future__ import annotations

import gzip

import can
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.canbus.candump import parse_candump, read_candump
from monitor.canbus.candump_fields import LineFields
from monitor.canbus.frames import FrameBatch

from ..builders import assert_same_as_python_can
from ..conftest import corpus_files, ids

REAL_LOGS = corpus_files("can/logs/**/*.log")


@pytest.mark.parametrize("path", REAL_LOGS, ids=ids(REAL_LOGS))
def test_real_logs_parse_exactly_as_python_can_reads_them(path):
    batches = list(read_candump(path))
    batch = FrameBatch.concat([b for b, _ in batches])
    assert sum(s.malformed for _, s in batches) == 0
    assert_same_as_python_can(batch, list(can.CanutilsLogReader(str(path))))


def test_real_logs_present():
    if not REAL_LOGS:
        pytest.skip("needs the shared corpus (../shared/corpus/can/logs), absent on this machine")
    assert len(REAL_LOGS) >= 6


EVERY_KIND = b"""\
(1436509052.249713) vcan0 1A3#DEADBEEF
(1436509052.250000) vcan0 0000013A#1122334455667788
(1436509052.250100) can1 123##1112233445566778899AABBCC
""" + b"(1436509052.250200) can1 00000123##3" + bytes(range(64)).hex().upper().encode() + b"""
(1436509052.250300) vcan0 321#R
(1436509052.250400) vcan0 321#R4
(1436509052.250500) vcan0 7FF# R
(1436509052.250600) vcan0 100#0102 T\r

(0.5) vcan0 1#00
"""


def test_every_frame_kind_parses_as_python_can_reads_it(tmp_path):
    path = tmp_path / "kinds.log"
    path.write_bytes(EVERY_KIND)
    batch, stats = parse_candump(EVERY_KIND)
    assert stats.malformed == 0 and stats.lines == 10 and stats.frames == 9
    assert_same_as_python_can(batch, list(can.CanutilsLogReader(str(path))))
    assert batch.channel_names == ("vcan0", "can1")
    assert batch.dlc[3] == 64 and batch.bitrate_switch[3] and batch.error_state_indicator[3]
    assert not batch.is_rx[7] and batch.is_rx[0]


def test_error_frames_keep_their_class_bits_channel_and_data():
    batch, _ = parse_candump(b"(1.000000) can0 20000080#0000000000000000\n(2.0) can0 20000004#0004000000000000\n")
    assert batch.is_error.all()
    assert batch.arbitration_id.tolist() == [0x80, 0x04]
    assert batch.channel_names == ("can0",)
    assert batch.payload(1) == bytes.fromhex("0004000000000000")


MALFORMED = b"""\
(1.000000) can0 123#0011
1.000001 can0 123#0011
(1.000002) can0 123#001
(1.000003) can0 12G#0011
(1.00x004) can0 123#0011
(1.000005) can0 123#00112233445566778899
(1.000006) can0 123#0011 Q
(1.000007)can0 123#0011
(1.000008) can0 123#00ZZ
(1.000009) can0 123##0112233445566778899
(1.000010) can0 123#0011
"""


def test_malformed_lines_are_counted_with_line_numbers_and_the_rest_parsed():
    batch, stats = parse_candump(MALFORMED, first_line=101)
    assert stats.frames == 2 and batch.timestamp.tolist() == [1.0, 1.00001]
    assert stats.malformed == 9
    lines = [line for line, _ in stats.examples]
    assert lines == list(range(102, 111))
    reasons = dict(stats.examples)
    assert "timestamp" in reasons[102]
    assert "even number" in reasons[103]
    assert "CAN id" in reasons[104]
    assert "bad timestamp" in reasons[105]
    assert "too many data bytes" in reasons[106]
    assert "after the frame" in reasons[107]
    assert "channel" in reasons[108]
    assert "hex digit" in reasons[109]
    assert "too many data bytes" in reasons[110]  # 11 bytes is not a CAN FD length


def test_chunked_and_gzip_reading_equal_one_parse(tmp_path):
    lines = [f"({1000 + i / 1000:.6f}) can{i % 2} {i % 0x800:03X}#{i % 256:02X}{(i * 7) % 256:02X}"
             for i in range(5000)]
    text = ("\n".join(lines) + "\n").encode()
    whole, _ = parse_candump(text)
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(text))
    parts = list(read_candump(path, chunk_bytes=4096))
    assert len(parts) > 10
    chunked = FrameBatch.concat([b for b, _ in parts])
    for column in ("timestamp", "arbitration_id", "dlc", "data"):
        assert np.array_equal(getattr(chunked, column), getattr(whole, column)), column
    assert [chunked.channel_of(i) for i in range(len(chunked))] == [f"can{i % 2}" for i in range(5000)]


def test_template_fast_path_and_general_parser_agree():
    """The same lines through the fixed-offset path and through the searching parser."""
    text = EVERY_KIND + b"".join(
        f"({1700000000 + i * 0.001:.6f}) vcan0 {i * 13 % 0x800:03X}#{bytes([i % 256] * (i % 9)).hex()}\n".encode()
        for i in range(300)
    )
    fast, _ = parse_candump(text)
    buf = np.zeros(len(text) + 80, np.uint8)
    buf[8 : 8 + len(text)] = np.frombuffer(text, np.uint8)
    from monitor.canbus.candump import _line_bounds

    starts, ends = _line_bounds(buf[: 8 + len(text)], 8)
    keep = ends > starts
    fields = LineFields(buf, starts[keep], ends[keep])
    fields.locate()
    general = fields.parse_values()
    assert (fields.error == 0).all()
    for column in ("timestamp", "arbitration_id", "is_extended", "is_remote", "is_fd", "dlc", "data", "is_rx"):
        assert np.array_equal(getattr(fast, column), getattr(general, column)), column


frames = st.builds(
    dict,
    arbitration_id=st.integers(0, 0x1FFFFFFF),
    is_extended_id=st.booleans(),
    is_fd=st.booleans(),
    is_remote_frame=st.booleans(),
    data=st.binary(max_size=64),
    timestamp=st.floats(0, 2e9, allow_nan=False).map(lambda t: round(t, 6)),
    channel=st.sampled_from(["can0", "vcan1", "1", "canfd_long"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(frames, min_size=1, max_size=40))
def test_random_frames_written_by_python_can_read_back_identically(tmp_path_factory, specs):
    messages = []
    for spec in specs:
        if not spec["is_extended_id"]:
            spec["arbitration_id"] &= 0x7FF
        if spec["is_fd"]:
            spec["is_remote_frame"] = False
            size = max(n for n in (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64) if n <= len(spec["data"]))
            spec["data"] = spec["data"][:size]
        else:
            spec["data"] = spec["data"][:8]
        if spec["is_remote_frame"]:
            spec["data"] = b""
        messages.append(can.Message(**spec, dlc=len(spec["data"]), check=False))
    path = tmp_path_factory.mktemp("rt") / "random.log"
    with can.CanutilsLogWriter(str(path)) as writer:
        for msg in messages:
            writer.on_message_received(msg)
    batch = FrameBatch.concat([b for b, _ in read_candump(path)])
    assert_same_as_python_can(batch, list(can.CanutilsLogReader(str(path))))
