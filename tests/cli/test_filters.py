"""The review filters, defined once (cli/filters.py): ``alerts`` and ``alerts summary`` keep the
same records for the same options; times may be relative to now; a bad value is argparse's
one error line and exit 2 before any log is read."""

from __future__ import annotations

import json
import time

import pytest

from monitor.alerts.read import Filter, parse_time

from ..builders import run
from ..conftest import PROJECT

SEED = PROJECT / "seeds" / "countries-of-concern"  # destinations in CN, HK and RU


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    out = tmp_path_factory.mktemp("coc") / "out"
    code, _, err = run("replay", "--config", str(SEED / "config.yaml"), "-o", str(out), str(SEED / "can.log"),
                       str(SEED / "capture.pcap"))
    assert code == 0, err
    return out


def listed(logs, *options: str) -> list[dict]:
    code, out, err = run("alerts", str(logs), "--format", "jsonl", *options)
    assert (code, err) == (0, ""), err
    return [json.loads(line) for line in out.splitlines()]


def summed(logs, *options: str) -> dict:
    code, out, err = run("alerts", "summary", str(logs), "--json", *options)
    assert (code, err) == (0, ""), err
    return json.loads(out)


def g(record: dict) -> dict:
    return record["unmapped"]["gatewatch"]


@pytest.mark.parametrize("options", [
    (), ("--country", "cn"), ("--country", "HK", "--country", "RU"), ("--action", "alert", "--category", "video"),
    ("--detector", "wire"), ("--destination", "218.2.2.2", "--category", "geolocation"), ("--min-confidence", "0.95"),
])
def test_the_list_and_the_summary_keep_the_same_records(logs, options):
    records = listed(logs, *options)
    summary = summed(logs, *options)
    assert summary["episodes"] == len({g(r)["episode"]["uid"] for r in records})
    countries = {g(r)["destination"].get("country") for r in records}
    assert set(summary["by_country"]) == {c or "-" for c in countries}
    assert ("filters" in summary) == bool(options) and ("dns" in summary) == (not options)


def test_country_and_action_select_what_they_name(logs):
    everything = listed(logs)
    assert {g(r)["destination"]["country"] for r in everything} == {"CN", "HK", "RU"}
    chinese = listed(logs, "--country", "cn")
    assert chinese and {g(r)["destination"]["country"] for r in chinese} == {"CN"}
    assert listed(logs, "--action", "block") == []  # this seed alerts only
    assert len(listed(logs, "--action", "alert")) == len(everything)


def test_relative_since_cuts_between_records(logs):
    times = sorted({r["time"] / 1000 for r in listed(logs)})
    cut = (times[0] + times[-1]) / 2  # seconds apart: the moments between parsing and reading do not matter
    later = [t for t in times if t >= cut]
    assert 0 < len(later) < len(times)
    ago = f"{time.time() - cut:.0f}s"
    assert sorted({r["time"] / 1000 for r in listed(logs, "--since", ago)}) == later
    assert {r["time"] / 1000 for r in listed(logs, "--until", ago)} == set(times) - set(later)
    assert listed(logs, "--since", "1m") == [] and len(listed(logs, "--since", "10000w")) == len(listed(logs))
    summary = summed(logs, "--since", ago)
    assert summary["filters"].startswith("--since 20") and 0 < summary["episodes"]


def test_a_filtered_summary_says_its_filters(logs):
    code, out, _ = run("alerts", "summary", str(logs), "--country", "ru", "--vehicle", "countries-of-concern")
    assert code == 0
    assert out.splitlines()[1] == ("of the records kept by --vehicle countries-of-concern --country RU "
                                   "(names looked up left out)")
    assert "names looked up:" not in out


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--since", "3x", "argument --since: '3x' is not a time"),
    ("--until", "yesterday", "argument --until: 'yesterday' is not a time"),
    ("--country", "CHN", "argument --country: 'CHN' is not a country code"),
    ("--action", "drop", "argument --action: invalid choice: 'drop'"),
    ("--min-confidence", "nan", "argument --min-confidence: 'nan': a confidence is from 0 to 1"),
    ("--min-confidence", "high", "argument --min-confidence: 'high': not a number"),
])
def test_a_bad_filter_is_one_error_line_and_exit_2(logs, option, value, says, capsys):
    for command in (("alerts",), ("alerts", "summary")):
        code, out, _ = run(*command, str(logs), option, value)
        err = capsys.readouterr().err  # argparse writes its usage to the process's stderr
        assert (code, out) == (2, "")
        [line] = [line for line in err.splitlines() if line.startswith("gatewatch alerts: error:")]
        assert line.startswith(f"gatewatch alerts: error: {says}")


def test_relative_times_count_back_from_now():
    now = 1_800_000_000.0
    assert [parse_time(t, now) for t in ("90s", "30m", "1h", "2d", "1w", "1.5h")] == [
        now - 90, now - 1800, now - 3600, now - 2 * 86400, now - 7 * 86400, now - 5400]
    assert parse_time("2026-11-30", now) == 1_795_996_800.0 and parse_time("1700000000", now) == 1_700_000_000.0


def test_dash_keeps_the_records_with_no_country():
    can_row = {"time": 1.0, "category": "can", "vehicle": "v", "action": "alert", "detector": "can.unknown_id",
               "confidence": 1.0, "country": None, "destination": "can0", "names": []}
    assert Filter(countries=("-",))(can_row) and not Filter(countries=("CN",))(can_row)
    assert Filter(countries=("CN",))({**can_row, "country": "CN"})
