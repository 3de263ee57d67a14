"""The baseline of ``gatewatch test``: fingerprints, the file written and read back, --fail-on and
which new findings fail the run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from monitor.cli.baseline import MAX_BASELINE_BYTES, FailOn, fail_on, failing, fingerprint, load, write
from monitor.errors import ConfigError

ROW = {"detector": "wire.rtp", "category": "video", "destination": "198.51.100.70", "port": 5004,
       "action": "alert", "names": ["cam.example"], "time": 1.0, "count": 3}


def test_a_finding_keeps_its_fingerprint_over_time_and_hits_but_not_over_what_it_is():
    assert fingerprint("s", ROW) == fingerprint("s", {**ROW, "time": 99.0, "count": 1})
    others = [fingerprint("t", ROW)] + [fingerprint("s", {**ROW, key: value}) for key, value in
                                       (("detector", "wire.rtsp"), ("category", "mapping"), ("destination", "x"), ("port", None))]
    assert len({fingerprint("s", ROW), *others}) == 6


def test_written_and_read_back_one_line_a_finding_sorted(tmp_path):
    path = tmp_path / "b.json"
    assert write(path, [("s", ROW), ("s", {**ROW, "time": 5.0}), ("a", ROW)]) == 2  # the same finding twice is one
    assert load(path) == {fingerprint("s", ROW), fingerprint("a", ROW)}
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and '"scenario": "a"' in lines[2] and '"scenario": "s"' in lines[3]
    assert json.loads(path.read_text())["gatewatch_baseline"] == 1


@pytest.mark.parametrize("text,needle", [
    ('{"findings": []}', ":1: not a gatewatch baseline (version 1"),
    ('{"gatewatch_baseline": 1, "findings": [{"scenario": "s"}]}', ":1: not a gatewatch baseline"),
    ('{"gatewatch_baseline": 1,\n\n "findings": [}', ":3: not a gatewatch baseline (invalid JSON)"),
])
def test_a_file_that_is_no_baseline_is_one_line_naming_file_and_line(tmp_path, text, needle):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="not a gatewatch baseline") as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}{needle}")
    with pytest.raises(ConfigError, match="cannot read the baseline"):
        load(tmp_path / "missing.json")


def test_fail_on_takes_the_four_keys_and_refuses_others():
    assert fail_on("detector:wire.rtp") == FailOn("detector", "wire.rtp")
    assert fail_on("destination:10.0.0.1:80") == FailOn("destination", "10.0.0.1:80")  # the first colon splits
    for bad in ("category", "colour:red", "action:"):
        with pytest.raises(argparse.ArgumentTypeError, match="KEY:VALUE"):
            fail_on(bad)
    assert FailOn("destination", "cam.example").matches(ROW) and FailOn("destination", "198.51.100.70").matches(ROW)
    assert not FailOn("destination", "other.example").matches(ROW)



def test_fail_on_refuses_a_category_action_or_detector_that_cannot_exist():
    """A typo would match nothing and quietly switch the gate off."""
    assert fail_on("action:ALERT") == FailOn("action", "alert") and fail_on("category:Video") == FailOn("category", "video")
    for bad, says in (("category:geolocaton", "no category 'geolocaton'"), ("action:warn", "no action 'warn'"),
                      ("category:geolocation:extra", "no category"), ("detector:wire rtp", "not a detector name"),
                      ("detector:*", "not a detector name")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            fail_on(bad)


def test_a_baseline_is_read_with_a_cap_and_only_from_a_regular_file(tmp_path):
    with pytest.raises(ConfigError, match="not a regular file: cannot read the baseline"):
        load(Path("/dev/zero"))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(ConfigError, match=f"{deep}:1: not a gatewatch baseline"):
        load(deep)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_BASELINE_BYTES + 1))
    with pytest.raises(ConfigError, match="at most 16 MiB"):
        load(big)


@pytest.mark.parametrize("new,gates,baseline_given,fails", [
    (True, [], False, False),  # no gate: expect.yaml alone judges
    (True, [], True, True),  # a baseline: every new finding fails
    (False, [], True, False),  # a known one never does
    (True, [FailOn("category", "video")], False, True),
    (True, [FailOn("category", "can")], True, False),  # --fail-on narrows the baseline's gate
    (False, [FailOn("category", "video")], True, False),
])
def test_which_findings_fail_the_run(new, gates, baseline_given, fails):
    assert failing(ROW, new, gates, baseline_given) is fails
