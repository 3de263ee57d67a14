"""The compiled ASC reader (src/gw_asc.c, canbus/ascfile.py) against python-can's ASCReader
path: identical batches, channel names, stats and errors on the corpus, on files python-can's
writer makes, and on hostile text (garbage tokens, non-ASCII, odd newlines, overlong lines,
DLC/length mismatches, dates python-can refuses)."""

from __future__ import annotations

import can
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.canbus import ascfile, logs

from ..conftest import corpus_files, ids
from .canlogs_compare import assert_same_both_ways, can_messages

CORPUS = corpus_files("can/logs/python-can/*.asc")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = "date Sam Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\ninternal events logged\n"



@pytest.mark.parametrize("path", CORPUS, ids=ids(CORPUS))
def test_corpus_reads_the_same(path, core):
    assert_same_both_ways(path, core)


messages = can_messages(max_time=1e6)


@SETTINGS
@given(st.lists(messages, max_size=30))
def test_files_written_by_python_can_read_the_same(tmp_path, core, frames):
    path = tmp_path / "written.asc"
    with can.ASCWriter(str(path)) as writer:
        for message in sorted(frames, key=lambda m: m.timestamp):
            writer.on_message_received(message)
    assert_same_both_ways(path, core)


TOKENS = ["1", "2", "0", "Rx", "Tx", "d", "r", "R", "D", "8", "f", "F", "ff", "0G", "100", "+1", "-1", "0x1", "1_0",
          "123", "123x", "1FFFFFFFx", "x", "CANFD", "canfd", "ErrorFrame", "errorframe", "15", "64", "9", "12",
          "Length", "=", "name", "ä", "\u00a0", "\x1c", "\x00", "1.5", "0.015991", "99999999999", "ffffffffffffffffff",
          "Start", "of", "measurement", "Begin", "Triggerblock", "Statistic:", "//", "End", "TriggerBlock"]
SPACES = st.sampled_from([" ", "  ", "\t", " \x0b ", "\x0c"])
fields = st.lists(st.sampled_from(TOKENS), max_size=14)
timestamps = st.sampled_from(["0.1", "1.500000", "12.345678", "1506700000.123456", "0.00000000000000000000001",
                              "1.5e3", "1", "001.0"])


@st.composite
def hostile_line(draw):
    head = draw(st.sampled_from(["", "", "CANFD ", "1 ", "2  ", "Begin Triggerblock Sam Sep 30 15:06:13.191 2017 ",
                                 "Begin Triggerblock Sam Foo 99 2017 "]))
    words = [draw(timestamps)] + head.split() + draw(fields)
    line = ""
    for word in words:
        line += draw(SPACES) + word
    return line if draw(st.booleans()) else line.strip() + draw(st.sampled_from(["", " ", "\t"]))


@SETTINGS
@given(st.lists(hostile_line(), max_size=25), st.sampled_from(["\n", "\r\n", "\r"]),
       st.sampled_from([HEADER, HEADER.replace("hex", "dec"), "", "date Foo 1 2 3\n", "// x\n" + HEADER]),
       st.booleans())
def test_hostile_text_reads_the_same(tmp_path, core, lines, newline, header, final_newline):
    path = tmp_path / "hostile.asc"
    text = header.replace("\n", newline) + newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert_same_both_ways(path, core)


@SETTINGS
@given(st.lists(st.sampled_from(["0.1 1 123 Rx d 2 01 02", "x" * 70, "ä" * 40, "ä" * 70, "", "\xff"]), max_size=12),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_overlong_lines_read_the_same(tmp_path, core, monkeypatch, lines, newline):
    """Lines past MAX_LOG_LINE characters (64 here; a multi-byte line is counted in characters)."""
    monkeypatch.setattr(logs, "MAX_LOG_LINE", 64)
    monkeypatch.setattr(ascfile, "MAX_LOG_LINE", 64)
    monkeypatch.setattr(ascfile, "_SURELY_OVERLONG", 4 * 65)
    path = tmp_path / "long.asc"
    path.write_bytes((HEADER + newline.join(lines)).replace("\xff", "").encode() + (b"\xff\xfe" if "\xff" in lines else b""))
    assert_same_both_ways(path, core)


def test_chunk_boundaries_inside_lines_and_newlines(tmp_path, core, monkeypatch):
    """A read chunk ending inside a line, a multi-byte character or between "\\r" and "\\n"."""
    monkeypatch.setattr(ascfile, "CHUNK", 7)
    path = tmp_path / "chunks.asc"
    path.write_bytes((HEADER + "0.1 1 123 Rx d 2 01 02\r\n0.2 1 ä Rx d 1 01\r\r\n0.3 2 7FFx Tx d 1 ff\r").encode())
    result = assert_same_both_ways(path, core)
    assert sum(len(part[0]["timestamp"]) for part in result if not isinstance(part[0], str)) == 2


def test_a_big_file_of_overlong_line_is_skipped_in_bounded_memory(tmp_path, core, monkeypatch):
    monkeypatch.setattr(logs, "MAX_LOG_LINE", 64)
    monkeypatch.setattr(ascfile, "MAX_LOG_LINE", 64)
    monkeypatch.setattr(ascfile, "_SURELY_OVERLONG", 4 * 65)
    monkeypatch.setattr(ascfile, "CHUNK", 100)
    path = tmp_path / "long.asc"
    path.write_bytes((HEADER + "0.1 1 123 Rx d 0\n" + "y" * 5000 + "\r\n0.2 1 124 Rx d 0\n" + "z" * 5000).encode())
    result = assert_same_both_ways(path, core)
    assert result[-1][2][2] == 2  # two lines skipped


FIELD_CHOICES = {
    "time": ["0.015991", "1.5", "2.000000001", "1e3", "0", "12.0x"],
    "channel": ["1", "2", "16", "0", "01", "+1", "x", "9999999999"],
    "id": ["123", "7FF", "1FFFFFFFx", "0x12", "ffffffffffx", "12_3", "G1", "x", "123X"],
    "dir": ["Rx", "Tx", "rx", "TX", "Rxx"],
    "kind": ["d", "r", "D", "R", "remote", "q"],
    "dlc": ["0", "2", "8", "9", "F", "f", "10", "41", "100", "-1", "+2", "ff", "99999999999999999999"],
    "byte": ["01", "ff", "FF", "0", "100", "0x1", "g", "-1", "1_0", "000000ff"],
    "flag": ["0", "1", "2", "x"],
    "length": ["0", "1", "2", "8", "12", "64", "3", "-1", "+8", "65"],
}
TEMPLATES = [
    "time channel id dir kind dlc byte byte byte byte byte byte byte byte byte",
    "time channel id dir kind dlc",
    "time channel id dir kind",
    "time CANFD channel dir id name flag flag dlc length byte byte byte byte byte byte byte byte byte byte byte byte",
    "time CANFD channel dir id flag flag dlc length byte byte byte byte byte byte byte byte",
    "time CANFD channel dir id flag flag dlc length",
    "time CANFD channel dir ErrorFrame flag",
    "time channel ErrorFrame",
]


@st.composite
def shaped_line(draw):
    words = []
    for field in draw(st.sampled_from(TEMPLATES)).split():
        choices = FIELD_CHOICES.get(field)
        words.append(draw(st.sampled_from(choices)) if choices else field)
    if words and draw(st.integers(0, 4)) == 0:
        del words[draw(st.integers(0, len(words) - 1))]
    return " ".join(words)


@SETTINGS
@given(st.lists(shaped_line(), min_size=1, max_size=30),
       st.sampled_from([HEADER, HEADER.replace("hex", "dec"), HEADER.replace("date Sam", "date Sun")]))
def test_frame_shaped_lines_with_odd_fields_read_the_same(tmp_path, core, lines, header):
    path = tmp_path / "shaped.asc"
    path.write_text(header + "\n".join(lines) + "\n")
    assert_same_both_ways(path, core, batch_sizes=(1 << 16, 2))


ODD_BUT_READ = [
    "1.5 1 123 Rx r 100", "1.5 1 123 Rx r 41", "1.5 1 123 Rx R x", "1.5 01 123X Tx remote 8",
    "1.5 1 7ff Rx d 10 01 02 03 04 05 06 07 08 09", "1.5 1 7ff Rx d f 000000ff 1 2", "1.5 1 7ff Rxx d 2 1",
    "2.5 CANFD 2 Rx 1fffffffx 0 1 ff 0 0", "2.5 CANFD 2 Tx 12 name 1 1 f 64 " + " ".join(["ab"] * 70),
    "2.5 CANFD 2 Rx 12 frame 0 0 9 12 1 2 3", "2.5 CANFD 3 Rx ErrorFrame ECC 1", "3.5 2 errorframe x",
    "0.000000000000000000001 1 1 Rx d 0", "4503599627370496.5 1 1 Rx d 0", "0.12345678901234567 1 1 Rx d 0",
]


@pytest.mark.parametrize("base", ["hex", "dec"])
def test_odd_lines_the_kernel_reads_itself_read_the_same(tmp_path, core, base):
    path = tmp_path / "odd.asc"
    path.write_text(HEADER.replace("hex", base) + "\n".join(ODD_BUT_READ) + "\n")
    parts = assert_same_both_ways(path, core)
    frames = sum(len(part[0]["timestamp"]) for part in parts)
    assert base == "dec" or (frames == len(ODD_BUT_READ) and parts[-1][2][2] == 0)


@pytest.mark.parametrize("mismatches", [2, 5])
def test_python_cans_warnings_are_counted_and_capped_alike(tmp_path, core, monkeypatch, mismatches):
    """A DLC/length mismatch is python-can's warning, on both paths; past the cap the read stops."""
    monkeypatch.setattr(logs, "MAX_READER_WARNINGS", 3)
    path = tmp_path / "warned.asc"
    path.write_text(HEADER + "0.1 CANFD 1 Rx 12 0 0 9 8 1 2 3 4 5 6 7 8\n" * mismatches + "0.2 1 12 Rx d 1 01\n")
    parts = assert_same_both_ways(path, core)
    examples = parts[-1][2][3]
    assert "DLC vs Data Length mismatch" in examples[-1][1]
    assert (mismatches > 3) == any("reader is stuck" in reason for _, reason in examples)
