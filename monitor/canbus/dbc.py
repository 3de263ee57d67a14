"""Loading DBC files with cantools, the reference for DBC semantics.

A DBC that cantools loads only with ``strict=False`` (overlapping signals, signals that do not
fit) is loaded that way with a warning that quotes cantools' strict complaint; one cantools
cannot load at all is a DecodeError naming the file and cantools' reason.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..errors import DecodeError
from ..limits import MAX_DBC_BYTES, MAX_DBC_LINE, MAX_DBC_MESSAGE_BYTES, MAX_DBC_SIGNALS_PER_MESSAGE

log = logging.getLogger(__name__)


def load_dbc(path: str | Path):
    """Load one DBC as a ``cantools.database.can.Database``."""
    import cantools

    path = Path(path)
    if not path.is_file():
        raise DecodeError(f"{path}: DBC file not found")
    check_sizes(path)
    try:
        return cantools.database.load_file(str(path), database_format="dbc", strict=True)
    except Exception as strict_error:  # noqa: BLE001 - cantools raises many kinds; we retry leniently
        try:
            db = cantools.database.load_file(str(path), database_format="dbc", strict=False)
        except Exception as error:
            raise DecodeError(f"{path}: cantools cannot load this DBC: {_one_line(error)}") from error
        log.warning("%s: loaded with strict=False (%s)", path, _one_line(strict_error))
        return db


_MESSAGE = re.compile(rb"^\s*BO_\s+(\d+)\s+(\w+)\s*:\s*(\d+)")
_SIGNAL = re.compile(rb"^\s*SG_\s+(\w+)[^:]*:\s*(\d+)\s*\|\s*(\d+)\s*@")


def check_sizes(path: Path) -> None:
    """Refuse, naming file:line, what would make cantools allocate without bound: a huge file,
    an overlong line, a message longer than CAN FD's 64 bytes, a signal past 512 bits, or more
    signals in a message than 64 bytes can hold."""
    if path.stat().st_size > MAX_DBC_BYTES:
        raise DecodeError(f"{path}: larger than {MAX_DBC_BYTES} bytes; not a DBC?")
    signals, message = 0, b""
    with path.open("rb") as handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_DBC_LINE + 1), b""), 1):
            if len(line) > MAX_DBC_LINE:
                raise DecodeError(f"{path}:{number}: a line longer than {MAX_DBC_LINE} bytes")
            if found := _MESSAGE.match(line):
                message, signals = found[2], 0
                if int(found[3]) > MAX_DBC_MESSAGE_BYTES:
                    raise DecodeError(f"{path}:{number}: message {found[2].decode()} declares {int(found[3])} bytes "
                                      f"(at most {MAX_DBC_MESSAGE_BYTES})")
            elif found := _SIGNAL.match(line):
                signals += 1
                start, length = int(found[2]), int(found[3])
                if start >= 8 * MAX_DBC_MESSAGE_BYTES or not 0 < length <= 8 * MAX_DBC_MESSAGE_BYTES:
                    raise DecodeError(f"{path}:{number}: signal {found[1].decode()} at bit {start} of length {length} "
                                      f"does not fit a {MAX_DBC_MESSAGE_BYTES}-byte frame")
                if signals > MAX_DBC_SIGNALS_PER_MESSAGE:
                    raise DecodeError(f"{path}:{number}: message {message.decode()} has more than "
                                      f"{MAX_DBC_SIGNALS_PER_MESSAGE} signals")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
