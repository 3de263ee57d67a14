"""The inspector's first-byte prefilter in C (src/gw_apps.c, AppInspector._select_native)
against the numpy selection (_select_numpy): the same rows and handlers, as int64 arrays, on
every batch of the corpus and the seeds, on generated columns, and for every byte value at each
place the gates read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.net.app.inspect import AppInspector
from tests.conftest import PROJECT, corpus_files, ids

from .apps_cases import run_pipeline

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/capture.pcap"))




def _assert_same_selection(inspector, *args) -> None:
    native_side = AppInspector._select_native(inspector, native.loaded_core(), *args)
    reference = AppInspector._select_numpy(inspector, *args)
    assert native_side is not None
    for got, want in zip(native_side, reference):
        assert got.dtype == want.dtype and got.tolist() == want.tolist()


@pytest.fixture
def checked_selection(on, monkeypatch):
    """Every selection the pipeline makes is made both ways and compared."""
    calls = []

    def select(self, *args):
        _assert_same_selection(self, *args)
        calls.append(1)
        return AppInspector._select_numpy(self, *args)

    monkeypatch.setattr(AppInspector, "_select", select)
    return calls


@pytest.mark.parametrize("path", CAPTURES + SEEDS, ids=ids(CAPTURES) + [p.parent.name for p in SEEDS])
def test_selection_is_the_same_on_every_batch(checked_selection, path: Path) -> None:
    """The comparison is in checked_selection, on every batch with parsed rows."""
    run_pipeline(path)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_selection_on_generated_columns(core, data) -> None:
    n_packets = data.draw(st.integers(1, 40))
    size = data.draw(st.integers(5, 400))
    draw_column = lambda strategy: np.array(data.draw(st.lists(strategy, min_size=n_packets, max_size=n_packets)))
    batch = SimpleNamespace(data=np.frombuffer(data.draw(st.binary(min_size=size, max_size=size)), np.uint8))
    heads = st.sampled_from([b"\xc3\0\0\0\1", b"\xc0\x6b\x33\x43\xcf", b"\x09", b"\xc3Q0", b"GET /", b"AB C", b"\r\n",
                             b"\x16\x03\x01", b"ABCDE", b"A-_ x", b" GET", b"a ", b"\x89Q0"])
    buffer = batch.data.copy()
    payload = draw_column(st.integers(0, size + 20))
    for offset in payload[: n_packets // 2]:
        head = data.draw(heads)
        buffer[offset : offset + len(head)] = np.frombuffer(head, np.uint8)[: max(size - offset, 0)]
    gq_at = data.draw(st.integers(0, size - 1))
    buffer[gq_at : gq_at + 2] = np.frombuffer(b"Q0", np.uint8)[: size - gq_at]
    batch.data = buffer
    h = SimpleNamespace(proto=draw_column(st.sampled_from([6, 17, 1])).astype(np.uint8),
                        captured_len=draw_column(st.integers(0, 50)).astype(np.int64), payload=payload.astype(np.int64),
                        sport=draw_column(st.sampled_from([53, 443, 80, 40000])).astype(np.uint16),
                        dport=draw_column(st.sampled_from([53, 443, 80, 40001])).astype(np.uint16))
    n = data.draw(st.integers(0, n_packets))
    rows = np.array(data.draw(st.permutations(range(n_packets)))[:n], np.int64)
    n_slots = data.draw(st.integers(1, 8))
    slots = np.array(data.draw(st.lists(st.integers(0, n_slots - 1), min_size=n, max_size=n)), np.int64)
    is_orig = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    keys = data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n)) if n else set()
    chunks = {k: bytes(data.draw(st.sampled_from([0, 1, int(h.captured_len[rows[k]])]))) for k in keys}
    past_depth = data.draw(st.none() | st.just(np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)))
    inspector = SimpleNamespace(
        recorder=SimpleNamespace(mode=np.array(data.draw(st.lists(st.integers(0, 6), min_size=n_slots, max_size=n_slots)), np.uint8)),
        flows=SimpleNamespace(flags=np.array(data.draw(st.lists(st.integers(0, 255), min_size=2 * n_slots, max_size=2 * n_slots)),
                                             np.uint8).reshape(n_slots, 2)))
    _assert_same_selection(inspector, batch, h, rows, slots, is_orig, chunks, past_depth)


def test_selection_leaves_bad_indexes_to_numpy(core) -> None:
    inspector = SimpleNamespace(recorder=SimpleNamespace(mode=np.zeros(2, np.uint8)),
                                flows=SimpleNamespace(flags=np.zeros((2, 2), np.uint8)))
    batch = SimpleNamespace(data=np.zeros(64, np.uint8))
    h = SimpleNamespace(proto=np.full(2, 6, np.uint8), captured_len=np.full(2, 4, np.int64), payload=np.zeros(2, np.int64),
                        sport=np.full(2, 40000, np.uint16), dport=np.full(2, 80, np.uint16))
    args = (batch, h, np.array([0, 1], np.int64), np.array([0, 5], np.int64), np.ones(2, bool), {0: b"abcd"}, None)
    assert AppInspector._select_native(inspector, core, *args) is None
    with pytest.raises(IndexError):
        AppInspector._select_numpy(inspector, *args)
    assert AppInspector._select_native(inspector, core, *args[:5], {-1: b"ab"}, None) is None


def _one_byte_variants(*bases: bytes) -> list[bytes]:
    return [base[:at] + bytes([value]) + base[at + 1 :] for base in bases for at in range(len(base)) for value in range(256)]


@pytest.mark.parametrize("proto, mode, bases", [
    (6, 3, (b"GET /", b"ABCDE", b"AB CD", b"A-_ x", b"\r\nGET")),  # the HTTP request gate
    (17, 0, (b"\xc3\0\0\0\1", b"\xc0\x6b\x33\x43\xcf", b"\xc3Q0xx", b"\x09abcd")),  # QUIC and Google QUIC gates
])
def test_selection_gates_byte_by_byte(core, proto: int, mode: int, bases: tuple[bytes, ...]) -> None:
    """Each row's payload is one base pattern with one byte changed: every byte value at every
    place the gates read, in one batch."""
    patterns = _one_byte_variants(*bases)
    n = len(patterns)
    gq_tail = b"\0\0\0Q0\0\0\0\0\0"  # bytes 9 and 10 of each payload read "Q0"
    data = np.frombuffer(b"".join(p + gq_tail for p in patterns), np.uint8)
    h = SimpleNamespace(proto=np.full(n, proto, np.uint8), captured_len=np.full(n, 15, np.int64),
                        payload=np.arange(n, dtype=np.int64) * 15, sport=np.full(n, 40000, np.uint16),
                        dport=np.full(n, 8080, np.uint16))
    inspector = SimpleNamespace(recorder=SimpleNamespace(mode=np.full(1, mode, np.uint8)),
                                flows=SimpleNamespace(flags=np.zeros((1, 2), np.uint8)))
    rows = np.arange(n, dtype=np.int64)
    chunks = {i: bytes(15) for i in range(n)} if proto == 6 else {}
    _assert_same_selection(inspector, SimpleNamespace(data=data), h, rows, np.zeros(n, np.int64), np.ones(n, bool),
                           chunks, None)
