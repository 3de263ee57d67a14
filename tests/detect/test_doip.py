"""DoIP messages out of one sender's stream: split anywhere, packed together, long payloads
skipped without being held, garbage passed over and counted, UDP datagrams one by one."""

from __future__ import annotations

import random
import struct
from collections import Counter

from monitor.detect.doip import HEAD_BYTES, DoipStream, datagram


def doip(payload_type: int, body: bytes, version: int = 2) -> bytes:
    return bytes([version, version ^ 0xFF]) + struct.pack(">HI", payload_type, len(body)) + body


MESSAGES = [doip(0x0005, b"\x0e\x00\x00" + bytes(4)), doip(0x8001, b"\x0e\x00\x10\x01\x27\x01"),
            doip(0x8001, b"\x0e\x00\x10\x01\x36\x01" + bytes(range(256)) * 16), doip(0x0001, b"", version=0xFF),
            doip(0x8001, b"\x0e\x00\x10\x01\x3e\x80")]


def read(stream: DoipStream, parts: list[bytes]) -> list[tuple[int, int, bytes]]:
    return [(m.payload_type, m.length, m.head) for part in parts for m in stream.feed(part)]


def test_messages_come_out_whole_however_the_stream_is_cut():
    whole = b"".join(MESSAGES)
    expected = read(DoipStream(), [whole])
    assert [t for t, _, _ in expected] == [0x0005, 0x8001, 0x8001, 0x0001, 0x8001]
    assert expected[2][1] == 4 + 2 + 4096 and len(expected[2][2]) == HEAD_BYTES  # only the head is kept
    rng = random.Random(27)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(whole)), rng.randint(1, 40)))
        parts = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)])]
        stream = DoipStream()
        assert read(stream, parts) == expected
        assert stream.counts == Counter(messages=5) and len(stream.pending) < 8 + HEAD_BYTES and stream.skip == 0


def test_a_long_payload_is_skipped_as_it_arrives_not_held():
    stream = DoipStream()
    big = doip(0x8001, b"\x0e\x00\x10\x01\x36\x01" + bytes(1 << 20))
    assert len(read(stream, [big[:100]])) == 1
    for k in range(100, len(big), 65536):
        assert stream.feed(big[k:k + 65536]) == [] and len(stream.pending) == 0
    assert stream.skip == 0 and read(stream, [MESSAGES[1]])[0][2] == b"\x0e\x00\x10\x01\x27\x01"


def test_bytes_that_are_not_doip_are_passed_over_and_counted():
    stream = DoipStream()
    junk = b"\x02\xfd\x77\x77" + bytes(20) + b"GET / HTTP/1.1\r\n"  # a version pair with no known payload type
    found = read(stream, [junk + MESSAGES[1] + b"\x00" * 5 + MESSAGES[4]])
    assert [h for _, _, h in found] == [b"\x0e\x00\x10\x01\x27\x01", b"\x0e\x00\x10\x01\x3e\x80"]
    assert stream.counts["bytes_skipped"] == len(junk) + 5 and stream.counts["resyncs"] == 2


def test_a_header_claiming_an_absurd_length_is_not_a_header():
    stream = DoipStream()
    found = read(stream, [b"\x02\xfd\x80\x01\xff\xff\xff\xff" + MESSAGES[1]])
    assert len(found) == 1 and stream.counts["bytes_skipped"] == 8


def test_udp_datagrams_are_read_one_by_one_and_a_cut_one_is_counted():
    counts: Counter = Counter()
    assert [m.payload_type for m in datagram(MESSAGES[3] + MESSAGES[3], counts)] == [0x0001, 0x0001]
    assert datagram(MESSAGES[1][:10], counts) == [] and counts["datagram_cut"] == 1
