"""What the ASC/BLF equivalence tests compare: read_log's batches and stats (or its exception)
with the compiled core on and on the python-can reference, column by column."""

from __future__ import annotations

import numpy as np

from monitor import native
from monitor.canbus.frames import _COLUMNS
from monitor.canbus.logs import read_log


def outcome(path, batch_size: int) -> list:
    """Every batch (its columns, names and stats) read_log gives, then the exception if any."""
    parts: list = []
    try:
        for batch, stats in read_log(path, batch_size=batch_size):
            columns = {name: getattr(batch, name) for name in _COLUMNS}
            parts.append((columns, batch.channel_names, (stats.frames, stats.lines, stats.malformed, stats.examples)))
    except Exception as error:  # noqa: BLE001 - the exception is part of the result
        parts.append((type(error).__name__, str(error)))
    return parts


def assert_same_both_ways(path, core, batch_sizes=(1 << 16, 3)) -> list:
    """read_log on the compiled core and on the reference give identical results; returns them."""
    for batch_size in batch_sizes:
        saved = native.kernels
        native.kernels = core
        try:
            mine = outcome(path, batch_size)
        finally:
            native.kernels = saved
        with native.use_numpy():
            reference = outcome(path, batch_size)
        assert len(mine) == len(reference), (mine, reference)
        for got, want in zip(mine, reference):
            if isinstance(want[0], str) or isinstance(got[0], str):
                assert got == want
                continue
            assert got[1:] == want[1:]
            for name, column in want[0].items():
                assert got[0][name].dtype == column.dtype, name
                assert got[0][name].shape == column.shape, name
                assert np.array_equal(got[0][name], column), name
    return reference


def can_messages(max_time: float):
    """python-can Messages of every kind (data, remote, error, FD at each length) on four channels."""
    import can
    from hypothesis import strategies as st

    return st.builds(
        lambda t, i, ext, kind, data, ch, rx, brs: can.Message(
            timestamp=t, arbitration_id=i & (0x1FFFFFFF if ext else 0x7FF), is_extended_id=ext,
            is_remote_frame=kind == "remote", is_error_frame=kind == "error", is_fd=kind == "fd",
            data=data if kind == "fd" else data[:8], channel=ch, is_rx=rx, bitrate_switch=brs and kind == "fd"),
        st.floats(0, max_time, allow_nan=False), st.integers(0, 0x1FFFFFFF), st.booleans(),
        st.sampled_from(["data", "remote", "error", "fd"]),
        st.sampled_from([bytes(range(n)) for n in (0, 1, 5, 8, 12, 16, 20, 24, 32, 48, 64)]),
        st.integers(0, 3), st.booleans(), st.booleans())
