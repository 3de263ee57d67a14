"""Columnar parser for ``candump -L`` logs (``(ts) channel id#data``), plain or gzip.

The text of a chunk is one uint8 array and no Python object is made per line. A candump file
has one layout: the timestamp's digit counts and the channel name repeat on every line, and a
classic frame's id is 3 or 8 hex digits. The first line gives that *template*; every line is
checked against it at fixed offsets, and the fields of matching lines are decoded eight
characters at a time (``swar``). Lines that do not match the template (another channel, CAN FD,
remote frames, direction suffixes, anything malformed) go to the general parser in
``candump_fields``, which finds fields by searching and names the reason a line is malformed.

Accepted, as python-can's CanutilsLogReader and can-utils' candump write it:
    (1436509052.249713) vcan0 1A3#DEADBEEF          classic, 3-digit id = 11-bit
    (1436509052.249713) vcan0 0000013A#11           8-digit id = 29-bit
    (1436509052.249713) can1 123##1112233           CAN FD: '##', flags nibble, data
    (1436509052.249713) can0 123#R  / 123#R4        remote frame, optional length
    (1436509052.249713) can0 20000080#0000000000000000   error frame (CAN_ERR_FLAG)
    ... optional trailing " R" / " T" (received / transmitted)
Where the compiled core is loaded, line bounds, template lines and the general parser run in C
(gw_candump), with the same checks and results; the numpy code here is their reference.
Deliberate difference from python-can: any id with CAN_ERR_FLAG is an error frame (the kernel's
rule), and error frames keep their id bits, channel and data (python-can drops them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import native
from ..limits import MAX_LOG_CHANNELS, MAX_LOG_LINE, open_input
from . import swar
from .candump_fields import CAN_ERR_FLAG, E_CHANNELS, E_TS, OK, REASONS, LineFields
from .frames import FrameBatch, recode_channels

# Spare bytes around the text: fixed-offset checks and 8-byte loads of a short last line stay
# inside the buffer (the template prefix is at most 32 bytes).
_PAD = 8
_PAD_END = 64
_TEMPLATE = re.compile(rb"\((\d{1,10})\.(\d{1,9})\) ([^ ]{1,8}) ")
_U = np.uint64


@dataclass
class ParseStats:
    """What a parse saw: frames kept, and every line skipped with its number and reason."""

    lines: int = 0
    frames: int = 0
    malformed: int = 0
    # (line number, reason) of the first `keep` malformed lines; `malformed` counts all of them.
    examples: list[tuple[int, str]] = field(default_factory=list)
    keep: int = 100

    def add(self, other: ParseStats) -> None:
        self.lines += other.lines
        self.frames += other.frames
        self.malformed += other.malformed
        room = self.keep - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])


def parse_candump(text: bytes, first_line: int = 1, channels: set[str] | None = None) -> tuple[FrameBatch, ParseStats]:
    """Parse candump -L text into a FrameBatch; ``first_line`` numbers the first line.
    ``channels``: the channel names the log has used so far (a file's chunks share one), at
    most limits.MAX_LOG_CHANNELS; frames on names past that are skipped as malformed."""
    channels = set() if channels is None else channels
    buf = np.zeros(_PAD + len(text) + 1 + _PAD_END, np.uint8)
    buf[_PAD : _PAD + len(text)] = np.frombuffer(text, np.uint8)
    if not text.endswith(b"\n"):
        buf[_PAD + len(text)] = 10
    core = native.kernels  # read per call: native.use_numpy() switches it off for a block
    if core is not None:
        lines, starts, ends, index = core.candump_lines(buf, _PAD, _PAD + len(text) + 1)
        stats = ParseStats(lines=lines)
        line_no = first_line + index
    else:
        starts, ends = _line_bounds(buf[: _PAD + len(text) + 1], _PAD)
        stats = ParseStats(lines=len(starts))
        line_no = first_line + np.arange(len(starts))
        keep = ends > starts  # blank lines are not frames and not errors (python-can skips them)
        starts, ends, line_no = starts[keep], ends[keep], line_no[keep]

    batch = FrameBatch.empty(len(starts))
    error = np.zeros(len(starts), np.uint8)
    names: list[str] = []
    if core is not None:
        rest = _parse_template_lines_native(core, buf, starts, ends, batch, names)
    else:
        rest = _parse_template_lines(buf, starts, ends, batch, names)
    # The template's channel, if past the cap, refuses its lines (the others are parsed next).
    error[~_admit(names, channels)[batch.channel]] = E_CHANNELS
    if len(rest) and core is not None:
        _parse_other_lines_native(core, buf, starts[rest], ends[rest], rest, batch, error, names, channels)
    elif len(rest):
        _parse_other_lines(buf, starts[rest], ends[rest], rest, batch, error, names, channels)
    batch = FrameBatch(**{**vars(batch), "channel_names": tuple(names)})

    bad = np.flatnonzero(error != OK)
    stats.malformed = len(bad)
    stats.examples = [(int(line_no[i]), REASONS[error[i]]) for i in bad[: stats.keep]]
    if len(bad):
        batch = batch.take(np.flatnonzero(error == OK))
    stats.frames = len(batch)
    return batch, stats


def _line_bounds(buf: np.ndarray, begin: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every line, with surrounding blanks and CR stripped."""
    newlines = np.flatnonzero(buf[begin:] == 10) + begin
    starts = np.concatenate(([begin], newlines[:-1] + 1)).astype(np.int64)
    ends = newlines.astype(np.int64)
    blank = np.zeros(256, bool)
    blank[[0, 9, 13, 32]] = True
    for _ in range(8):  # a handful of trailing/leading blanks at most in practice
        trail = (ends > starts) & blank[buf[ends - 1]]
        lead = (ends > starts) & blank[buf[starts]]
        if not (trail.any() or lead.any()):
            break
        ends -= trail
        starts += lead
    return starts, ends


def _parse_template_lines(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, batch: FrameBatch, names: list[str]
) -> np.ndarray:
    """Fill ``batch`` for the lines that match the first line's layout; return the others."""
    if len(starts) == 0:
        return np.zeros(0, np.int64)
    match = _TEMPLATE.match(buf[starts[0] : ends[0]].tobytes())
    if match is None:
        return np.arange(len(starts))
    a, f, channel = len(match.group(1)), len(match.group(2)), match.group(3)
    u64 = swar.loads(buf)
    id_at = a + f + 4 + len(channel) + 1  # offset of the id's first digit
    fits = (ends - starts >= id_at + 4) & _prefix_matches(buf, u64, starts, match.group(0))
    hash_std = buf[np.minimum(starts + id_at + 3, len(buf) - 1)] == ord("#")
    hash_ext = buf[np.minimum(starts + id_at + 8, len(buf) - 1)] == ord("#")
    id_len = np.where(hash_std, 3, 8)
    fits &= hash_std | hash_ext
    data_at = starts + id_at + id_len + 1
    nchars = ends - data_at
    fits &= (nchars >= 0) & (nchars <= 16) & (nchars % 2 == 0)
    rows = np.flatnonzero(fits)
    good = _decode_template_rows(u64, starts[rows], id_at, data_at[rows], nchars[rows], id_len[rows], a, f, batch, rows)
    names.append(channel.decode("utf-8", "replace"))
    batch.channel[rows[good]] = 0
    fits[rows[~good]] = False
    return np.flatnonzero(~fits)


def _parse_template_lines_native(core, buf, starts, ends, batch: FrameBatch, names: list[str]) -> np.ndarray:
    """_parse_template_lines in C (gw_candump): the same template, checks and columns."""
    if len(starts) == 0:
        return np.zeros(0, np.int64)
    match = _TEMPLATE.match(buf[starts[0] : ends[0]].tobytes())
    if match is None:
        return np.arange(len(starts))
    columns = (batch.timestamp, batch.arbitration_id, batch.is_extended.view(np.uint8), batch.is_error.view(np.uint8),
               batch.dlc, batch.data)
    fits = core.candump_template_lines(buf, starts, ends, len(match.group(1)), len(match.group(2)), match.group(3),
                                       columns)
    names.append(match.group(3).decode("utf-8", "replace"))
    return np.flatnonzero(fits == 0)


def _prefix_matches(buf, u64, starts, prefix: bytes) -> np.ndarray:
    """Lines whose first len(prefix) bytes have the template's punctuation and channel."""
    a_end = prefix.index(b".")
    f_end = prefix.index(b")")
    ok = (buf[starts] == ord("(")) & (buf[starts + a_end] == ord(".")) & (buf[starts + f_end] == ord(")"))
    ok &= buf[starts + f_end + 1] == ord(" ")
    ok &= buf[starts + len(prefix) - 1] == ord(" ")
    channel = prefix[f_end + 2 : -1]
    expected = int.from_bytes(channel.ljust(8, b"\0"), "little")
    loaded = swar.keep_low_bytes(u64[starts + f_end + 2], len(channel), 0)
    return ok & (loaded == _U(expected))


def _decode_template_rows(u64, starts, id_at, data_at, nchars, id_len, a, f, batch, rows) -> np.ndarray:
    """Decode timestamp, id and payload of template lines; False where a field is not valid."""
    whole, ok_whole = swar.decimal(u64, starts + 1 + a, a)
    frac, ok_frac = swar.decimal(u64, starts + 2 + a + f, f)
    total = whole * _U(10**f) + frac
    # Below 2**53 both operands are exact doubles, so the quotient is the correctly rounded
    # value of the decimal text: the same float as Python's float(). Larger ones go the slow way.
    good = ok_whole & ok_frac & (total < _U(1 << 53))
    ident = np.zeros(len(rows), np.uint64)
    for width in (3, 8):
        sel = id_len == width
        if sel.any():
            value, ok = swar.hex_value(u64, starts[sel] + id_at, width)
            ident[sel], good[sel] = value, good[sel] & ok
    low, low_ok = swar.hex_bytes4(u64[data_at])
    high, high_ok = swar.hex_bytes4(u64[data_at + 8])
    char_mask = _char_mask(nchars)
    good &= ((low_ok & char_mask[0]) == char_mask[0]) & ((high_ok & char_mask[1]) == char_mask[1])
    payload = (low | (high << _U(32))) & _byte_mask(nchars // 2)

    batch.timestamp[rows] = total / float(10**f)
    batch.arbitration_id[rows] = (ident & _U(0x1FFFFFFF)).astype(np.uint32)
    batch.is_extended[rows] = id_len == 8
    batch.is_error[rows] = (ident & _U(CAN_ERR_FLAG)) != 0
    batch.dlc[rows] = nchars // 2
    batch.data.view("<u8")[rows, 0] = payload
    return good


# Masks by count, looked up per line (a gather) instead of built with shifts and selects.
_LOW_FLAGS = np.array([sum(0x80 << (8 * i) for i in range(min(k, 8))) for k in range(17)], np.uint64)
_HIGH_FLAGS = np.array([sum(0x80 << (8 * i) for i in range(max(min(k - 8, 8), 0))) for k in range(17)], np.uint64)
_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], np.uint64)


def _char_mask(nchars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each line, the 0x80 validity flags its first and second 8 data characters need."""
    return _LOW_FLAGS[nchars], _HIGH_FLAGS[nchars]


def _byte_mask(nbytes: np.ndarray) -> np.ndarray:
    return _BYTE_MASKS[nbytes]


def _parse_other_lines(buf, starts, ends, rows, batch: FrameBatch, error, names: list[str], channels: set[str]) -> None:
    """Parse lines off the template with the general parser and merge them into ``batch``."""
    fields = LineFields(buf, starts, ends)
    fields.locate()
    sub = fields.parse_values()
    _merge(sub, fields.error, rows, batch, error, names, channels)


def _parse_other_lines_native(core, buf, starts, ends, rows, batch: FrameBatch, error, names: list[str],
                              channels: set[str]) -> None:
    """_parse_other_lines with the general parser in C (gw_candump); Python keeps the rare
    timestamps the reference hands to float() and the channel naming (LineFields._channels)."""
    n = len(starts)
    sub = FrameBatch.empty(n)
    flags = np.zeros((3, n), np.uint8)
    ch_start, ch_end = np.zeros(n, np.int64), np.zeros(n, np.int64)
    columns = (sub.timestamp, sub.arbitration_id, *(getattr(sub, c).view(np.uint8) for c in _FLAG_COLUMNS),
               sub.dlc, sub.data)
    core.candump_general_lines(buf, np.ascontiguousarray(starts), np.ascontiguousarray(ends), columns, flags,
                               ch_start, ch_end)
    fields = LineFields(buf, starts, ends)
    fields.error, fields.sp2, fields.ch_start = flags[0], ch_end, ch_start
    for i in np.flatnonzero(flags[2]).tolist():  # close = ch_start - 2
        try:
            sub.timestamp[i] = float(buf[starts[i] + 1 : ch_start[i] - 2].tobytes())
        except ValueError:
            fields.error[i] = E_TS  # the reference judges the timestamp before the other fields
    channel_names, codes = fields._channels()
    sub = FrameBatch(**{**vars(sub), "channel": codes, "channel_names": channel_names})
    _merge(sub, fields.error, rows, batch, error, names, channels)


def _merge(sub: FrameBatch, sub_error, rows, batch: FrameBatch, error, names: list[str], channels: set[str]) -> None:
    """The general parser's lines (either core's) into ``batch`` at ``rows``, within the channel cap."""
    error[rows] = sub_error
    sub = _within_channel_cap(sub, rows, error, channels)
    for column in ("timestamp", "arbitration_id", "is_extended", "is_remote", "is_error", "is_fd",
                   "bitrate_switch", "error_state_indicator", "is_rx", "dlc", "data"):
        getattr(batch, column)[rows] = getattr(sub, column)
    batch.channel[rows] = recode_channels(names, sub)


_FLAG_COLUMNS = ("is_extended", "is_remote", "is_error", "is_fd", "bitrate_switch", "error_state_indicator", "is_rx")


def _admit(names, channels: set[str]) -> np.ndarray:
    """Which of ``names`` the log may use: those seen before, and new ones while there is room."""
    allowed = np.zeros(len(names) + 1, bool)  # + 1: codes of an empty batch index 0
    for code, name in enumerate(names):
        if name in channels or len(channels) < MAX_LOG_CHANNELS:
            channels.add(name)
            allowed[code] = True
    return allowed


def _within_channel_cap(sub: FrameBatch, rows, error, channels: set[str]) -> FrameBatch:
    """``sub`` with only the channel names within the cap (their lines past it marked), before
    the names are merged one by one: 70,000 of them were merged in quadratic time."""
    allowed = _admit(sub.channel_names, channels)
    if allowed[: len(sub.channel_names)].all():
        return sub
    refused = ~allowed[sub.channel]
    error[rows[refused & (error[rows] == OK)]] = E_CHANNELS
    code = np.cumsum(allowed) - 1
    kept = tuple(name for name, ok in zip(sub.channel_names, allowed, strict=False) if ok)
    return FrameBatch(**{**vars(sub), "channel": np.where(refused, 0, code[sub.channel]).astype(np.uint16),
                         "channel_names": kept or ("",)})


CHUNK = 1 << 20  # text parsed at once: 1 MiB keeps the SWAR temporaries in cache (32 MiB ran half as fast)


def read_candump(path: str | Path, chunk_bytes: int = CHUNK) -> Iterator[tuple[FrameBatch, ParseStats]]:
    """Parse a candump -L file (``.gz`` too, within limits.MAX_EXPANSION) in chunks of whole
    lines. A line longer than limits.MAX_LOG_LINE is skipped and counted as malformed."""
    path = Path(path)
    line = 1
    rest = b""
    channels: set[str] = set()
    overlong = False  # inside a line already counted as too long: its bytes are dropped
    with open_input(path) as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            if not chunk:
                break
            text = rest + chunk
            cut = text.rfind(b"\n") + 1
            if overlong:
                if cut == 0:
                    rest = b""
                    continue
                text, overlong = text[text.find(b"\n") + 1 :], False
                cut = text.rfind(b"\n") + 1
            if cut == 0:
                rest = text
                if len(rest) > MAX_LOG_LINE:
                    yield _overlong(line)
                    line, rest, overlong = line + 1, b"", True
                continue
            text, rest = text[:cut], text[cut:]
            batch, stats = parse_candump(text, first_line=line, channels=channels)
            line += stats.lines
            yield batch, stats
    if rest:
        yield parse_candump(rest, first_line=line, channels=channels)


def _overlong(line: int) -> tuple[FrameBatch, ParseStats]:
    stats = ParseStats(lines=1, malformed=1, examples=[(line, f"line longer than {MAX_LOG_LINE} bytes; skipped")])
    return FrameBatch.empty(0), stats
