"""Alert-log lines read within bounds, each either a valid chained record or a reason why not.

The verifier trusts nothing in the file it checks, so what one line may cost is capped before
anything is allocated for it: a line longer than MAX_LINE is measured while it streams past and
never held; nesting is counted on the line's brackets (C-speed passes) before ``json.loads``
builds anything; numbers must be finite and in range. Every line comes out as a ``Line`` and
``parse`` gives it a record or a one-phrase reason, so a reader can name it at file:line.

A line cut off by a crash or a full disk is a prefix of a record; ``parse`` says so
(``cut``), because the writer starts a fresh line after it and the chain links across it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError
from .chain import ALGORITHMS, CHAIN

#: A record line may be this long: 100,000 track points (alerts.track_points' maximum) take
#: about 4.5 MB; past this a line is measured, reported and never parsed.
MAX_LINE = 8 << 20
#: Records nest 6 deep; deeper lines are reported before json.loads builds them.
MAX_DEPTH = 32
#: Sequence numbers and times stay exact in any JSON reader (IEEE double integers).
MAX_INT = 2**53
#: Record times are milliseconds since 1970, before the year 10000.
MAX_TIME_MS = 253_402_300_800_000

HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_CUT_TAIL = re.compile(r"t(r(ue?)?)?|f(a(l(se?)?)?)?|n(u(ll?)?)?|-|[.eE][-+]?|\\u[0-9a-fA-F]{0,3}")


@dataclass
class Line:
    path: Path
    number: int  # 1-based
    raw: bytes | None  # None: longer than MAX_LINE, not kept
    length: int
    terminated: bool  # ends with a newline (False: the file's last line, cut off or still being written)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.number}"


def read_lines(path: Path) -> Iterator[Line]:
    """The file's lines in order, in chunks: memory stays within MAX_LINE plus one chunk."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise SourceError(f"{path}: cannot read: {error.strerror or error}") from None
    with handle:
        number, parts, size = 0, [], 0
        for chunk in iter(lambda: _read(handle, path), b""):
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                size += len(piece)
                if size <= MAX_LINE:
                    parts.append(piece)
                else:
                    parts = []  # too long: only its length is kept
                if end < 0:
                    break
                number += 1
                yield Line(path, number, b"".join(parts) if size <= MAX_LINE else None, size, True)
                parts, size, start = [], 0, end + 1
        if size:
            yield Line(path, number + 1, b"".join(parts) if size <= MAX_LINE else None, size, False)


def _read(handle, path: Path) -> bytes:
    try:
        return handle.read(_CHUNK)
    except OSError as error:
        raise SourceError(f"{path}: cannot read: {error.strerror or error}") from None


@dataclass
class Parsed:
    record: dict | None
    reason: str = ""  # why the line is not a valid record
    cut: bool = False  # the start of a record, cut off (a crash or a full disk)


def parse(line: Line, problem: Callable[[dict], str] | None = None) -> Parsed:
    """The line's record, or why it is not one (a line cut off by a crash is marked ``cut``).
    ``problem`` says what keeps a JSON object from being a record (default: record_problem)."""
    raw = line.raw
    if raw is None:
        return Parsed(None, f"a line of {line.length} bytes, longer than the {MAX_LINE} a record may take")
    if b"\0" in raw:
        return Parsed(None, "NUL bytes in the line")
    if not raw.strip():
        return Parsed(None, "an empty line")
    if too_deep(raw):
        return Parsed(None, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        text = raw.decode()
    except UnicodeDecodeError as error:
        if error.end < len(raw) or "end of data" not in str(error.reason):
            return Parsed(None, f"not UTF-8 (byte {error.start + 1})")
        return Parsed(None, "not UTF-8 (cut inside a character)", cut=raw.startswith(b'{"'))
    return _decoded(text, problem or record_problem)


def _decoded(text: str, problem: Callable[[dict], str]) -> Parsed:
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        return Parsed(None, f"JSON nested deeper than {MAX_DEPTH} levels")
    except _NotFinite as error:
        return Parsed(None, f"the number {error} (a record carries finite numbers only)")
    except json.JSONDecodeError as error:
        return Parsed(None, f"invalid JSON ({error.msg} at column {error.colno})", cut=_cut_off(text, error))
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        return Parsed(None, f"invalid JSON ({str(error)[:80]})")
    if not isinstance(value, dict):
        return Parsed(None, "not a JSON object")
    reason = problem(value)
    return Parsed(None, reason) if reason else Parsed(value)


def too_deep(raw: bytes) -> bool:
    """Brackets nested deeper than MAX_DEPTH (outside strings): one pass removes the innermost
    pairs, so MAX_DEPTH passes empty any line nested no deeper. Unbalanced brackets stop
    shrinking and are left to json.loads to name."""
    skeleton = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    for _ in range(MAX_DEPTH):
        shorter = _PAIR.sub(b"", skeleton)
        if not shorter or shorter == skeleton:
            return False
        skeleton = shorter
    return _PAIR.search(skeleton) is not None


class _NotFinite(ValueError):
    pass


def _no_constant(name: str):
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text[:40])
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)  # one, not one per line


def _cut_off(text: str, error: json.JSONDecodeError) -> bool:
    """A record's first bytes: JSON that is fine up to where the text ends."""
    if not text.startswith('{"'):
        return False
    if error.msg.startswith("Unterminated string") or error.pos >= len(text):
        return True
    return _CUT_TAIL.fullmatch(text[error.pos:]) is not None


def record_problem(record: dict) -> str:
    """What keeps a JSON object from being a chained record: the chain's fields, the sequence
    and the time, with their types and ranges ("" when they hold)."""
    unmapped = record.get("unmapped")
    chain = unmapped.get(CHAIN) if isinstance(unmapped, dict) else None
    if not isinstance(chain, dict):
        return "no chain (unmapped.chain is not an object)"
    seq = chain.get("seq")
    if not whole(seq, 1, MAX_INT):
        return f"chain.seq {show(seq)} is not a whole number from 1 to 2^53"
    for name in ("prev", "hash"):
        if not isinstance(chain.get(name), str) or not HEX64.fullmatch(chain[name]):
            return f"chain.{name} {show(chain.get(name))} is not 64 hex digits"
    if "alg" not in chain:
        return "chain.alg is missing (the record names no algorithm)"
    if chain["alg"] not in ALGORITHMS:
        return f"chain.alg {show(chain['alg'])} is not one of {', '.join(ALGORITHMS)}"
    metadata = record.get("metadata")
    sequence = metadata.get("sequence") if isinstance(metadata, dict) else None
    if sequence != seq or isinstance(sequence, bool):
        return f"metadata.sequence {show(sequence)} is not the chain's sequence {seq}"
    if not whole(record.get("time"), 0, MAX_TIME_MS):
        return f"time {show(record.get('time'))} is not milliseconds since 1970"
    return ""


def whole(value: object, least: int, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= most


def show(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | type(None)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
