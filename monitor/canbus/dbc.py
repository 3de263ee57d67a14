"""Loading DBC files with cantools, the reference for DBC semantics.

A DBC that cantools loads only with ``strict=False`` (overlapping signals, signals that do not
fit) is loaded that way with a warning that quotes cantools' strict complaint; one cantools
cannot load at all is a DecodeError naming the file and cantools' reason.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import DecodeError
from .dbccheck import check_sizes

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


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
