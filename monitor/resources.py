"""Files shipped with gatewatch: dbc/ and policies/ (with the policy schema).

In a wheel they are package data under ``monitor/_shipped/`` (the build copies the top-level
folders there, see setup.py), found with importlib.resources; in a checkout or an editable
install they are the top-level folders themselves. Both give the same relative layout, so a
shipped policy's ``../dbc/...`` works from either.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import PolicyError, SourceError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    packaged = Path(str(resources.files("monitor").joinpath("_shipped")))
    return packaged if packaged.is_dir() else PROJECT_ROOT


def shipped(relative: str, must_exist: bool = True) -> Path:
    """Path of a shipped file, e.g. ``shipped("dbc/opendbc/tesla_model3_party.dbc")``."""
    path = data_root() / relative
    if must_exist and not path.exists():
        raise SourceError(f"{path}: shipped file missing (is this a complete gatewatch install?)")
    return path


def shipped_policies() -> list[str]:
    return sorted(p.stem for p in (data_root() / "policies").glob("*.yaml"))


def shipped_policy(name: str) -> Path:
    """A shipped policy by its bare name: ``default``, ``strict``."""
    path = data_root() / "policies" / f"{name}.yaml"
    if not path.is_file():
        raise PolicyError(f"no shipped policy {name!r} (shipped: {', '.join(shipped_policies())})")
    return path
