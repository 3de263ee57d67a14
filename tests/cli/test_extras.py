"""A plain ``pip install gatewatch`` (no extras): each command that needs an optional dependency
says so in one line naming the extra, exit 2, no traceback, before it does anything. The
dependencies are hidden from a real CLI process by an import hook that finds nothing for them,
as an interpreter without them would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import PROJECT

WRAPPER = """
import sys
hidden = set(sys.argv[1].split(","))

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
from monitor.cli import main
sys.exit(main(sys.argv[2:]))
"""


def without(hidden: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WRAPPER, hidden, *argv], capture_output=True, text=True, cwd=PROJECT,
                          check=False, timeout=120)


FLEET = "pip install 'gatewatch[fleet]'"


@pytest.mark.parametrize("hidden,argv,line", [
    ("paho", ["collect", "--broker", "mqtt://127.0.0.1:1", "-o", "{tmp}/c"], f"gatewatch collect: needs paho-mqtt: {FLEET}"),
    ("pyarrow", ["collect", "--broker", "mqtt://127.0.0.1:1", "-o", "{tmp}/c"], f"gatewatch collect: needs pyarrow: {FLEET}"),
    ("pyarrow", ["fleet", "migrate", "{tmp}"], f"gatewatch fleet: needs pyarrow: {FLEET}"),
    ("paho", ["uplink", "{tmp}", "--broker", "mqtt://127.0.0.1:1"], f"gatewatch uplink: needs paho-mqtt: {FLEET}"),
    ("duckdb", ["fleet", "query", "top-destinations", "{tmp}"], f"gatewatch fleet: needs duckdb: {FLEET}"),
    ("pyspark", ["fleet", "query", "top-destinations", "{tmp}", "--engine", "spark"],
     "gatewatch fleet: needs pyspark: pip install 'gatewatch[spark]'"),
    ("paho", ["bench", "fleet", "--engines", "duckdb"], f"gatewatch bench: needs paho-mqtt: {FLEET}"),
    ("pyspark", ["bench", "fleet"], "gatewatch bench: needs pyspark: pip install 'gatewatch[spark]'"),
    ("asammdf", ["decode", "{tmp}/drive.mf4", "--dbc", "gnss"], "gatewatch decode: needs asammdf: pip install 'gatewatch[mf4]'"),
])
def test_a_missing_extra_is_one_line_naming_it_and_exit_2(tmp_path: Path, hidden, argv, line):
    done = without(hidden, *(a.format(tmp=tmp_path) for a in argv))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")
    assert not (tmp_path / "c").exists()  # asked for before anything is done


def test_a_missing_extra_deeper_down_is_the_same_line(tmp_path: Path) -> None:
    # The daemon's uplink section needs paho: the import fails inside the daemon's set-up.
    config = tmp_path / "uplink.yaml"
    config.write_text("version: 1\nextends: default\nsources:\n  can: [{name: body, interface: virtual, channel: gw-x}]\n"
                      "uplink: {broker: 'mqtt://127.0.0.1:1'}\n")
    done = without("paho", "run", "--config", str(config), "-o", str(tmp_path / "out"))
    assert (done.returncode, done.stderr) == (2, f"gatewatch run: needs paho-mqtt: {FLEET}\n")


def test_what_needs_no_extra_still_works_without_them(tmp_path: Path) -> None:
    done = without("paho,duckdb,pyspark", "fleet", "query", "--list")
    assert done.returncode == 0 and "top-destinations" in done.stdout, done.stderr


def test_help_says_which_commands_need_which_extra() -> None:
    done = subprocess.run([sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, cwd=PROJECT,
                          check=True)
    text = done.stdout
    assert "optional extras (pip install 'gatewatch[EXTRA]'):" in text
    lines = {line.split()[0]: line for line in text.split("optional extras")[1].splitlines()[1:] if line.strip()}
    assert set(lines) == {"fleet", "spark", "mf4", "bench"}
    assert "uplink, collect, fleet query, bench fleet" in lines["fleet"]
    assert "fleet query --engine spark" in lines["spark"] and ".mf4" in lines["mf4"] and "dpkt" in lines["bench"]
    assert "(needs gatewatch[fleet])" in text.split("optional extras")[0]  # uplink's and collect's one-line help
