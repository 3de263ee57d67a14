"""parse_candump / read_candump on the compiled core (gw_candump: line bounds and template
lines) against the numpy reference: the same FrameBatch columns (dtype and bytes), channel
names, and ParseStats (lines, frames, malformed, every example's line number and reason), on
the corpus and seed logs and on hypothesis-made text full of hostile lines."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.canbus import candump
from monitor.canbus.candump import parse_candump, read_candump
from monitor.limits import MAX_LOG_CHANNELS

from ..conftest import PROJECT, corpus_files, ids
from .can_compare import both, same_array

LOGS = corpus_files("can/logs/**/*.log") + sorted((PROJECT / "seeds").glob("*/can.log"))



def same_parse(got, want) -> None:
    (got_batch, got_stats), (want_batch, want_stats) = got, want
    assert got_stats == want_stats
    for f in dataclasses.fields(want_batch):
        a, b = getattr(got_batch, f.name), getattr(want_batch, f.name)
        if isinstance(b, np.ndarray):
            same_array(a, b, f.name)
        else:
            assert a == b, f.name


def check_text(monkeypatch, core, text: bytes, **kwargs) -> None:
    channels_native, channels_numpy = set(kwargs.pop("channels", set())), None
    channels_numpy = set(channels_native)
    with monkeypatch.context() as patch:
        patch.setattr(candump.native, "kernels", core)
        got = parse_candump(text, channels=channels_native, **kwargs)
    with candump.native.use_numpy():
        want = parse_candump(text, channels=channels_numpy, **kwargs)
    same_parse(got, want)
    assert channels_native == channels_numpy


@pytest.mark.parametrize("path", LOGS, ids=ids(LOGS))
def test_logs_parse_like_the_reference(path: Path, core, monkeypatch):
    got, want = both(monkeypatch, core, lambda p: list(read_candump(p, chunk_bytes=1 << 16)), path)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        same_parse(a, b)


def test_native_path_parses_template_lines(core, monkeypatch):
    """The fast path is really taken: no line of a plain log reaches the general parser."""
    text = b"(1.000001) can0 123#11\n(2.000002) can0 12345678#\n\n  (3.000003) can0 7FF#0011223344556677  \n"
    with monkeypatch.context() as patch:
        patch.setattr(candump.native, "kernels", core)
        patch.setattr(candump, "_parse_other_lines", _no_general_parser)
        batch, stats = parse_candump(text)
    assert stats.frames == 3 and stats.lines == 4
    assert batch.data[2, :8].tolist() == [0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]
    assert batch.is_extended.tolist() == [False, True, False]


def _no_general_parser(*_args):
    raise AssertionError("a template line went to the general parser")


def test_overlong_lines_and_gzip(core, monkeypatch, tmp_path):
    text = b"(1.5) can0 123#11\n" + b"x" * (70 << 10) + b"\n(2.5) can0 124#22\n(3.5) can1 125#33"
    plain, packed = tmp_path / "a.log", tmp_path / "b.log.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    for path in (plain, packed):
        got, want = both(monkeypatch, core, lambda p: list(read_candump(p, chunk_bytes=4096)), path)
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            same_parse(a, b)


def test_channel_cap(core, monkeypatch):
    lines = [f"(1.{k:06d}) c{k} 123#{k % 256:02X}" for k in range(MAX_LOG_CHANNELS + 20)]
    text = "\n".join(lines).encode()
    check_text(monkeypatch, core, text)
    check_text(monkeypatch, core, text, channels={f"x{k}" for k in range(MAX_LOG_CHANNELS)})


# -- hypothesis: template lines with one field broken, and garbage ----------------------

FIELD_BYTES = st.binary(min_size=0, max_size=4) | st.sampled_from(
    [b"", b"#", b" ", b"\x10", b"\x19", b"\x1a", b"\x80", b"\xff", b"G", b"g", b"/", b":", b"@", b"`", b"\t", b"\r",
     b"\x00", b"R", b" T", b" R", b"##", b"##1", b"(", b")", b"."])


@st.composite
def lines(draw) -> bytes:
    whole = draw(st.sampled_from([b"1436509052", b"0", b"9999999999", b"12345678901", b"1", b"", b"1_0", b"inf",
                                  b"99999999999999999", b" 1", b"+1"]))
    frac = draw(st.sampled_from([b"249713", b"000001", b"5", b"123456789", b"1234567890", b"5e3", b"", b"1.2"]))
    channel = draw(st.sampled_from([b"can0", b"vcan0", b"can1", b"c", b"abcdefgh", b"abcdefghi"]))
    ident = draw(st.sampled_from([b"1A3", b"7ff", b"0000013A", b"20000080", b"123", b"12", b"123456789", b"\x10\x19\x15"]))
    sep = draw(st.sampled_from([b"#", b"#", b"##1", b"##", b"##G", b"#R", b"#r4", b"#R12", b"#Rx", b"##3R"]))
    data = draw(st.sampled_from([b"", b"DEADBEEF", b"0011223344556677", b"001122334455667788", b"abc", b"\x10\x11",
                                 b"00" * 12, b"00" * 13, b"ab" * 64, b"ab" * 65, b"0g"]))
    line = b"(" + whole + b"." + frac + b") " + channel + b" " + ident + sep + data
    if draw(st.booleans()):  # break one place
        at = draw(st.integers(0, len(line)))
        cut = draw(st.integers(0, 3))
        line = line[:at] + draw(FIELD_BYTES) + line[at + cut :]
    pad = draw(st.sampled_from([b"", b" ", b"\t\r", b" " * 9, b"\x00"]))
    return pad + line + draw(st.sampled_from([b"", b" ", b"\r", b" " * 10, b" R", b" T"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lines() | st.binary(max_size=40), max_size=40), st.booleans(), st.integers(1, 10**6))
def test_hostile_text_parses_like_the_reference(core, monkeypatch, text_lines, final_newline, first_line):
    text = b"\n".join(text_lines) + (b"\n" if final_newline else b"")
    check_text(monkeypatch, core, text, first_line=first_line)


def test_bad_arguments_are_refused(core):
    buf = np.zeros(100, np.uint8)
    with pytest.raises(ValueError):
        core.candump_lines(buf, 0, 200, 10)
    assert core.candump_lines(np.zeros(0, np.uint8), 0, 0)[0] == 0
    assert core.candump_lines(np.full(7, 10, np.uint8), 0, 7)[0] == 7
    with pytest.raises(ValueError):
        core.candump_lines(np.full(100, 10, np.uint8), 0, 100, 5)  # more lines than cap
    starts, ends = np.array([0], np.int64), np.array([500], np.int64)
    columns = (np.zeros(1), np.zeros(1, np.uint32), np.zeros(1, np.uint8), np.zeros(1, np.uint8),
               np.zeros(1, np.uint8), np.zeros((1, 64), np.uint8))
    with pytest.raises(ValueError):
        core.candump_template_lines(buf, starts, ends, 1, 1, b"can0", columns)  # a line past the buffer
    with pytest.raises(ValueError):
        core.candump_template_lines(buf, starts, starts, 11, 1, b"can0", columns)  # 11 integer digits
    with pytest.raises(ValueError):
        core.candump_template_lines(buf, starts, starts, 1, 1, b"can0", columns[:-1] + (np.zeros((1, 8), np.uint8),))
