"""The compiled SocketCAN receive loop (native/src/gw_recvmmsg.c) against the reference
(recvmmsg through ctypes, then numpy): the same records give the same batch columns.

Records travel over SOCK_SEQPACKET socket pairs, which keep record boundaries as AF_CAN does
(vcan needs a kernel module CI machines rarely have). Kernel receive times differ between two
runs, so socket-level comparisons check every column but the timestamps and check those for
being kernel times; the conversion itself, timestamps included, is compared record by record."""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.canbus.candump import parse_candump
from monitor.canbus.frames import FrameBatch
from monitor.canbus.rawsocket import (
    CAN_EFF_FLAG,
    CAN_ERR_FLAG,
    CAN_MTU,
    CAN_RTR_FLAG,
    CANFD_MTU,
    SO_TIMESTAMPNS,
    RawSocketCanSource,
    records_to_batch,
)
from tests.conftest import PROJECT, corpus_files, ids
from tests.native.core import required_core

COLUMNS = ("timestamp", "channel", "arbitration_id", "is_extended", "is_remote", "is_error", "is_fd",
           "bitrate_switch", "error_state_indicator", "is_rx", "dlc", "data")
SEEDS = sorted((PROJECT / "seeds").glob("*/can.log"))
CORPUS_LOGS = corpus_files("can/**/*.log")
FRAMES_PER_LOG = 1500  # each log's first frames: enough kinds of frame, a fast suite
WALL = 42.0  # the injected wall clock: what rows without a kernel timestamp get


@pytest.fixture
def core(monkeypatch):
    """The compiled module, switched on even where GATEWATCH_NATIVE=0 left it off."""
    loaded = required_core()
    if not loaded.live_can_receive_supported():
        pytest.skip("the compiled receive loop needs Linux (poll + recvmmsg)")
    monkeypatch.setattr(native, "kernels", loaded)
    return loaded


def assert_same(native_batch: FrameBatch, reference: FrameBatch, timestamps: bool = True) -> None:
    assert len(native_batch) == len(reference)
    assert native_batch.channel_names == reference.channel_names
    for name in COLUMNS:
        if name == "timestamp" and not timestamps:
            continue
        ours, theirs = getattr(native_batch, name), getattr(reference, name)
        assert ours.dtype == theirs.dtype, name
        assert ours.shape == theirs.shape, name
        assert np.array_equal(ours, theirs, equal_nan=name == "timestamp"), name


# --- the conversion, record by record --------------------------------------------------------

SIZES = st.one_of(st.sampled_from([CAN_MTU, CANFD_MTU]), st.sampled_from([0, 1, 8, 15, 17, 64, 71]), st.integers(0, 72))
CAN_IDS = st.one_of(st.integers(0, 0xFFFFFFFF), st.sampled_from([0, 0x7FF, 0x800, 0x1FFFFFFF, 0xFFFFFFFF,
                                                                 CAN_EFF_FLAG, CAN_RTR_FLAG, CAN_ERR_FLAG]))
STAMPS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(1.6e9, 2.0e9))
RECORD = st.tuples(CAN_IDS, st.integers(0, 255), st.integers(0, 255), st.binary(min_size=64, max_size=64), SIZES, STAMPS)


def raw_records(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    records = np.frombuffer(b"".join(struct.pack("=IBB2x64s", can_id, length, flags, data)
                                     for can_id, length, flags, data, _, _ in rows), np.uint8).reshape(-1, 72)
    return (records.copy(), np.array([r[4] for r in rows], np.int64), np.array([r[5] for r in rows], np.float64))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(RECORD, max_size=40))
def test_records_convert_as_the_reference_does(core, rows):
    """Every field of every record, garbage included: any id and flag bits, lengths past the
    frame's, sizes that are no CAN record (skipped), any timestamp."""
    records, sizes, stamps = raw_records(rows) if rows else (np.zeros((0, 72), np.uint8), np.zeros(0, np.int64), np.zeros(0))
    good = (sizes == CAN_MTU) | (sizes == CANFD_MTU)
    reference = records_to_batch(records[good], sizes[good], stamps[good], "body")
    block = FrameBatch.empty(len(rows), ("body",))
    block.data[:] = 0xAA  # rows are written whole: nothing of a previous batch may remain
    kept = core.live_can_records_to_columns(records, sizes, stamps, block)
    assert kept == int(good.sum())
    assert_same(block.take(slice(0, kept)), reference)


@settings(max_examples=200, deadline=None)
@given(sec=st.integers(-(2**40), 2**40), nsec=st.one_of(st.integers(0, 999_999_999), st.integers(-(2**62), 2**62)))
def test_kernel_times_round_as_numpy_does(sec, nsec):
    core = native.loaded_core()
    if core is None:
        pytest.skip("the native core is not built")
    expected = (np.array([sec], np.int64) + np.array([nsec], np.int64) * 1e-9)[0]
    assert core.live_can_seconds(sec, nsec) == expected


def test_bad_columns_are_refused_before_the_c_runs(core):
    records, sizes, stamps = np.zeros((2, 72), np.uint8), np.full(2, 16, np.int64), np.zeros(2)
    with pytest.raises(ValueError, match="fewer than 2 rows"):
        core.live_can_records_to_columns(records, sizes, stamps, FrameBatch.empty(1))
    with pytest.raises(ValueError, match="differ in length"):
        core.live_can_records_to_columns(records, sizes[:1], stamps, FrameBatch.empty(2))
    with pytest.raises(ValueError, match="not 0..72"):
        core.live_can_records_to_columns(records, np.array([16, 73]), stamps, FrameBatch.empty(2))
    with pytest.raises(ValueError):
        core.live_can_records_to_columns(np.zeros((2, 16), np.uint8), sizes, stamps, FrameBatch.empty(2))
    wrong = FrameBatch.empty(2)
    with pytest.raises(ValueError):
        core.live_can_receive(0, dataclasses.replace(wrong, timestamp=np.zeros(2, np.float32)), 2, 0.0, 0.0)
    with pytest.raises(ValueError):
        core.live_can_receive(0, dataclasses.replace(wrong, is_fd=np.zeros(2, bool)[::-1]), 2, 0.0, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        core.live_can_receive(0, wrong, 2, float("nan"), 0.0)


# --- the whole loop, over sockets -------------------------------------------------------------

def can_record(can_id: int, data: bytes, dlc: int | None = None) -> bytes:
    return struct.pack("=IB3x8s", can_id, len(data) if dlc is None else dlc, data.ljust(8, b"\xee"))


def canfd_record(can_id: int, data: bytes, flags: int = 0) -> bytes:
    return struct.pack("=IBB2x64s", can_id, len(data), flags, data.ljust(64, b"\xee"))


def batch_records(batch: FrameBatch) -> list[bytes]:
    """A parsed log's frames as the kernel's records."""
    out = []
    for i in range(len(batch)):
        can_id = int(batch.arbitration_id[i]) | (CAN_EFF_FLAG if batch.is_extended[i] else 0)
        can_id |= (CAN_RTR_FLAG if batch.is_remote[i] else 0) | (CAN_ERR_FLAG if batch.is_error[i] else 0)
        if batch.is_fd[i]:
            flags = int(batch.bitrate_switch[i]) | 2 * int(batch.error_state_indicator[i])
            out.append(canfd_record(can_id, batch.payload(i), flags))
        else:
            out.append(can_record(can_id, batch.payload(i), int(batch.dlc[i])))
    return out


def received(records: list[bytes], stamped: bool = True, batch_size: int = 4096) -> FrameBatch:
    """What a raw source reads from a socket pair carrying ``records`` (then closed), on
    whichever core is switched on."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    expected = sum(len(r) in (CAN_MTU, CANFD_MTU) or len(r) > CANFD_MTU for r in records)  # longer ones arrive cut to 72

    def write() -> None:  # a thread: the pair's queue holds fewer records than a log has
        for record in records:
            theirs.send(record)
        theirs.close()

    source = RawSocketCanSource("body", "vcan0", batch_size=batch_size, max_latency=0.02, wall_clock=lambda: WALL,
                                connect=lambda: ours, gather_s=0.001)
    source.open()
    if not stamped:
        ours.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
    writer = threading.Thread(target=write)
    writer.start()
    batches, total, reads = [], 0, 0
    while total < expected and reads < 2000:  # bounded: a failure ends as a short batch, not a hang
        batch = source.read(0.2)
        reads += 1
        if batch is not None:
            batches.append(batch)
            total += len(batch)
    writer.join()
    source.close()
    return FrameBatch.concat(batches) if batches else FrameBatch.empty(0, ("body",))


def both(records: list[bytes], **kwargs) -> tuple[FrameBatch, FrameBatch]:
    ours = received(records, **kwargs)
    with native.use_numpy():
        reference = received(records, **kwargs)
    return ours, reference


def assert_kernel_times(batch: FrameBatch) -> None:
    now = time.time()
    assert np.all(np.abs(batch.timestamp - now) < 600), "kernel receive times, not the injected clock"
    assert np.all(np.diff(batch.timestamp) >= 0)


@pytest.mark.parametrize("log", SEEDS, ids=[p.parent.name for p in SEEDS])
def test_seed_logs_arrive_as_the_reference_receives_them(core, log: Path):
    batch, _ = parse_candump(log.read_bytes())
    records = batch_records(batch.take(slice(0, FRAMES_PER_LOG)))
    ours, reference = both(records)
    assert len(ours) == len(records)
    assert_same(ours, reference, timestamps=False)
    assert_kernel_times(ours)


@pytest.mark.parametrize("log", CORPUS_LOGS, ids=ids(CORPUS_LOGS))
def test_corpus_logs_arrive_as_the_reference_receives_them(core, log: Path):
    batch, _ = parse_candump(log.read_bytes()[: 1 << 20])
    if not len(batch):
        pytest.skip(f"{log.name}: no candump frames in its first MiB")
    records = batch_records(batch.take(slice(0, FRAMES_PER_LOG)))
    ours, reference = both(records)
    assert_same(ours, reference, timestamps=False)
    assert_kernel_times(ours)


def test_the_corpus_is_searched_for_logs():
    if not CORPUS_LOGS:
        pytest.skip("needs the shared corpus's CAN logs (../shared/corpus/can), absent on this machine")
    assert all(p.suffix == ".log" for p in CORPUS_LOGS)


GARBAGE = st.binary(min_size=1, max_size=100).filter(lambda b: len(b) not in (CAN_MTU, CANFD_MTU))
SOCKET_RECORD = st.one_of(
    st.builds(can_record, st.integers(0, 0xFFFFFFFF), st.binary(max_size=8), st.one_of(st.none(), st.integers(0, 255))),
    st.builds(canfd_record, st.integers(0, 0xFFFFFFFF), st.binary(max_size=64), st.integers(0, 255)),
    st.binary(min_size=CAN_MTU, max_size=CAN_MTU), st.binary(min_size=CANFD_MTU, max_size=CANFD_MTU), GARBAGE)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(SOCKET_RECORD, min_size=1, max_size=120), stamped=st.booleans(),
       batch_size=st.sampled_from([1, 7, 64, 4096]))
def test_hostile_records_over_a_socket_as_the_reference(core, records, stamped, batch_size):
    """Garbage records (any bytes, sizes no CAN record has, longer ones cut to 72), batches
    smaller than a read, sockets without kernel timestamps (the wall clock)."""
    ours, reference = both(records, stamped=stamped, batch_size=batch_size)
    assert_same(ours, reference, timestamps=not stamped)
    if stamped:
        assert_kernel_times(ours)
    else:
        assert np.all(ours.timestamp == WALL)


def test_a_closed_peer_is_a_quiet_bus_on_both_cores(core):
    """Empty records (what a closed socket pair reads as) end a read without ending the
    source; the records after them still arrive."""
    records = [can_record(0x100 + k, bytes([k])) for k in range(10)] + [b""] + [can_record(0x200, b"\x01")]
    ours, reference = both(records)
    assert_same(ours, reference, timestamps=False)
    assert ours.arbitration_id.tolist() == [0x100 + k for k in range(10)] + [0x200]


class _NotASocket:
    """A readable descriptor that is no socket: poll says ready, recvmmsg fails (ENOTSOCK)."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        os.write(self.write_end, b"x" * 16)

    def fileno(self) -> int:
        return self.read_end

    def close(self) -> None:
        os.close(self.read_end)
        os.close(self.write_end)


def failure(core_on: bool) -> OSError:
    source = RawSocketCanSource("body", "vcan0", max_latency=0.02, connect=_NotASocket)
    source.sock = _NotASocket()  # open() would set socket options a pipe has not
    try:
        with pytest.raises(OSError) as raised:
            if core_on:
                source.read(0.2)
            else:
                with native.use_numpy():
                    source.read(0.2)
    finally:
        source.close()
    return raised.value


def test_a_failing_socket_raises_the_same_error_on_both_cores(core):
    ours, reference = failure(True), failure(False)
    assert ours.errno == reference.errno != 0
    assert str(ours) == str(reference)
