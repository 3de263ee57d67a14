"""The shipped ``sources:`` example (policies/sources-example.yaml): it loads, ``policy check``
says ok, and every key config/sources.py reads is shown once, with a comment saying what it does."""

from __future__ import annotations

import re

from monitor.config.sources import CAN_KEYS, IP_KEYS
from monitor.pipeline import load_config

from ..builders import run
from ..conftest import PROJECT

EXAMPLE = PROJECT / "policies" / "sources-example.yaml"


def test_the_example_loads_with_its_buses_and_interfaces():
    sources = load_config(EXAMPLE).sources
    assert sources.configured
    assert [(b.name, b.interface) for b in sources.can] == [
        ("powertrain", "socketcan"), ("chassis", "socketcan"), ("diagnostics", "pcan")]
    assert sources.can[0].dbc == (str(PROJECT / "dbc" / "gateway-telematics.dbc"),)  # a shipped DBC by name
    assert sources.can[1].fd and sources.can[2].bitrate == 500_000
    assert [(i.interface, i.filter) for i in sources.ip] == [("wwan0", "not port 22"), ("eth1", None)]


def test_policy_check_says_ok():
    code, out, err = run("policy", "check", str(EXAMPLE))
    assert code == 0, err
    assert out.startswith(f"{EXAMPLE}: ok: monitor mode")


def test_every_key_the_loader_reads_is_shown_with_a_comment():
    text = EXAMPLE.read_text()
    for key in (*CAN_KEYS, *IP_KEYS, "reorder_ms", "queue_batches", "max_flows"):
        lines = [line for line in text.splitlines() if re.match(rf"\s*(- )?{key}:", line)]
        assert lines, f"{key} is not shown"
        assert any("#" in line for line in lines), f"{key} has no comment"
