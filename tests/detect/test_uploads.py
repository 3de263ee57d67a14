"""What counts as an upload: set-up records and packets are told apart from data on the view's
columns, and uploads are grouped into bursts with streams kept apart."""

from __future__ import annotations

import struct

import numpy as np

from monitor.detect.uploads import Bursts, record_tail, setup_rows
from monitor.net.view import NetView
from monitor.testing.quicwire import client_initial
from monitor.testing.scene import app_data, client_hello


def view_of(payloads: list[tuple[bytes, bool]]) -> NetView:
    """A view of outbound packets (payload, over UDP) laid end to end in one buffer."""
    data = np.frombuffer(b"".join(p for p, _ in payloads), np.uint8)
    lengths = np.array([len(p) for p, _ in payloads], np.int64)
    n = len(payloads)
    return NetView(data=data, ts=np.arange(n, dtype=float), slot=np.zeros(n, np.int64), flow_id=np.ones(n, np.int64),
                   outbound=np.ones(n, bool), inbound=np.zeros(n, bool), udp=np.array([u for _, u in payloads]),
                   start=np.concatenate(([0], np.cumsum(lengths)[:-1])), length=lengths,
                   describe_slot=lambda slot: ({}, []), seq=np.zeros(n, np.uint32))


def test_handshakes_are_set_up_and_application_data_is_not():
    crypto = client_hello("q.example")[5:]
    initial = client_initial(b"\x01" * 8, bytes([0x06, 0x00, 0x40 | len(crypto) >> 8, len(crypto) & 0xFF]) + crypto)[0]
    cases = [
        (client_hello("a.example"), False, True),  # TLS ClientHello
        (b"\x14\x03\x03\x00\x01\x01", False, True),  # ChangeCipherSpec
        (b"\x16\xfe\xfd" + bytes(60), True, True),  # DTLS 1.2 handshake
        (initial, True, True),  # QUIC v1 Initial
        (app_data(300), False, False),  # TLS application data
        (b"\x17\xfe\xfd" + bytes(60), True, False),  # DTLS application data
        (bytes([0xC3]) + b"\x12\x34\x56\x78" + bytes(40), True, False),  # a long-header look-alike, unknown version
        (bytes([0x41]) + bytes(300), True, False),  # QUIC short header: data
        (b"\x16\x03", False, False),  # too short to be a record header
    ]
    view = view_of([(payload, udp) for payload, udp, _ in cases])
    assert setup_rows(view, np.arange(len(cases))).tolist() == [want for *_, want in cases]


def test_a_record_longer_than_its_segment_says_how_much_follows():
    body = bytes(2995)
    view = view_of([((b"\x16\x03\x01" + struct.pack("!H", len(body)) + body)[:1400], False)])
    assert record_tail(view, 0) == 3000 - 1400


def test_bursts_group_uploads_and_keep_streams_apart():
    bursts = Bursts(gap_s=0.5, max_burst_s=5.0)
    ts = np.array([0.0, 0.1, 0.2, 10.0, 20.0] + [30 + 0.1 * k for k in range(100)] + [50.0])
    assert bursts.add(ts, np.full(len(ts), 100)) == 5  # 0-0.2, 10, 20, a 10 s stream, 50
    starts, sizes = bursts.uploads()
    assert starts.tolist() == [0.0, 10.0, 20.0, 50.0] and sizes.tolist() == [300, 100, 100, 100]
    assert bursts.streams == 1
    assert bursts.add(np.array([50.3]), np.array([40])) == 0  # continues the open burst
    assert bursts.uploads(since=15.0)[1].tolist() == [100, 140]
