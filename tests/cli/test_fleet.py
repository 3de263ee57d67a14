"""``gatewatch collect`` and ``uplink`` options (cli/fleet.py): a bad broker URL is a one-line error.
The fleet query command: test_fleetquery.py."""

from __future__ import annotations

from pathlib import Path

from tests.builders import run


def test_a_bad_broker_url_is_one_line(tmp_path: Path) -> None:
    code, _, err = run("collect", "--broker", "http://example.com", "-o", str(tmp_path))
    assert code == 1 and err.strip().endswith("a broker is mqtt://host[:port] or mqtts://host[:port]")
