"""The collector's own record check (fleet/validate.py) against jsonschema on the same schema:
on real records and on every single-field mutation of one, the two agree wherever the
collector does not deliberately ask more (bounded times and sequence numbers, the algorithm
left to the chain check); and the sequence-number ranges stay bounded."""

from __future__ import annotations

import json

import pytest

from monitor.fleet import validate
from monitor.fleet.ranges import SeqRanges

MUTATIONS = ["yesterday", 1e20, -1, 0, 1.5, None, True, [], {}, "", "x" * 20_000, 2**60, "<script>", "\ud800"]


def leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    yield path


def mutated(record: dict, path: tuple, new) -> dict:
    copy = json.loads(json.dumps(record))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return copy


def stricter_here(path: tuple, new) -> bool:
    """Where the collector refuses more than the schema on purpose."""
    name = path[-1]
    big = isinstance(new, (int, float)) and not isinstance(new, bool) and (new > validate.MAX_MS or new < 0)
    too_long = isinstance(new, str) and (len(new) > validate.MAX_STRING or new == "\ud800")
    return (name in ("time", "start_time", "end_time", "first_seen_time", "last_seen_time") and big) \
        or (name in ("seq", "sequence") and isinstance(new, (int, float)) and new > validate.MAX_SEQ) \
        or (path[-2:] == ("vehicle", "id") and new == "") or too_long


def test_the_validator_agrees_with_jsonschema_on_every_field(template: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(validate.SCHEMA_PATH.read_text())
    reference = jsonschema.Draft202012Validator(schema)
    assert reference.is_valid(template)
    validate.check(template)
    checked = 0
    for path in list(leaves(template)):
        if not path or path[:2] == ("unmapped", "chain") and path[-1] == "alg":
            continue
        for new in MUTATIONS:
            record = mutated(template, path, new)
            expected = reference.is_valid(record) and not stricter_here(path, new)
            try:
                validate.check(record)
                ours = True
            except validate.Invalid:
                ours = False
            assert ours == expected, (path, new)
            checked += 1
    assert checked > 500


def test_the_algorithm_is_left_to_the_chain_check(template: dict) -> None:
    record = json.loads(json.dumps(template))
    del record["unmapped"]["chain"]["alg"]
    validate.check(record)  # not a malformed line: a tamper finding for the collector


def test_ranges_stay_bounded_and_count_what_they_forget() -> None:
    ranges = SeqRanges(cap=100)
    for seq in range(1, 10_001, 2):  # every other number: 5,000 holes
        ranges.add(seq)
    ranges.add(10**15)
    missing, holes = ranges.missing()
    assert len(ranges.starts) == len(holes) + 1 == 100 and ranges.forgotten > 0
    assert missing + ranges.forgotten == 10**15 - 5_001  # every number not seen: reported or counted
    far = SeqRanges()
    far.add(1)
    far.add(10**10)  # the record that made the old gap report build a list of 10^10 numbers
    assert far.missing() == (10**10 - 2, [(2, 10**10 - 1)])
