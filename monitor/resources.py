"""Files shipped beside the package in the project tree: dbc/, policies/, seeds/."""

from __future__ import annotations

from pathlib import Path

from .errors import SourceError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shipped(relative: str) -> Path:
    """Path of a shipped file, e.g. ``shipped("dbc/opendbc/tesla_model3_party.dbc")``."""
    path = PROJECT_ROOT / relative
    if not path.exists():
        raise SourceError(f"{path}: shipped file missing (is this a complete gatewatch checkout?)")
    return path
