"""ASC/BLF/TRC go through python-can's readers into batches; every flag survives the trip."""

from __future__ import annotations

import can
import pytest

from monitor.canbus.frames import FrameBatch
from monitor.canbus.logs import read_log
from monitor.errors import ConfigError, SourceError

from ..builders import assert_same_as_python_can
from ..conftest import corpus_files, ids

FIXTURES = [p for p in corpus_files("can/logs/python-can/*") if p.suffix in (".asc", ".blf", ".trc")]
FIXTURES += corpus_files("can/logs/eldominio-canbuslogs/*/*.trc")


@pytest.mark.parametrize("path", FIXTURES, ids=ids(FIXTURES))
def test_python_can_formats_arrive_as_python_can_reads_them(path):
    parts = list(read_log(path))
    batch = FrameBatch.concat([b for b, _ in parts])
    reader = can.ASCReader(str(path), relative_timestamp=False) if path.suffix == ".asc" else can.LogReader(str(path))
    messages = list(reader)
    assert len(batch) == len(messages) > 0
    for i, msg in enumerate(messages):
        assert batch.timestamp[i] == msg.timestamp
        assert batch.arbitration_id[i] == msg.arbitration_id
        assert batch.is_extended[i] == msg.is_extended_id
        assert batch.is_remote[i] == msg.is_remote_frame
        assert batch.is_error[i] == msg.is_error_frame
        assert batch.is_fd[i] == msg.is_fd
        assert batch.bitrate_switch[i] == msg.bitrate_switch
        if msg.is_remote_frame:
            assert batch.dlc[i] == msg.dlc
        else:  # payload length in bytes (issue_1299.asc: DLC code 0xD on a classic frame = 8 bytes)
            assert batch.dlc[i] == len(msg.data)
            assert batch.payload(i) == bytes(msg.data)


def test_fixture_set_covers_fd_remote_and_error_frames():
    if not FIXTURES:
        pytest.skip("needs the shared corpus (../shared/corpus/can/logs), absent on this machine")
    batch = FrameBatch.concat([b for path in FIXTURES for b, _ in read_log(path)])
    assert batch.is_fd.any() and batch.is_remote.any() and batch.is_error.any() and batch.is_extended.any()
    assert (batch.dlc > 8).any()


def test_round_trip_through_python_can_writers(tmp_path):
    """Frames written by python-can's ASC/BLF/TRC writers come back unchanged."""
    messages = [
        can.Message(timestamp=10 + i, arbitration_id=0x100 + i, is_extended_id=i % 2 == 0,
                    data=bytes(range(i % 9)), channel=0)
        for i in range(20)
    ]
    for suffix in (".asc", ".blf", ".trc", ".log"):
        path = tmp_path / f"out{suffix}"
        with can.Logger(str(path)) as writer:
            for msg in messages:
                writer.on_message_received(msg)
        batch = FrameBatch.concat([b for b, _ in read_log(path)])
        reader = can.ASCReader(str(path), relative_timestamp=False) if suffix == ".asc" else can.LogReader(str(path))
        assert_same_as_python_can(batch, list(reader))
        assert batch.arbitration_id.tolist() == [m.arbitration_id for m in messages], suffix


def test_unknown_suffix_names_the_known_formats(tmp_path):
    path = tmp_path / "frames.xyz"
    path.write_text("")
    with pytest.raises(ConfigError, match=r"frames.xyz: unknown CAN log format '.xyz' \(known: .*\.asc"):
        list(read_log(path))


def test_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="nothere.log: no such CAN log"):
        list(read_log(tmp_path / "nothere.log"))


def test_a_broken_asc_keeps_the_frames_before_the_break_and_reports_it(tmp_path):
    path = tmp_path / "broken.asc"
    path.write_text(
        "date Sam Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\nno internal events logged\n"
        "   0.015991 1  123             Rx   d 2 01 02\n"
        "   0.025991 1  124             Rx   d 2 0G 02\n"
        "   0.035991 1  125             Rx   d 1 01\n"
    )
    parts = list(read_log(path))
    batch = FrameBatch.concat([b for b, _ in parts])
    stats = parts[-1][1]
    assert len(batch) == 1 and batch.arbitration_id.tolist() == [0x123]
    assert stats.malformed == 1 and "python-can stopped reading after frame 1" in stats.examples[0][1]


def test_an_asc_log_with_a_start_date_gives_absolute_times(tmp_path):
    path = tmp_path / "bench.asc"
    path.write_text("date Sam Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\ninternal events logged\n"
                    "Begin Triggerblock Sam Sep 30 15:06:13.191 2017\n"
                    "   0.015991 1  123             Rx   d 2 01 02\n"
                    "   1.015991 1  124             Rx   d 1 03\n"
                    "End TriggerBlock\n")
    batch = FrameBatch.concat([b for b, _ in read_log(path)])
    assert len(batch) == 2 and batch.timestamp[1] - batch.timestamp[0] == pytest.approx(1.0)
    assert 1_506_700_000 < batch.timestamp[0] < 1_506_900_000  # 30 September 2017, not 1970


def test_asc_and_blf_go_native_only_under_the_python_can_release_the_kernels_reproduce(tmp_path, monkeypatch):
    from monitor import native
    from monitor.canbus import logs

    core = native.loaded_core()
    if core is None:
        pytest.skip("the native core is not built")
    monkeypatch.setattr(native, "kernels", core)
    path = tmp_path / "one.asc"
    path.write_text("0.1 1 123 Rx d 1 01\n0.2 1 124 Rx d 1 02\n")
    assert logs._native_core() is core
    assert type(logs.read_asc(path)).__name__ == "generator" and logs.read_asc(path).__qualname__ == "read_asc_native"
    monkeypatch.setattr(can, "__version__", "9.0.0")
    assert logs._native_core() is None
    assert logs.read_asc(path).__qualname__ == "read_with_python_can"
    assert len(FrameBatch.concat([b for b, _ in read_log(path)])) == 1  # python-can's header eats the first line
