"""blffile: its check refuses what blfcheck refuses, with the same words; containers inflate
within the file's limit."""

from __future__ import annotations

import struct
import zlib

import can
import pytest

from monitor.canbus import blfcheck, blffile
from monitor.errors import SourceError

from ..native.core import required_core


def container(objects: bytes) -> bytes:
    data = zlib.compress(objects)
    size = 32 + len(data)
    return struct.pack("<4sHHLL", b"LOBJ", 16, 1, size, 10) + struct.pack("<H6xL4x", 2, len(objects)) + data + bytes(size % 4)


@pytest.fixture
def header(tmp_path) -> bytes:
    path = tmp_path / "empty.blf"
    with can.BLFWriter(str(path)):
        pass
    return path.read_bytes()[:144]


@pytest.mark.parametrize("size", [0, 15, (1 << 20) + 1])
def test_an_inner_object_of_a_bad_size_is_refused_as_blfcheck_refuses_it(tmp_path, header, size):
    path = tmp_path / "bad.blf"
    path.write_bytes(header + container(struct.pack("<4sHHLL", b"LOBJ", 32, 1, size, 1) + bytes(32)))
    with pytest.raises(SourceError) as reference:
        blfcheck.check(path)
    with pytest.raises(SourceError) as mine:
        blffile.check(path, required_core())
    assert str(mine.value) == str(reference.value)
    assert f"declares size {size}" in str(mine.value)


def test_a_container_past_the_limit_is_refused(tmp_path):
    with pytest.raises(SourceError, match="inflate past 1000 bytes"):
        blffile._inflate(zlib.compress(bytes(5000)), 1000, tmp_path / "bomb.blf")
    assert blffile._inflate(zlib.compress(bytes(1000)), 1000, tmp_path / "ok.blf") == bytes(1000)


def test_containers_the_check_inflated_are_not_inflated_again(tmp_path, monkeypatch):
    from monitor import native
    from monitor.canbus.logs import read_log

    monkeypatch.setattr(native, "kernels", required_core())
    path = tmp_path / "small.blf"
    with can.BLFWriter(str(path), max_container_size=256) as writer:
        for i in range(50):
            writer.on_message_received(can.Message(timestamp=i, arbitration_id=i, data=b"\1\2\3"))
    monkeypatch.setattr(blffile, "_inflate", lambda *args: pytest.fail("inflated twice"))
    assert sum(len(batch) for batch, _ in read_log(path)) == 50
    monkeypatch.setattr(blffile, "KEEP_BYTES", 0)
    with pytest.raises(BaseException, match="inflated twice"):
        list(read_log(path))
