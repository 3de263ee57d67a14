"""The taint scan's compiled inner loops (native/src/gw_taintscan.c: the candidate offsets and
the latitude test) against the numpy reference: the same buffer and plan give the same hits (the
same offsets, encodings, positions, rules and rates, in order) and the same counters.

Inputs: positions in every encoding embedded in random bytes in every hemisphere and across the
antimeridian and the equator; hostile buffers (zeros, one word repeated past MAX_LAT_MATCHES,
pairs cut off at the end, all-ones, NaN floats, tiny buffers); the corpus captures and the seeds'
captures read as payload; and every buffer a seed's replay searches, through the real detector."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.detect.taint import _text_windows, position_hits
from monitor.detect.taintrate import SPECS
from monitor.detect.taintscan import (
    MAX_LAT_MATCHES,
    Plan,
    _candidates,
    _candidates_native,
    segments,
)
from monitor.scenarios import load_scenario, run_scenario
from tests.conftest import PROJECT, corpus_files, ids
from tests.detect.test_taintscan import drive, pack
from tests.native.core import required_core

PLACES = {"north-east": (48.137154, 11.576124), "north-west": (40.712776, -74.005974),
          "south-east": (-33.868820, 151.209296), "south-west": (-12.046374, -77.042793),
          "antimeridian": (-17.713371, 179.999512), "antimeridian-west": (51.2, -179.99995),
          "equator-north": (0.000012, 36.822), "equator-south": (-0.000031, -78.5), "prime-meridian": (51.477, -0.00002)}
NOW = 100.0
CAPTURES = corpus_files("pcap/**/*.pcap*")
SEED_CAPTURES = sorted((PROJECT / "seeds").glob("*/capture.pcap"))
TAINT_SEEDS = [f for f in ("taint-leak", "jt808-untrusted", "gbt32960-stream") if (PROJECT / "seeds" / f).is_dir()]
BYTES_PER_FILE = 1 << 20


@pytest.fixture
def core(monkeypatch):
    loaded = required_core()
    monkeypatch.setattr(native, "kernels", loaded)
    return loaded


_PLANS: dict[tuple[str, float], tuple[Plan, np.ndarray, np.ndarray]] = {}


def plan_at(place: str, cap: float = 0.0005) -> tuple[Plan, np.ndarray, np.ndarray]:
    """A drive's plan at NOW (made once per place: plans are not changed by a search but their counters)."""
    if (place, cap) not in _PLANS:
        t, lat, lon = drive(PLACES[place])
        keep = t <= NOW + 1
        _PLANS[(place, cap)] = (Plan(segments(t[keep], lat[keep], lon[keep], NOW, NOW + 0.05, cap)), lat, lon)
    return _PLANS[(place, cap)]


def same_search(plan: Plan, buf: bytes) -> list:
    """Searches ``buf`` on both cores from the same counters; asserts the hits and counters match."""
    before = dict(plan.counts)
    ours = plan.hits(buf)
    counted = dict(plan.counts)
    plan.counts.clear()
    plan.counts.update(before)
    with native.use_numpy():
        reference = plan.hits(buf)
    assert ours == reference
    assert counted == plan.counts
    return ours


# --- generated payloads ---------------------------------------------------------------------

@st.composite
def embedded(draw) -> tuple[str, bytes]:
    """Random bytes around positions of the drive (current, older, a little off) in any encoding."""
    place = draw(st.sampled_from(sorted(PLACES)))
    _, lat, lon = plan_at(place)
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts = [rng.randbytes(draw(st.integers(0, 64)))]
    for _ in range(draw(st.integers(0, 6))):
        spec = draw(st.sampled_from(SPECS))
        i = draw(st.integers(0, int(NOW * 10)))
        wobble = draw(st.sampled_from([0.0, 1e-7, -3e-6, 2e-4, 0.01]))
        a, b = pack(spec.name, float(lat[i]) + wobble, float(lon[i]) - wobble)
        first, second = (b, a) if draw(st.booleans()) else (a, b)
        parts += [first, rng.randbytes(draw(st.integers(0, 14))), second, rng.randbytes(draw(st.integers(0, 40)))]
    buf = b"".join(parts)
    cut = draw(st.integers(0, 3))  # a pair cut off at the end
    return place, buf[: len(buf) - cut] if cut < len(buf) else buf


HOSTILE = st.sampled_from([b"", b"\x00", b"\x00" * 3, b"\x00" * 4, b"\x00" * 4096, b"\xff" * 4096,
                           struct.pack(">f", float("nan")) * 500, struct.pack("<d", float("inf")) * 300,
                           bytes(range(256)) * 16, b"\x7f\xff\xff\xff" * 256, b"\x80\x00\x00\x00" * 256])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=embedded())
def test_embedded_positions_are_found_alike(core, case):
    place, buf = case
    same_search(plan_at(place)[0], buf)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(sorted(PLACES)), buf=st.one_of(HOSTILE, st.binary(max_size=3000)),
       cap=st.sampled_from([0.0005, 0.01]))
def test_hostile_and_random_buffers_alike(core, place, buf, cap):
    same_search(plan_at(place, cap)[0], buf)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(sorted(PLACES)), buf=st.one_of(HOSTILE, st.binary(max_size=5000), embedded().map(lambda c: c[1])))
def test_candidate_offsets_are_the_reference_ones(core, place, buf):
    """The byte scan alone: every offset (those in the reference's zero padding too) and flag."""
    tables = plan_at(place)[0].tables
    (at, flags), (ref_at, ref_flags) = _candidates_native(core, tables, buf), _candidates(tables, buf)
    assert at.dtype == ref_at.dtype and flags.dtype == ref_flags.dtype
    assert at.tolist() == ref_at.tolist() and flags.tolist() == ref_flags.tolist()


def test_bad_arguments_are_refused_before_the_c_runs(core):
    first, second, table = plan_at("north-east")[0].tables
    room = np.zeros(8, np.int64), np.zeros(8, np.uint8)
    with pytest.raises(ValueError, match="256 entries"):
        core.taint_candidates(b"abcd", first[:255], second, table, *room)
    with pytest.raises(ValueError, match="differ in length"):
        core.taint_candidates(b"abcd", first, second, table, room[0], np.zeros(7, np.uint8))
    at, rows, low, high = np.array([0], np.int64), np.zeros(1, np.int64), np.array([1.0, 0.0]), np.array([2.0, 3.0])
    with pytest.raises(ValueError, match="sorted"):
        core.taint_latitude_rows(b"abcdefgh", at, 4, True, "int", 1e6, low, high, rows)
    with pytest.raises(ValueError, match="no 8-byte int"):
        core.taint_latitude_rows(b"abcdefgh", at, 8, True, "int", 1e6, low[::-1].copy(), high, rows)
    with pytest.raises(ValueError, match="shorter"):
        core.taint_latitude_rows(b"abcdefgh", np.zeros(2, np.int64), 4, True, "int", 1e6, low[::-1].copy(), high, rows)
    far = np.array([-5, 1 << 40, 6], np.int64)  # outside, or not a whole word: skipped, never read
    assert core.taint_latitude_rows(b"\0" * 8, far, 4, True, "int", 1e6, np.array([-1.0]), np.array([1.0]),
                                    np.zeros(3, np.int64)) == 0


@pytest.mark.parametrize(("place", "encoding"), [("antimeridian", 0), ("equator-south", -1)])
def test_a_buffer_full_of_one_position_counts_the_same_overflow(core, place, encoding):
    """Past MAX_LAT_MATCHES latitudes the rest are counted (a few seconds: each kept one is paired in Python)."""
    plan, lat, lon = plan_at(place)
    i = int(NOW * 10)
    spec = SPECS[encoding]
    a, b = pack(spec.name, float(lat[i]), float(lon[i]))
    hits = same_search(plan, (a + b) * (MAX_LAT_MATCHES + 300))
    assert hits, f"{place}: {spec.name} pairs not found"
    assert plan.counts.get("latitudes_over_limit", 0) >= 300


@pytest.mark.parametrize("place", sorted(PLACES))
def test_megabytes_of_random_bytes_alike(core, place):
    same_search(plan_at(place)[0], np.random.default_rng(7).bytes(1 << 21))


# --- text: decimal degrees and NMEA, and where they may be -------------------------------------

TEXT_BYTES = st.lists(st.one_of(st.sampled_from([b".", b"0", b"7", b"-", b",", b" ", b"N", b"E", b"S", b"W", b"\0"]),
                                st.binary(max_size=6)), max_size=300).map(b"".join)


@st.composite
def text_payloads(draw) -> tuple[str, bytes]:
    """Digits, dots and separators around the drive's positions as decimal text and NMEA."""
    place = draw(st.sampled_from(sorted(PLACES)))
    _, lat, lon = plan_at(place)
    i = draw(st.integers(0, int(NOW * 10)))
    la, lo = float(lat[i]), float(lon[i])
    digits = draw(st.integers(4, 8))
    nmea = (f"{int(abs(la)):02d}{(abs(la) % 1) * 60:07.4f},{'N' if la >= 0 else 'S'},"
            f"{int(abs(lo)):03d}{(abs(lo) % 1) * 60:07.4f},{'E' if lo >= 0 else 'W'}")
    text = draw(st.sampled_from([f"{la:.{digits}f},{lo:.{digits}f}", f'{{"lat":{la:.{digits}f},"lon":{lo:.{digits}f}}}', nmea]))
    return place, draw(TEXT_BYTES) + text.encode() + draw(TEXT_BYTES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.one_of(text_payloads(), st.tuples(st.sampled_from(sorted(PLACES)), st.one_of(TEXT_BYTES, HOSTILE))))
def test_text_positions_and_their_windows_alike(core, case):
    place, buf = case
    plan = plan_at(place)[0]
    ours = _text_windows(buf)
    with native.use_numpy():
        assert ours == _text_windows(buf)
    before = dict(plan.counts)
    hits = position_hits(buf, plan)
    counted, plan.counts = dict(plan.counts), before
    with native.use_numpy():
        assert hits == position_hits(buf, plan)
    assert counted == plan.counts


def test_a_buffer_of_dots_and_digits_has_the_same_windows(core):
    for buf in (b"1.23" * 100_000, b"9.99." * 50_000, b"0" * 1000 + b".00", np.random.default_rng(3).bytes(1 << 20)):
        ours = _text_windows(buf)
        with native.use_numpy():
            assert ours == _text_windows(buf)


# --- files: the corpus captures and the seeds' -----------------------------------------------

@pytest.mark.parametrize("capture", CAPTURES, ids=ids(CAPTURES))
def test_corpus_captures_searched_alike(core, capture):
    data = capture.read_bytes()[:BYTES_PER_FILE]
    for place in ("north-east", "antimeridian"):
        same_search(plan_at(place)[0], data)
    # a track at the equator leaves many candidates in headers' zeros: the reference's candidates x
    # positions matrix makes that slow (seconds per MiB), so a shorter stretch
    same_search(plan_at("equator-south")[0], data[: BYTES_PER_FILE // 8])


def test_the_corpus_captures_are_there():
    if not CAPTURES:
        pytest.skip("needs the shared corpus's captures (../shared/corpus/pcap), absent on this machine")
    assert CAPTURES


@pytest.mark.parametrize("capture", SEED_CAPTURES, ids=[p.parent.name for p in SEED_CAPTURES])
def test_seed_captures_searched_alike(core, capture):
    data = capture.read_bytes()[:BYTES_PER_FILE]
    for place in sorted(PLACES):
        same_search(plan_at(place)[0], data if "equator" not in place else data[: BYTES_PER_FILE // 8])


@pytest.mark.parametrize("seed", TAINT_SEEDS)
def test_seed_replays_search_alike_and_still_meet_their_expectations(core, seed, monkeypatch, tmp_path):
    """Every buffer the detector searches while a seed replays, on both cores, with its real plan."""
    searched = []
    original = Plan.hits

    def both(self: Plan, buf: bytes):
        before = dict(self.counts)
        ours = original(self, buf)
        counted = dict(self.counts)
        self.counts.clear()
        self.counts.update(before)
        with native.use_numpy():
            reference = original(self, buf)
        assert ours == reference and counted == self.counts
        searched.append(len(buf))
        return ours

    monkeypatch.setattr(Plan, "hits", both)
    outcome = run_scenario(load_scenario(PROJECT / "seeds" / seed), tmp_path / seed)
    assert outcome.ok, "\n".join(outcome.problems)
    assert searched, f"{seed}: no buffer was searched"
