"""decode_batch on the compiled core (gw_can_decode) against the numpy reference: the same
messages, rows, errors, reasons, values (bit for bit, same dtypes), presence (None or mask),
raw columns and dict orders, on the corpus DBCs, the repository's, the seeds' logs and
hypothesis-made messages (multiplexed, float, huge scales, hostile frames)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from cantools.database.can import Database, Message, Signal
from cantools.database.conversion import BaseConversion
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.canbus import decode
from monitor.canbus.dbc import load_dbc
from monitor.canbus.decode import decode_batch
from monitor.canbus.decode_flat import flatten
from monitor.canbus.frames import FrameBatch
from monitor.canbus.logs import read_log
from monitor.canbus.plan import compile_plan
from monitor.testing.oracle import random_frames, valid_frames

from ..conftest import PROJECT, corpus_files, ids
from .can_compare import both, same_array

CORPUS_DBCS = corpus_files("can/dbc/*/*.dbc")
REPO_DBCS = sorted((PROJECT / "dbc").rglob("*.dbc"))
SEED_LOGS = sorted((PROJECT / "seeds").glob("*/can.log"))



def same_decoded(got, want) -> None:
    assert [m.message.name for m in got.messages] == [m.message.name for m in want.messages]
    same_array(got.unknown, want.unknown, "unknown")
    for a, b in zip(got.messages, want.messages, strict=True):
        name = a.message.name
        same_array(a.rows, b.rows, f"{name} rows")
        same_array(a.error, b.error, f"{name} error")
        same_array(a.error_arg, b.error_arg, f"{name} error_arg")
        assert a.error_keys == b.error_keys, name
        assert [a.reason(i) for i in range(len(a.rows))] == [b.reason(i) for i in range(len(b.rows))]
        assert list(a.values) == list(b.values), f"{name}: signal order"
        assert list(a.present) == list(b.present), f"{name}: presence order"
        assert list(a.raw) == list(b.raw), f"{name}: raw order"
        for signal in a.values:
            same_array(a.values[signal], b.values[signal], f"{name}.{signal}")
            if b.present[signal] is None:
                assert a.present[signal] is None, f"{name}.{signal}: present should be None"
            else:
                same_array(a.present[signal], b.present[signal], f"{name}.{signal} present")
        for signal in a.raw:
            same_array(a.raw[signal], b.raw[signal], f"{name}.{signal} raw")


def check(monkeypatch, core, plan, batch) -> None:
    got, want = both(monkeypatch, core, _native_only, plan, batch)
    same_decoded(got, want)


def _native_only(plan, batch):
    """decode_batch, where the native run must not hand the whole batch to the reference."""
    if decode.native.kernels is None:
        return decode_batch(plan, batch)
    saved, decode.decode_batch_numpy = decode.decode_batch_numpy, _no_reference
    try:
        return decode_batch(plan, batch)
    finally:
        decode.decode_batch_numpy = saved


def _no_reference(*_args):
    raise AssertionError("the native path fell back to the numpy reference for a whole batch")


def frames_of(db, plan, seed: int) -> FrameBatch:
    return FrameBatch.concat([random_frames(plan, 300, seed=seed), valid_frames(db, plan, 20, seed=seed)])


@pytest.mark.parametrize("path", CORPUS_DBCS + REPO_DBCS, ids=ids(CORPUS_DBCS + REPO_DBCS))
def test_dbc_decodes_like_the_reference(path: Path, core, monkeypatch, caplog):
    caplog.set_level(logging.ERROR)
    db = load_dbc(path)
    plan = compile_plan([(db, str(path))])
    check(monkeypatch, core, plan, frames_of(db, plan, seed=len(path.name)))
    assert all(layout is not None for layout in flatten(plan).layouts), "a real DBC fell back to numpy"


def test_corpus_dbcs_present():
    if not CORPUS_DBCS:
        pytest.skip("needs the shared corpus (../shared/corpus/can/dbc), absent on this machine")


@pytest.mark.parametrize("log", SEED_LOGS, ids=[p.parent.name for p in SEED_LOGS])
def test_seed_logs_decode_like_the_reference(log: Path, core, monkeypatch, caplog):
    caplog.set_level(logging.ERROR)
    dbcs = [(load_dbc(p), str(p)) for p in REPO_DBCS]
    plan = compile_plan(dbcs)
    batch = FrameBatch.concat([b for b, _ in read_log(log)])
    check(monkeypatch, core, plan, batch)


def test_empty_batch_and_empty_plan(core, monkeypatch):
    db = load_dbc(PROJECT / "dbc" / "opendbc" / "tesla_model3_party.dbc")
    plan = compile_plan([(db, "tesla")])
    check(monkeypatch, core, plan, FrameBatch.empty(0))
    check(monkeypatch, core, compile_plan([]), frames_of(db, plan, seed=3))


# -- hypothesis: random messages, multiplexed or not, and hostile frames -------------------

SCALES = st.sampled_from([1, 1.0, 2, -1, 0.5, 0.1, 1e-7, 1000, 3.0, 1 << 40, 1 << 62, 10**30, 1e308, float("inf")])
OFFSETS = st.sampled_from([0, 0.0, 1, -40, 0.5, -180.0, 1 << 62, -(1 << 63), 10**25, float("nan")])


@st.composite
def signals(draw, name: str, length: int, **extra) -> Signal:
    kind = draw(st.sampled_from(["int", "int", "float"]))
    bits = draw(st.sampled_from([16, 32, 64])) if kind == "float" else draw(st.integers(1, 64))
    bits = min(bits, 8 * length)
    is_float = kind == "float" and bits in (16, 32, 64)
    conversion = BaseConversion.factory(scale=draw(SCALES), offset=draw(OFFSETS), is_float=is_float,
                                        choices=draw(st.sampled_from([None, {0: "off", 1: "on", -1: "neg"}])))
    return Signal(name, start=draw(st.integers(0, 8 * length - 1)), length=bits,
                  byte_order=draw(st.sampled_from(["little_endian", "big_endian"])),
                  is_signed=draw(st.booleans()), conversion=conversion, **extra)


@st.composite
def messages(draw) -> Message:
    length = draw(st.sampled_from([1, 2, 4, 8, 12, 16, 32, 48, 64]))
    sigs = [draw(signals(f"S{k}", length)) for k in range(draw(st.integers(1, 5)))]
    if draw(st.booleans()):  # a multiplexer with branches, one signal shared by two of them
        ids = sorted(set(draw(st.lists(st.integers(-3, 300), min_size=1, max_size=draw(st.sampled_from([4, 24]))))))
        mux_scale = draw(st.sampled_from([1, 1, 2, 0.5, 1.5]))
        sigs.append(Signal("MUX", start=0, length=draw(st.integers(1, 16)), is_multiplexer=True,
                           conversion=BaseConversion.factory(scale=mux_scale, offset=0)))
        for k, mux_id in enumerate(ids):
            sigs.append(draw(signals(f"B{k}", length, multiplexer_ids=[mux_id], multiplexer_signal="MUX")))
        sigs.append(draw(signals("SHARED", length, multiplexer_ids=ids[:2], multiplexer_signal="MUX")))
    extended = draw(st.booleans())
    frame_id = draw(st.integers(0, 0x1FFFFFFF if extended else 0x7FF))
    return Message(frame_id, "M", length, sigs, is_extended_frame=extended, strict=False)


def hostile(batch: FrameBatch, seed: int) -> FrameBatch:
    """Remote and error frames, odd lengths, other ids and flags mixed in."""
    rng = np.random.default_rng(seed)
    n = len(batch)
    for column in (batch.is_remote, batch.is_error):
        column[:] = rng.random(n) < 0.05
    flip = rng.random(n) < 0.05
    batch.is_extended[flip] = ~batch.is_extended[flip]
    odd = rng.random(n) < 0.05
    batch.arbitration_id[odd] = rng.integers(0, 1 << 32, int(odd.sum()), dtype=np.uint32)
    batch.dlc[rng.random(n) < 0.05] = 0
    return batch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(messages(), min_size=1, max_size=3), st.integers(0, 2**32 - 1))
def test_random_messages_decode_like_the_reference(core, monkeypatch, message_list, seed):
    db = Database(messages=message_list, strict=False)
    db.refresh()
    plan = compile_plan([(db, "random")])
    batch = hostile(random_frames(plan, 40, seed=seed, short_every=5), seed)
    with monkeypatch.context() as patch:  # whole-message fallbacks are allowed here
        got, want = both(patch, core, decode_batch, plan, batch)
    same_decoded(got, want)


def test_half_floats_widen_like_numpy(core):
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    want = halves.view(np.float16).astype(np.float64).view(np.uint64)
    got = np.array([core.can_half_to_double_bits(int(h)) for h in halves.tolist()], np.uint64)
    assert np.array_equal(got, want)


def test_bad_plan_tables_are_refused(core):
    db = load_dbc(PROJECT / "dbc" / "opendbc" / "tesla_model3_party.dbc")
    plan = compile_plan([(db, "tesla")])
    batch = frames_of(db, plan, seed=1)
    columns = (batch.arbitration_id, batch.is_extended.view(np.uint8), batch.is_remote.view(np.uint8),
               batch.is_error.view(np.uint8), batch.dlc, batch.data)
    tables = flatten(plan).tables
    for table, row, column, value in (("messages", 0, 0, 10**6), ("signals", 0, 0, 65), ("signals", 0, 7, 999),
                                      ("nodes", 0, 1, -1), ("signals", 0, 4, 64)):
        broken = {**tables, table: tables[table].copy()}
        broken[table][row, column] = value
        with pytest.raises(ValueError, match="plan"):
            core.can_decode_batch(broken, *columns)
    with pytest.raises(ValueError):
        core.can_decode_batch(tables, *columns[:-1], batch.data[:, :8].copy())
    with pytest.raises(ValueError):
        core.can_decode_batch({**tables, "messages": tables["messages"][:, :3].copy()}, *columns)
