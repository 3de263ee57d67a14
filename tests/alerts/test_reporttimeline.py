"""The timeline's bins (alerts/reporttimeline.py): the unit follows the span from minutes to
years, counts survive coarsening unchanged, months and weeks fall on calendar edges, and every
finding an episode's records report is counted once."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from monitor.alerts import reporttimeline
from monitor.alerts.reporttimeline import MAX_STORED, Bins, Findings, render_timeline, start_of

T0 = datetime(2026, 3, 14, 9, 26, 53, tzinfo=timezone.utc).timestamp()


def utc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


@pytest.mark.parametrize(("span_s", "unit"), [(300, "1 min"), (5 * 3600, "10 min"), (2 * 86400, "1 h"), (60 * 86400, "1 day"),
                                              (400 * 86400, "1 week"), (3 * 365 * 86400, "1 month"),
                                              (40 * 365 * 86400, "1 year")])
def test_the_unit_follows_the_span_and_every_count_stays(span_s, unit):
    bins = Bins()
    steps = 5000
    for i in range(steps + 1):
        bins.add(T0 + span_s * i / steps, "geolocation" if i % 3 else "video", f"v{i % 4}", 2)
    assert bins.shown_unit() == unit
    assert len(bins.starts) <= MAX_STORED
    starts, counts = bins.table("lanes", unit)
    assert len(starts) <= reporttimeline.MAX_SHOWN + 2
    assert sum(counts.values()) == 2 * (steps + 1)
    assert sum(bins.table("vehicles", unit)[1].values()) == 2 * (steps + 1)
    assert set(counts) <= {(s, lane) for s in starts for lane in ("geolocation", "video")}  # no count outside a bar


def test_calendar_bins_start_on_their_edges():
    assert utc(start_of(T0, "1 month")) == "2026-03-01T00:00:00+00:00"
    assert utc(start_of(T0, "1 year")) == "2026-01-01T00:00:00+00:00"
    assert utc(start_of(T0, "1 week")) == "2026-03-09T00:00:00+00:00"  # a Monday
    assert utc(reporttimeline.next_start(start_of(T0, "1 month"), "1 month")) == "2026-04-01T00:00:00+00:00"
    assert utc(reporttimeline.next_start(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp(), "1 month")) == \
        "2027-01-01T00:00:00+00:00"
    assert utc(start_of(T0, "1 h")) == "2026-03-14T09:00:00+00:00"


def row(episode, count, activity="Update"):
    return {"episode": episode, "count": count, "activity": activity}


def test_an_episode_counts_its_growth_once_and_a_close_forgets_it():
    findings = Findings()
    added = [findings.added(r) for r in (row("a", 1, "Create"), row("a", 5), row("b", 1, "Create"), row("a", 5),
                                          row("a", 9, "Close"), row(None, 3))]
    assert added == [1, 4, 1, 0, 4, 3] and sum(added) == 9 + 1 + 3
    assert findings.last == {"b": 1}


def test_vehicles_past_the_limit_share_one_row(monkeypatch):
    monkeypatch.setattr(reporttimeline, "MAX_VEHICLES", 2)
    bins = Bins()
    for i, vehicle in enumerate(("a", "b", "c", "d", "a")):
        bins.add(T0 + i, "can", vehicle, 1)
    assert list(bins.named) == ["a", "b"]
    counts = bins.table("vehicles", "1 min")[1]
    assert sum(n for (_, v), n in counts.items() if v == reporttimeline.OTHERS) == 2
    page = render_timeline(bins, ("can",), lambda v: {"a": 0, "b": 1}.get(v, 2))
    assert page.count('class="vehicle-row"') == 3 and "(further vehicles)" in page


def test_nothing_is_no_findings():
    assert "No findings." in render_timeline(Bins(), ("can",), lambda v: 0)
