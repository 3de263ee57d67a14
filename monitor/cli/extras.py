"""Optional dependencies (pyproject extras): a command that needs one asks for it before it
does anything (``need``), and a plain ``pip install gatewatch`` gets one line naming the extra
to install, exit 2, instead of a ModuleNotFoundError traceback. ``main`` also turns a missing
extra's ModuleNotFoundError from deeper down into that line (``missing``)."""

from __future__ import annotations

import importlib

#: import name -> (distribution, extra)
EXTRAS: dict[str, tuple[str, str]] = {
    "paho": ("paho-mqtt", "fleet"),
    "duckdb": ("duckdb", "fleet"),
    "pyarrow": ("pyarrow", "fleet"),
    "pyspark": ("pyspark", "spark"),
    "asammdf": ("asammdf", "mf4"),
    "dpkt": ("dpkt", "bench"),
}

#: For --help: which commands need which extra.
HELP = """optional extras (pip install 'gatewatch[EXTRA]'):
  fleet   paho-mqtt, duckdb and pyarrow: uplink, collect, fleet query, bench fleet (and run with an uplink section)
  spark   pyspark (and a Java runtime): fleet query --engine spark, bench fleet --engines spark
  mf4     asammdf: .mf4 CAN logs (decode, replay)
  bench   dpkt: bench net's pure-Python baseline (skipped without it)"""


class MissingExtra(Exception):
    """An optional dependency is not installed."""

    def __init__(self, module: str) -> None:
        self.module = module.split(".")[0]
        self.distribution, self.extra = EXTRAS[self.module]
        super().__init__(f"needs {self.distribution}: pip install 'gatewatch[{self.extra}]'")


def need(*modules: str) -> None:
    """Import these optional modules now, or raise MissingExtra for the first one missing."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(module) from None


def missing(error: ImportError) -> MissingExtra | None:
    """The extra an import error is about, if it is a missing optional dependency."""
    name = (error.name or "").split(".")[0]
    return MissingExtra(name) if isinstance(error, ModuleNotFoundError) and name in EXTRAS else None
