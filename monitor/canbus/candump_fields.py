"""The general candump -L line parser: finds every field by searching, for any layout.

``candump.py`` parses the lines that follow a file's common layout with fixed offsets; the
lines it cannot (another channel, FD, remote, odd widths, anything malformed) come here. Each
field boundary is found for all lines at once (the first ')', ' ' or '#' at or after a position,
by searchsorted), and each field is read for all lines of one width with one gather. Every
line gets an error code: 0, or the index of its reason in REASONS.
"""

from __future__ import annotations

import numpy as np

from ..limits import MAX_LOG_CHANNELS
from .frames import FD_LENGTHS, MAX_DATA, FrameBatch

CAN_ERR_FLAG = 0x20000000
CANFD_BRS = 0x01
CANFD_ESI = 0x02

_INVALID = 255
_HEX = np.full(256, _INVALID, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
_DIGIT = np.full(256, _INVALID, np.uint8)
_DIGIT[48:58] = np.arange(10)
_FD_LENGTH_OK = np.zeros(MAX_DATA + 1, bool)
_FD_LENGTH_OK[list(FD_LENGTHS)] = True

# Reasons a line is skipped, indexed by the code stored per line.
REASONS = (
    "",
    "expected '(timestamp)' at the start of the line",
    "bad timestamp",
    "expected ' channel ' after the timestamp",
    "expected '#' after the CAN id",
    "bad CAN id (1 to 8 hex digits)",
    "bad FD flags",
    "bad remote frame length",
    "data is not an even number of hex digits",
    "too many data bytes for the frame type",
    "bad hex digit in data",
    "unexpected text after the frame (only ' R' or ' T' may follow)",
    f"a channel past the first {MAX_LOG_CHANNELS} channel names of this log",
)
(OK, E_OPEN, E_TS, E_CHANNEL, E_HASH, E_ID, E_FD, E_RTR, E_ODD, E_LEN, E_HEX, E_TAIL, E_CHANNELS) = range(13)


def _first_at_or_after(positions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For each line, the first of the sorted ``positions`` in [start, end), or -1."""
    if len(positions) == 0:
        return np.full(len(start), -1, np.int64)
    k = np.searchsorted(positions, start)
    found = positions[np.minimum(k, len(positions) - 1)]
    return np.where((k < len(positions)) & (found < end), found, -1)


def _windows(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``width`` bytes starting at each position, gathered in one step."""
    if width == 0:
        return np.zeros((len(pos), 0), np.uint8)
    return np.lib.stride_tricks.sliding_window_view(buf, width)[pos]


def _positional(values: np.ndarray, base: int) -> np.ndarray:
    """Digits (rows, most significant first) to integers in the given base."""
    weights = base ** np.arange(values.shape[1] - 1, -1, -1, dtype=np.int64)
    return values.astype(np.int64) @ weights


class LineFields:
    """Field positions and values for all lines of one chunk; error codes per line."""

    def __init__(self, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        self.buf, self.starts, self.ends = buf, starts, ends
        self.error = np.zeros(len(starts), np.uint8)

    def _fail(self, mask: np.ndarray, code: int) -> None:
        self.error[(self.error == OK) & mask] = code

    def locate(self) -> None:
        buf, starts, ends = self.buf, self.starts, self.ends
        self._fail(buf[starts] != ord("("), E_OPEN)
        self.close = _first_at_or_after(np.flatnonzero(buf == ord(")")), starts, ends)
        self._fail(self.close < 0, E_OPEN)
        spaces = np.flatnonzero(buf == ord(" "))
        sp1 = np.where(self.close >= 0, self.close + 1, ends)
        self._fail((sp1 >= ends) | (buf[np.minimum(sp1, len(buf) - 1)] != ord(" ")), E_CHANNEL)
        self.sp2 = _first_at_or_after(spaces, sp1 + 1, ends)
        self._fail((self.sp2 < 0) | (self.sp2 == sp1 + 1), E_CHANNEL)
        self.ch_start = sp1 + 1
        self.hash = _first_at_or_after(np.flatnonzero(buf == ord("#")), self.sp2 + 1, ends)
        self._fail(self.hash < 0, E_HASH)
        id_len = self.hash - self.sp2 - 1
        self._fail((id_len < 1) | (id_len > 8), E_ID)
        # The frame ends at a further space (then ' R'/' T' may follow) or at the line end.
        after = _first_at_or_after(spaces, self.hash + 1, ends)
        self.frame_end = np.where(after >= 0, after, ends)
        tail = ends - self.frame_end
        tail_char = buf[np.minimum(self.frame_end + 1, len(buf) - 1)] | 0x20
        self._fail((tail != 0) & ((tail != 2) | ((tail_char != ord("r")) & (tail_char != ord("t")))), E_TAIL)
        self.is_rx = ~((tail == 2) & (tail_char == ord("t")))

    def parse_values(self) -> FrameBatch:
        n = len(self.starts)
        batch = FrameBatch.empty(n)
        if n == 0:
            return batch
        ok = self.error == OK
        self._parse_timestamps(np.flatnonzero(ok), batch.timestamp)
        self._parse_ids(batch)
        self._parse_payloads(batch)
        batch.is_rx[:] = self.is_rx
        names, codes = self._channels()
        return FrameBatch(**{**vars(batch), "channel": codes, "channel_names": names})

    def _parse_timestamps(self, rows: np.ndarray, out: np.ndarray) -> None:
        buf = self.buf
        begin, close = self.starts[rows] + 1, self.close[rows]
        dot = _first_at_or_after(np.flatnonzero(buf == ord(".")), begin, close)
        dot = np.where(dot < 0, close, dot)
        int_len, frac_len = dot - begin, np.maximum(close - dot - 1, 0)
        layouts = int_len * 64 + frac_len
        for layout in np.unique(layouts):
            sel = rows[layouts == layout]
            a, f = int(layout) // 64, int(layout) % 64
            if a == 0 or a + f > 18:  # does not fit int64: rare, do it slowly
                self._parse_timestamps_slowly(sel, out)
                continue
            digits_int = _DIGIT[_windows(buf, self.starts[sel] + 1, a)]
            digits_frac = _DIGIT[_windows(buf, self.starts[sel] + 2 + a, f)]
            invalid = (digits_int == _INVALID).any(axis=1) | (digits_frac == _INVALID).any(axis=1)
            total = _positional(digits_int, 10) * 10**f + _positional(digits_frac, 10)
            # Below 2**53 both operands are exact doubles, so the quotient is the correctly
            # rounded value of the decimal text: the same float Python's float() gives.
            out[sel] = total / float(10**f)
            bad = np.zeros(len(self.starts), bool)
            bad[sel[invalid]] = True
            self._fail(bad, E_TS)
            inexact = sel[~invalid & (total >= 1 << 53)]
            if len(inexact):
                self._parse_timestamps_slowly(inexact, out)

    def _parse_timestamps_slowly(self, rows: np.ndarray, out: np.ndarray) -> None:
        bad = np.zeros(len(self.starts), bool)
        for i in rows:
            text = self.buf[self.starts[i] + 1 : self.close[i]].tobytes()
            try:
                out[i] = float(text)
            except ValueError:
                bad[i] = True
        self._fail(bad, E_TS)

    def _parse_ids(self, batch: FrameBatch) -> None:
        ok = np.flatnonzero(self.error == OK)
        id_len = (self.hash - self.sp2 - 1)[ok]
        raw = np.zeros(len(self.starts), np.int64)
        bad = np.zeros(len(self.starts), bool)
        for width in np.unique(id_len):
            sel = ok[id_len == width]
            nibbles = _HEX[_windows(self.buf, self.sp2[sel] + 1, int(width))]
            bad[sel] = (nibbles == _INVALID).any(axis=1)
            raw[sel] = _positional(nibbles, 16)
            batch.is_extended[sel] = width > 3  # python-can's rule: more than 3 digits = 29-bit
        self._fail(bad, E_ID)
        batch.arbitration_id[:] = raw & 0x1FFFFFFF
        batch.is_error[:] = (raw & CAN_ERR_FLAG) != 0

    def _parse_payloads(self, batch: FrameBatch) -> None:
        buf, n = self.buf, len(self.starts)
        last = len(buf) - 1
        ds = self.hash + 1
        fe = self.frame_end
        is_fd = (ds < fe) & (buf[np.minimum(ds, last)] == ord("#"))
        flags = _HEX[buf[np.minimum(ds + 1, last)]]
        self._fail(is_fd & ((ds + 1 >= fe) | (flags == _INVALID)), E_FD)
        flags = np.where(is_fd, flags, 0)
        ds = np.where(is_fd, ds + 2, ds)
        is_remote = (ds < fe) & ((buf[np.minimum(ds, last)] | 0x20) == ord("r"))
        rtr_len_chars = fe - ds - 1
        rtr_digit = _DIGIT[buf[np.minimum(ds + 1, last)]]
        self._fail(is_remote & ((rtr_len_chars > 1) | ((rtr_len_chars == 1) & (rtr_digit == _INVALID))), E_RTR)
        nchars = np.where(is_remote, 0, fe - ds)
        self._fail(nchars % 2 == 1, E_ODD)
        nbytes = nchars // 2
        too_long = np.where(is_fd, (nbytes > MAX_DATA) | ~_FD_LENGTH_OK[np.clip(nbytes, 0, MAX_DATA)], nbytes > 8)
        self._fail(too_long, E_LEN)

        batch.is_fd[:] = is_fd
        batch.bitrate_switch[:] = (flags & CANFD_BRS) != 0
        batch.error_state_indicator[:] = (flags & CANFD_ESI) != 0
        batch.is_remote[:] = is_remote
        rtr_dlc = np.where((rtr_len_chars == 1) & (rtr_digit != _INVALID), rtr_digit, 0)
        batch.dlc[:] = np.where(is_remote, rtr_dlc, np.clip(nbytes, 0, MAX_DATA))

        ok = np.flatnonzero(self.error == OK)
        bad = np.zeros(n, bool)
        for width in np.unique(nbytes[ok]):
            if width == 0:
                continue
            sel = ok[nbytes[ok] == width]
            nibbles = _HEX[_windows(buf, ds[sel], 2 * int(width))]
            bad[sel] = (nibbles == _INVALID).any(axis=1)
            batch.data[sel, :width] = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
        self._fail(bad, E_HEX)

    def _channels(self) -> tuple[tuple[str, ...], np.ndarray]:
        codes = np.zeros(len(self.starts), np.uint16)
        ok = np.flatnonzero(self.error == OK)
        widths = (self.sp2 - self.ch_start)[ok]
        names: list[str] = []
        for width in np.unique(widths):
            sel = ok[widths == width]
            text = np.ascontiguousarray(_windows(self.buf, self.ch_start[sel], int(width)))
            uniq, inverse = np.unique(text.view(f"S{int(width)}").ravel(), return_inverse=True)
            base = len(names)
            names.extend(u.decode("utf-8", "replace") for u in uniq)
            codes[sel] = base + inverse.ravel()
        return tuple(names), codes


