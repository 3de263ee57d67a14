"""What a DBC may cost cantools, checked before cantools reads it.

cantools allocates per declared byte and signal bit, spends 200 bytes per byte of a quoted
string (a 10 MB comment cost 2.2 GB) and kilobytes per message (100,000 messages: 15 s,
550 MB); a float signal of a width its SIG_VALTYPE_ does not have loads leniently and then
fails at decode time. So the file is scanned line by line first (lines end in CR, LF or
CR LF, as cantools splits them) and each of these is a DecodeError naming file:line.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DecodeError
from ..limits import (
    MAX_DBC_BYTES,
    MAX_DBC_LINE,
    MAX_DBC_MESSAGE_BYTES,
    MAX_DBC_MESSAGES,
    MAX_DBC_SIGNALS,
    MAX_DBC_SIGNALS_PER_MESSAGE,
    MAX_DBC_STRING,
)

_MESSAGE = re.compile(rb"^\s*BO_\s+(\d+)\s+(\w+)\s*:\s*(\d+)")
_SIGNAL = re.compile(rb"^\s*SG_\s+(\w+)[^:]*:\s*(\d+)\s*\|\s*(\d+)\s*@\s*([01])")
_VALTYPE = re.compile(rb"^\s*SIG_VALTYPE_\s+(\d+)\s+(\w+)\s*:?\s*(\d+)")
_QUOTE = re.compile(rb'(?<!\\)"')
FLOAT_BITS = {1: 32, 2: 64}  # SIG_VALTYPE_ 1: IEEE single, 2: IEEE double


def check_sizes(path: Path) -> None:
    """Refuse, naming file:line, what would make cantools allocate without bound or fail later."""
    if path.stat().st_size > MAX_DBC_BYTES:
        raise DecodeError(f"{path}: larger than {MAX_DBC_BYTES} bytes; not a DBC?")
    scan = _Scan(path)
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        scan.line(number, line)


def _int(digits: bytes) -> int:
    """A decimal field; past 18 digits (no DBC number is that long, and Python refuses to convert
    4,300) it stands as 10**18, which every check refuses."""
    return int(digits) if len(digits) <= 18 else 10**18


class _Scan:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages = self.signals = self.in_message = 0
        self.message, self.size, self.frame_id = "", 0, -1
        self.lengths: dict[tuple[int, bytes], int] = {}  # (frame id, signal) -> bits, for SIG_VALTYPE_
        self.string = -1  # bytes of the quoted string open at the end of the last line; -1: none open

    def fail(self, number: int, what: str) -> None:
        raise DecodeError(f"{self.path}:{number}: {what}")

    def line(self, number: int, line: bytes) -> None:
        if len(line) > MAX_DBC_LINE:
            self.fail(number, f"a line longer than {MAX_DBC_LINE} bytes")
        if self._in_string(number, line):
            return
        if found := _MESSAGE.match(line):
            self._message(number, found)
        elif found := _SIGNAL.match(line):
            self._signal(number, found)
        elif found := _VALTYPE.match(line):
            self._valtype(number, found)

    def _in_string(self, number: int, line: bytes) -> bool:
        """Track quoted strings across lines; True while this line began inside one."""
        began_inside = self.string >= 0
        quotes = _QUOTE.findall(line)
        if len(quotes) % 2 == 0:
            if began_inside:
                self.string += len(line)
        elif began_inside:
            self.string = -1
        else:
            self.string = len(line) - line.rfind(b'"')
        if self.string > MAX_DBC_STRING:
            self.fail(number, f"a quoted string (a comment?) longer than {MAX_DBC_STRING} bytes")
        return began_inside

    def _message(self, number: int, found: re.Match) -> None:
        self.messages += 1
        if self.messages > MAX_DBC_MESSAGES:
            self.fail(number, f"more than {MAX_DBC_MESSAGES} messages")
        self.frame_id, self.message, self.size, self.in_message = _int(found[1]), found[2].decode(), _int(found[3]), 0
        if self.size > MAX_DBC_MESSAGE_BYTES:
            self.fail(number, f"message {self.message} declares {self.size} bytes (at most {MAX_DBC_MESSAGE_BYTES})")

    def _signal(self, number: int, found: re.Match) -> None:
        self.signals += 1
        self.in_message += 1
        name, start, length, little = found[1].decode(), _int(found[2]), _int(found[3]), found[4] == b"1"
        if self.signals > MAX_DBC_SIGNALS:
            self.fail(number, f"more than {MAX_DBC_SIGNALS} signals")
        if self.in_message > MAX_DBC_SIGNALS_PER_MESSAGE:
            self.fail(number, f"message {self.message} has more than {MAX_DBC_SIGNALS_PER_MESSAGE} signals")
        # Motorola (big endian) start bits count from the most significant bit of a byte. A signal
        # past its own frame but within 64 bytes is cantools' to judge (it loads such DBCs
        # leniently, and corpus DBCs have them); its frames are then refused, counted.
        first = start if little else (start // 8) * 8 + 7 - start % 8
        if length < 1 or first + length > 8 * MAX_DBC_MESSAGE_BYTES:
            self.fail(number, f"signal {name} at bit {start} of length {length} does not fit "
                              f"a {MAX_DBC_MESSAGE_BYTES}-byte frame (message {self.message})")
        if len(self.lengths) < MAX_DBC_SIGNALS:
            self.lengths[(self.frame_id, found[1])] = length

    def _valtype(self, number: int, found: re.Match) -> None:
        kind, length = _int(found[3]), self.lengths.get((_int(found[1]), found[2]))
        if kind in FLOAT_BITS and length is not None and length != FLOAT_BITS[kind]:
            self.fail(number, f"signal {found[2].decode()} is {length} bits: SIG_VALTYPE_ {kind} "
                              f"(IEEE {'single' if kind == 1 else 'double'}) needs {FLOAT_BITS[kind]}")
