"""ascfile: lines cut and decoded as Python's text mode does, overlong lines skipped in bounded
memory, and python-can's reading of the lines the C hands back."""

from __future__ import annotations

import io

import can

from monitor.canbus import ascfile
from monitor.canbus.ascfile import ByteLines, _read_line


def test_header_lines_are_cut_at_every_newline_kind_and_decoded_with_replacement():
    lines = ByteLines(io.BytesIO(b"a\r\nb\rc\n\xffd"), chunk=2)
    assert list(lines.header_lines()) == ["a\n", "b\n", "c\n", "\ufffdd"]
    assert lines.number == 4 and lines.eof


def test_an_overlong_line_is_skipped_without_being_held(monkeypatch):
    monkeypatch.setattr(ascfile, "MAX_LOG_LINE", 8)
    monkeypatch.setattr(ascfile, "_SURELY_OVERLONG", 36)
    lines = ByteLines(io.BytesIO(b"short\n" + b"x" * 1000 + b"\r\nnext\n"), chunk=16)
    assert list(lines.header_lines()) == ["short\n", "\n", "next\n"]
    assert lines.overlong == [2]
    assert len(lines.buffer) < 64


def test_a_line_long_in_characters_not_bytes_is_judged_in_characters(monkeypatch):
    monkeypatch.setattr(ascfile, "MAX_LOG_LINE", 8)
    lines = ByteLines(io.BytesIO("ääää\n".encode() + "äääääääää\n".encode()))
    assert list(lines.header_lines()) == ["ääää\n", "\n"]
    assert lines.overlong == [2]


def test_a_handed_back_line_is_read_by_python_can_with_the_readers_base_and_start():
    reader = can.ASCReader(io.StringIO(), relative_timestamp=False)
    reader.start_time = 100.0
    (message,) = _read_line(reader, "  0.5 1 0x12 Rx d 1 0x3")
    assert (message.timestamp, message.arbitration_id, bytes(message.data)) == (100.5, 0x12, b"\3")
    assert _read_line(reader, "Begin Triggerblock Sam Sep 30 15:06:13.191 2017") == []
    assert reader.start_time > 1e9
