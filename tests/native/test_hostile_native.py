"""Hostile arguments straight into the compiled core's wrappers (not through the owning
modules, which never pass such values): garbage buffers, positions and counts at their
extremes, arrays of the wrong shape. Every call must either raise a clean Python error or
return values that stay inside the buffers it was given. Run under the sanitizer build
(README: make fuzz) these also catch any read or write the bounds below do not see."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.canbus.logcolumns import LogColumns
from tests.conftest import PROJECT

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
INT64_MAX = (1 << 63) - 1



def garbage(max_size: int = 600) -> st.SearchStrategy[bytes]:
    """Random bytes, often full of a few values that length fields make extreme."""
    extremes = st.binary(max_size=max_size).map(lambda b: bytes(x if x % 3 else 0xFF for x in b))
    return st.one_of(st.binary(max_size=max_size), extremes)


# ---------------------------------------------------------------- canlogs


def run_isolated(code: str) -> subprocess.CompletedProcess:
    """A snippet in a child process: a crash there is a failed test, not a dead test run."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


@pytest.mark.parametrize("call", ["core.canlogs_asc_parse(None, b'0.1 1 1 Rx d 0\\n', 0, True, 16, 0.0, 100, 0)",
                                  "core.canlogs_blf_walk(None, b'LOBJ' + bytes(60), 0, 0.0)"])
def test_canlogs_readers_refuse_a_missing_frames_object(core, call):
    """Regression: a None frames object went through to a cdef method call (a segfault)."""
    done = run_isolated("from monitor import native\ncore = native.loaded_core()\n"
                        f"try:\n    {call}\nexcept TypeError:\n    print('refused')\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "refused"


def frames_columns(core, capacity: int) -> LogColumns:
    return LogColumns(capacity, core)


@SETTINGS
@given(text=st.lists(st.one_of(
    st.sampled_from(["0.100000 1 123 Rx d 8 01 02 03 04 05 06 07 08", "1.5 2 1FFFFFFFx Tx r 15",
                     "2.25 CANFD 1 Rx 7ff 1 0 f 64 " + " ".join(["ff"] * 64), "3.0 CANFD 99 Tx 1 0 1 f 0",
                     "4.0 1 ErrorFrame", "5.0 CANFD 3 Rx ErrorFrame", "base hex timestamps absolute",
                     "99999999999999999999.99999999999999999999 1 1 Rx d 8 00", "0.1 0 1 Rx d 9 " + "1 " * 80,
                     "0.1 999999999 1 Rx d 1 ff", "0.1 1 7ff Rx d -1 00"]),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x7f), max_size=120)), max_size=40),
       newline=st.sampled_from(["\n", "\r\n", "\r"]), base=st.sampled_from([10, 16]),
       capacity=st.integers(1, 8), max_line=st.sampled_from([0, 40, 1 << 20]))
def test_asc_lines_stay_inside_the_columns(core, text, newline, base, capacity, max_line):
    buf = newline.join(text).encode("ascii")
    columns = frames_columns(core, capacity)
    pos, lines = 0, 0
    for _ in range(len(text) + 8):
        status, pos, line_end, after, lines = core.canlogs_asc_parse(columns.frames, buf, pos, True, base, 0.0,
                                                                     max_line, lines)
        assert 0 <= pos <= len(buf) and columns.frames.n <= capacity
        assert int(columns.batch.dlc[:columns.frames.n].max(initial=0)) <= 64
        if status == 1:  # full: start a fresh batch with the channels known so far
            columns._start(columns.frames.chan_n)
        elif status == 2:  # the caller's line: skip it
            assert pos <= line_end <= after <= len(buf)
            pos = after
        else:
            assert status == 3
            break


@st.composite
def blf_objects(draw) -> bytes:
    """Inner BLF objects with hostile headers: sizes from 0 to past the data, unknown header
    versions, frame types whose structs the data cuts."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from([1, 73, 86, 100, 101, 5, 0xFFFFFFFF]))
        body = draw(st.binary(max_size=120))
        size = draw(st.one_of(st.just(16 + 16 + len(body)), st.integers(0, 300), st.just(0xFFFFFFFF)))
        header_size = draw(st.sampled_from([0, 16, 32, 0xFFFF]))
        version = draw(st.sampled_from([1, 2, 0, 0xFFFF]))
        out += (b"LOBJ" + header_size.to_bytes(2, "little") + version.to_bytes(2, "little")
                + size.to_bytes(4, "little") + kind.to_bytes(4, "little"))
        out += draw(st.binary(min_size=0, max_size=24)) + body
        if draw(st.booleans()):
            out += draw(st.binary(max_size=7))  # the padding python-can skips by searching
    return bytes(out)


@SETTINGS
@given(data=st.one_of(blf_objects(), garbage()), capacity=st.integers(1, 4), start=st.integers(0, 64))
def test_blf_objects_stay_inside_the_columns(core, data, capacity, start):
    columns = frames_columns(core, capacity)
    pos = min(start, len(data))
    for _ in range(len(data) + 4):
        status, pos, _version, _ticks, _ten_us = core.canlogs_blf_walk(columns.frames, data, pos, 0.0)
        assert 0 <= pos <= len(data) and columns.frames.n <= capacity
        assert int(columns.batch.dlc[:columns.frames.n].max(initial=0)) <= 64
        if status == 1:
            columns._start(columns.frames.chan_n)
        elif status not in (3, 4):  # tail, lost, stuck: the caller stops
            break
    status, tail, at, _size = core.canlogs_blf_check(data, 1 << 20)
    assert status in (0, 1, 2, 3) and 0 <= tail <= len(data) and 0 <= at <= len(data)


def test_blf_walk_refuses_a_position_past_the_data(core):
    with pytest.raises(ValueError):
        core.canlogs_blf_walk(frames_columns(core, 1).frames, b"LOBJ", 5, 0.0)


def test_a_frames_object_with_forged_counts_is_refused(core):
    columns = frames_columns(core, 2)
    for name, value in (("n", 3), ("n", -1), ("chan_n", 1 << 20), ("chan_n", -1)):
        saved = getattr(columns.frames, name)
        setattr(columns.frames, name, value)
        with pytest.raises(ValueError):
            core.canlogs_blf_walk(columns.frames, b"", 0, 0.0)
        setattr(columns.frames, name, saved)


# ---------------------------------------------------------------- packets


@SETTINGS
@given(buf=garbage(2000), pos=st.integers(0, 64), big=st.booleans(), nano=st.booleans(),
       limit=st.sampled_from([0, 16, 65535, 262144, 0xFFFFFFFF]), capacity=st.integers(0, 6))
def test_pcap_walk_rows_lie_inside_the_chunk(core, buf, pos, big, nano, limit, capacity):
    pos = min(pos, len(buf))
    offset, ts = np.full(capacity, -7, np.int64), np.zeros(capacity, np.int64)
    caplen, wirelen = np.zeros(capacity, np.int32), np.zeros(capacity, np.int32)
    rows, stop, reason = core.pcap_walk(buf, pos, big, 1 if nano else 1000, limit, offset, caplen, wirelen, ts)
    assert 0 <= rows <= capacity and reason in (0, 1, 2) and pos <= stop <= len(buf)
    ends = offset[:rows] + caplen[:rows].astype(np.int64) % (1 << 32)
    assert np.all(offset[:rows] >= pos + 16) and np.all(ends <= stop)


@SETTINGS
@given(buf=garbage(2000), pos=st.integers(0, 64), big=st.booleans(), base=st.integers(0, 3),
       interfaces=st.integers(0, 4), file_pos=st.sampled_from([0, 100, INT64_MAX // 2]),
       capacity=st.integers(0, 6))
def test_pcapng_walk_rows_lie_inside_the_chunk(core, buf, pos, big, base, interfaces, file_pos, capacity):
    pos = min(pos, len(buf))
    rows = np.full((capacity, 5), -7, np.int64)
    count, stop, reason = core.pcapng_walk(buf, pos, big, base, interfaces, file_pos, INT64_MAX // 2 + 4096, rows)
    assert 0 <= count <= capacity and reason in (0, 1, 2) and pos <= stop <= len(buf)
    data, caplen = rows[:count, 0], rows[:count, 1]
    assert np.all(data >= pos) and np.all(caplen >= 0) and np.all(data + caplen <= stop)
    assert np.all(rows[:count, 4] < interfaces)


def test_pcapng_walk_refuses_rows_of_the_wrong_width(core):
    with pytest.raises(ValueError):
        core.pcapng_walk(b"\0" * 32, 0, False, 0, 1, 0, 32, np.zeros((2, 4), np.int64))


def headers_columns(n: int, tunnels: bool) -> list:
    cols = [np.zeros(n, np.uint8), np.zeros(n, np.uint32), np.zeros(n, np.int64), np.zeros(n, np.uint8),
            np.zeros(n, np.uint8), np.zeros((n, 2), np.uint64), np.zeros((n, 2), np.uint64), np.zeros(n, np.int64),
            np.zeros(n, np.uint16), np.zeros(n, np.uint16), np.zeros(n, np.uint8), np.zeros(n, np.uint32),
            np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.uint32),
            np.zeros(n, np.int64), np.zeros(n, np.uint8), np.zeros(n, np.uint8)]
    if tunnels:
        cols += [np.zeros((n, 8), np.uint8), np.full((n, 8), -1, np.int64), np.zeros(n, np.uint8),
                 np.zeros((n, 2), np.uint64), np.zeros((n, 2), np.uint64)]
    return cols


@SETTINGS
@given(data=garbage(400).filter(len), rows=st.lists(st.tuples(
    st.one_of(st.integers(0, 400), st.sampled_from([-(1 << 40), 1 << 40])),
    st.one_of(st.integers(0, 400), st.integers(-(1 << 31), (1 << 31) - 1)),
    st.integers(-(1 << 31), (1 << 31) - 1),
    st.sampled_from([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 65535])), max_size=12),
       strict=st.booleans(), tunnels=st.booleans())
def test_header_parsing_reads_only_the_batch(core, data, rows, strict, tunnels):
    n = len(rows)
    offset = np.array([r[0] for r in rows], np.int64)
    caplen = np.array([r[1] for r in rows], np.int32)
    wirelen = np.array([r[2] for r in rows], np.int32)
    linktype = np.array([r[3] for r in rows], np.uint16)
    cols = headers_columns(n, tunnels)
    found = core.headers_parse(data, offset, caplen, wirelen, linktype, strict, *cols)
    status, depth = cols[0], cols[18]
    assert 0 <= found <= n and np.all(status <= 6) and np.all(depth <= 8)


def test_header_parsing_refuses_columns_of_other_lengths(core):
    cols = headers_columns(2, False)
    cols[7] = np.zeros(1, np.int64)
    with pytest.raises(ValueError):
        core.headers_parse(b"\0" * 64, np.zeros(2, np.int64), np.zeros(2, np.int32), np.zeros(2, np.int32),
                           np.zeros(2, np.uint16), False, *cols)
    with pytest.raises(ValueError):  # three of the five tunnel columns
        core.headers_parse(b"\0" * 64, np.zeros(2, np.int64), np.zeros(2, np.int32), np.zeros(2, np.int32),
                           np.zeros(2, np.uint16), False, *headers_columns(2, True)[:-2])


# ---------------------------------------------------------------- apps

RULES = (0, 1, 2, 3, 4, 6, 17, 2, 53)


def apps_call(core, data, payload, rows, slots, chunks=None, past_depth=None, n_packets=None):
    n_packets = len(payload) if n_packets is None else n_packets
    n = len(rows)
    return core.apps_select(
        data, np.full(n_packets, 17, np.uint8), np.full(n_packets, 5, np.int64), np.asarray(payload, np.int64),
        np.full(n_packets, 443, np.uint16), np.full(n_packets, 443, np.uint16), np.asarray(rows, np.int64),
        np.asarray(slots, np.int64), np.ones(n, np.uint8), chunks or {}, past_depth, np.zeros(4, np.uint8),
        np.zeros((4, 2), np.uint8), RULES, np.array([1], np.uint32), np.array([0x47455420], np.uint32))


@pytest.mark.parametrize("payload", [INT64_MAX, INT64_MAX - 8, -1, -(1 << 62)])
def test_apps_select_hands_extreme_payload_positions_to_the_numpy_code(core, payload):
    """Regression: payload + 9 overflowed int64 in the C (undefined behaviour, caught by UBSan);
    numpy wraps it to a negative index, so such rows are the numpy code's to judge."""
    assert apps_call(core, bytes(64), [payload], [0], [0]) is None


@SETTINGS
@given(data=st.binary(max_size=64), payload=st.lists(st.integers(-100, 200), min_size=1, max_size=6),
       rows=st.lists(st.integers(-2, 7), max_size=8), slot=st.integers(-1, 5),
       chunk_keys=st.lists(st.one_of(st.integers(-3, 10), st.text(max_size=1)), max_size=3))
def test_apps_select_picks_only_rows_it_was_given(core, data, payload, rows, slot, chunk_keys):
    chunks = {k: b"x" for k in chunk_keys}
    got = apps_call(core, data, payload, rows, [slot] * len(rows), chunks)
    if got is not None:
        picked, kinds = got
        assert np.all((0 <= picked) & (picked < len(rows))) and set(kinds.tolist()) <= {1, 2, 3, 4}


def test_apps_select_refuses_masks_of_other_lengths(core):
    with pytest.raises(ValueError):
        apps_call(core, bytes(16), [0], [0, 0], [0], past_depth=np.zeros(2, np.uint8))
    with pytest.raises(ValueError):
        apps_call(core, bytes(16), [0], [0], [0], past_depth=np.zeros(3, np.uint8))


@SETTINGS
@given(data=garbage(300))
def test_parsers_take_any_bytes(core, data):
    for verdict, *_ in (core.tls_hello_from_records(data), core.tls_parse_client_hello(data)):
        assert 0 <= verdict <= 6
    assert 0 <= core.dns_parse_message(data)[0] <= 13
    verdict, _requests, consumed = core.http_parse_requests(data, 4300)
    assert verdict in (0, 1) and 0 <= consumed <= len(data)


# ---------------------------------------------------------------- live / taint


@SETTINGS
@given(records=st.lists(st.tuples(st.binary(min_size=72, max_size=72), st.sampled_from([0, 8, 16, 17, 71, 72])),
                        max_size=8))
def test_can_records_fill_only_the_rows_given(core, records):
    from monitor.canbus.frames import FrameBatch

    n = len(records)
    block = np.frombuffer(b"".join(r for r, _ in records), np.uint8).reshape(n, 72) if n else np.zeros((0, 72), np.uint8)
    sizes = np.array([s for _, s in records], np.int64)
    batch = FrameBatch.empty(n)
    kept = core.live_can_records_to_columns(block, sizes, np.zeros(n), batch)
    assert kept == int(np.isin(sizes, (16, 72)).sum()) and np.all(batch.dlc[:kept] <= 64)


@SETTINGS
@given(buf=garbage(300), before=st.integers(0, 1 << 30), after=st.integers(0, 1 << 30), room=st.integers(0, 4))
def test_taint_windows_and_candidates_stay_inside_the_buffer(core, buf, before, after, room):
    starts, ends = np.zeros(room, np.int64), np.zeros(room, np.int64)
    found = core.taint_text_windows(buf, before, after, starts, ends)
    kept = min(found, room)
    assert found >= 0 and np.all((0 <= starts[:kept]) & (starts[:kept] < ends[:kept]) & (ends[:kept] <= len(buf)))
    maps, table = np.full(256, 1, np.uint8), np.ones(65536, np.uint8)
    at, flags = np.zeros(room, np.int64), np.zeros(room, np.uint8)
    found = core.taint_candidates(buf, maps, maps, table, at, flags)
    assert found == (len(buf) // 8 + 1) * 8 and np.array_equal(at[:min(found, room)], np.arange(min(found, room)))


@SETTINGS
@given(buf=garbage(64), at=st.lists(st.one_of(st.integers(-3, 70), st.sampled_from([INT64_MAX, -INT64_MAX])),
                                     max_size=10),
       width=st.sampled_from([4, 8]), kind=st.sampled_from(["int", "mag", "j1939", "float"]))
def test_taint_latitude_rows_skip_words_past_the_buffer(core, buf, at, width, kind):
    if width == 8:
        kind = "float"
    offsets = np.array(at, np.int64)
    out = np.full(len(at), -1, np.int64)
    kept = core.taint_latitude_rows(buf, offsets, width, True, kind, 1e7, np.array([-1e300]), np.array([1e300]), out)
    rows = out[:kept]
    assert np.all((0 <= rows) & (rows < len(at)))
    assert np.all((offsets[rows] >= 0) & (offsets[rows] + width <= len(buf)))


@pytest.mark.parametrize("low", [[5.0, float("nan"), 1.0], [float("nan"), 1.0], [2.0, 1.0]])
def test_taint_latitude_ranges_out_of_order_are_refused(core, low):
    """A NaN low amid the others hid a descent from the sortedness check (the C's binary search
    then missed ranges); np.argsort puts NaN last, which stays accepted."""
    low = np.array(low)
    with pytest.raises(ValueError):
        core.taint_latitude_rows(bytes(8), np.zeros(1, np.int64), 4, True, "int", 1e7, low, low + 1,
                                 np.zeros(1, np.int64))


def test_taint_latitude_ranges_sorted_as_argsort_sorts_them_are_read(core):
    word = (-12_000_000).to_bytes(4, "big", signed=True)  # -1.2 degrees at scale 1e7
    low = np.array([-5.0, 10.0, float("nan")])
    rows = np.zeros(1, np.int64)
    assert core.taint_latitude_rows(word, np.zeros(1, np.int64), 4, True, "int", 1e7, low, low + 6, rows) == 1


# ---------------------------------------------------------------- equivalence cases found here


def _hello(extensions: bytes, declared: int | None = None) -> bytes:
    """A ClientHello message whose extensions block says `declared` bytes (default: its size)."""
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += (len(extensions) if declared is None else declared).to_bytes(2, "big") + extensions
    return b"\x01" + len(body).to_bytes(3, "big") + body


def _ext(kind: int, body: bytes) -> bytes:
    return kind.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


SNI = _ext(0, b"\x00\x0e\x00\x00\x0bexample.com")
ALPN = _ext(16, b"\x00\x03\x02h2")


@pytest.mark.parametrize("message", [
    _hello(b"", declared=4),  # found by hypothesis: C said "past the end", tls.py a hello
    _hello(SNI + b"\x00\x10", declared=len(SNI) + 4),
    _hello(SNI + ALPN[:4], declared=len(SNI) + 6),
    _hello(SNI + _ext(16, b"")),  # an empty last extension: tls.py stops before it
    _hello(SNI + _ext(0, b"\x00")),  # a one-byte last server_name: likewise
    _hello(ALPN + SNI), _hello(SNI + ALPN + _ext(21, bytes(3))),
])
def test_tls_extensions_end_where_tls_py_says(core, monkeypatch, message):
    """Regression: tls.py takes the extensions to end at (position of their length field) +
    length, two bytes before the C did; the C now reads the same bytes the reference reads."""
    from monitor.net.app import tls
    from tests.native.test_apps_equivalence import both_ways

    monkeypatch.setattr(native, "kernels", core)
    for function, data in ((tls.parse_client_hello, message),
                           (tls.client_hello_from_records, b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message)):
        native_side, reference = both_ways(function, data)
        assert native_side == reference


def test_parsers_hand_inputs_past_int32_offsets_to_python(core):
    """The C's spans and offsets are int32: a buffer of 2 GiB or more goes to the Python
    reference (the verdicts that say so), never into the C. np.zeros maps pages lazily, so
    this costs no memory."""
    huge = np.zeros((1 << 31) + 1, np.uint8)
    assert core.tls_hello_from_records(huge)[0] == 6 and core.tls_parse_client_hello(huge)[0] == 6
    assert core.dns_parse_message(huge)[0] == 13
    assert core.http_parse_requests(huge, 4300) == (1, None, 0)
