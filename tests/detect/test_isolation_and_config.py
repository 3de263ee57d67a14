"""A detector or parser that raises is isolated; config errors name file:line."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.detect.base import Detector
from monitor.detect.signatures import WireSignatures
from monitor.detect.wire import scan
from monitor.errors import PolicyError
from monitor.pipeline import load_config

from ..builders import packet, write_pcap
from .conftest import run_monitor

JT808_LOCATION = bytes.fromhex("7e0200003301705156418900" "0c00000000000c00020158ff7206cd1f4c000000000123201122115639"
                               "01040000000030011f310109" "937e")


class Boom(Detector):
    """Raises on a crafted payload, as a buggy detector would."""

    name = "boom"

    def on_net(self, view, state):
        if any(b"BOOM" in view.payload(i) for i in range(len(view))):
            raise ValueError("crafted payload")
        return []


def test_a_detector_that_raises_is_isolated(tmp_path, caplog):
    t0 = 1_700_000_000.0
    pcap = write_pcap(tmp_path / "x.pcap", [packet(t0, JT808_LOCATION, dport=5015), packet(t0 + 0.1, b"BOOM" * 4, dport=9)])
    with caplog.at_level(logging.ERROR):
        findings, monitor = run_monitor(captures=[pcap], detectors=[Boom(), WireSignatures()])
    assert [f.detector for f in findings] == ["wire.jt808"]  # the other detector still ran on that batch
    assert abs(findings[0].position.lat - 22.609778) < 1e-6
    assert monitor.runner.stats.errors == Counter({"boom": 1})
    assert "detector boom raised ValueError" in caplog.text
    assert monitor.summary()["detector_errors"] == {"boom": 1}


def test_a_parser_that_raises_is_isolated(monkeypatch):
    def broken(payload):
        raise IndexError("crafted")

    monkeypatch.setattr(scan, "PARSERS", (scan.Parser("broken", broken, frozenset(b"$")), *scan.PARSERS))
    errors: Counter = Counter()
    matches = scan.scan_payload(b"$GPRMC,123519.00,A,4807.038,N,01131.000,E,,,230394,,*33\r\n", errors)
    assert [m.protocol for m in matches] == ["nmea"] and errors == Counter({"broken": 1})


def test_the_gate_admits_every_first_byte_a_parser_declares():
    declared = set().union(*(parser.first for parser in scan.PARSERS))
    assert set(np.flatnonzero(scan.FIRST_BYTES).tolist()) == declared
    assert {0x02, 0x08, 0x14, 0x43, 0x48} <= declared  # RTMP chunk headers (they once disagreed)


MAGICS = [b"", b"\x7e\x02\x00", b"01cd\x81", b"##\x02\xfe", b"$$\x02\xfe", b"\x00\x00\x00\x00", b"\x00\x0f",
          b"\x78\x78", b"\x79\x79", b"+RESP:GTFRI,", b"$GPRMC,", b">RPV", b"POST / HTTP/1.1\r\n", b"\x30", b"\x00\x14",
          b"ANNOUNCE rtsp://", b"\x03", b"{\"lat\":", b"\x47"]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(MAGICS), st.binary(max_size=300))
def test_parsers_survive_arbitrary_bytes_after_any_magic(magic, tail):
    errors: Counter = Counter()
    scan.scan_payload(magic + tail, errors)
    assert not errors, errors


@pytest.mark.parametrize("extra,message", [
    ("detectors:\n  video: {min_kbps: 100, bogus: 1}\n", "unknown key 'bogus' in video"),
    ("detectors:\n  beacon: {min_uploads: many}\n", "min_uploads must be int"),
    ("signals:\n  Vehicle.Speed: [{signal: NoSuchMessage.Speed}]\n", "no DBC message 'NoSuchMessage'"),
    ("colour: blue\n", "unknown key 'colour' in the top level"),
])
def test_config_errors_name_file_and_line(tmp_path, extra, message):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\ndbc: [dbc/gateway-telematics.dbc]\n" + extra)
    with pytest.raises(PolicyError) as raised:
        from monitor.pipeline import Monitor
        Monitor(load_config(path))
    assert message in str(raised.value) and str(raised.value).startswith(f"{path}:")
    line = int(str(raised.value).split(":")[1])
    assert line >= 3
