"""HPACK against RFC 7541 Appendix C (C.2 to C.6): each example's bytes, decoded header list,
and dynamic table after it (entries and size), decoded in sequence on one decoder as the RFC
does; the Huffman code rebuilt from its lengths against a sample of Appendix B's hex column;
and the bounds on hostile blocks."""

from __future__ import annotations

import pytest

from monitor.net.app import hpack
from monitor.net.app.hpack import Decoder, HpackError, huffman_decode

REQUEST_1 = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")]
REQUEST_2 = REQUEST_1 + [("cache-control", "no-cache")]
REQUEST_3 = [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"),
             ("custom-key", "custom-value")]
TABLES_REQUESTS = [
    ([(":authority", "www.example.com")], 57),
    ([("cache-control", "no-cache"), (":authority", "www.example.com")], 110),
    ([("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")], 164),
]
DATE_1, DATE_2 = "Mon, 21 Oct 2013 20:13:21 GMT", "Mon, 21 Oct 2013 20:13:22 GMT"
LOCATION = "https://www.example.com"
COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
RESPONSES = [
    [(":status", "302"), ("cache-control", "private"), ("date", DATE_1), ("location", LOCATION)],
    [(":status", "307"), ("cache-control", "private"), ("date", DATE_1), ("location", LOCATION)],
    [(":status", "200"), ("cache-control", "private"), ("date", DATE_2), ("location", LOCATION),
     ("content-encoding", "gzip"), ("set-cookie", COOKIE)],
]
TABLES_RESPONSES = [
    ([("location", LOCATION), ("date", DATE_1), ("cache-control", "private"), (":status", "302")], 222),
    ([(":status", "307"), ("location", LOCATION), ("date", DATE_1), ("cache-control", "private")], 222),
    ([("set-cookie", COOKIE), ("content-encoding", "gzip"), ("date", DATE_2)], 215),
]

C3 = ["828684410f7777772e6578616d706c652e636f6d",
      "828684be58086e6f2d6361636865",
      "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"]
C4 = ["828684418cf1e3c2e5f23a6ba0ab90f4ff",
      "828684be5886a8eb10649cbf",
      "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"]
C5 = ["4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d54"
      "6e1768747470733a2f2f7777772e6578616d706c652e636f6d",
      "4803333037c1c0bf",
      "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d"
      "4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31"]
C6 = ["488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
      "4883640effc1c0bf",
      "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f"
      "3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"]


def test_c2_single_representations() -> None:
    """C.2.1 literal with indexing, C.2.2 without, C.2.3 never indexed, C.2.4 indexed."""
    decoder = Decoder()
    assert decoder.decode(bytes.fromhex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")) == [
        ("custom-key", "custom-header")]
    assert decoder.table == [("custom-key", "custom-header")] and decoder.size == 55
    for block, header in (("040c2f73616d706c652f70617468", (":path", "/sample/path")),
                          ("100870617373776f726406736563726574", ("password", "secret")),
                          ("82", (":method", "GET"))):
        fresh = Decoder()
        assert fresh.decode(bytes.fromhex(block)) == [header]
        assert fresh.table == [] and fresh.size == 0


@pytest.mark.parametrize("blocks", [C3, C4], ids=["C.3 plain", "C.4 Huffman"])
def test_c3_c4_requests_in_sequence(blocks: list[str]) -> None:
    decoder = Decoder()
    for block, want, (table, size) in zip(blocks, (REQUEST_1, REQUEST_2, REQUEST_3), TABLES_REQUESTS):
        assert decoder.decode(bytes.fromhex(block)) == want
        assert (decoder.table, decoder.size) == (table, size)


@pytest.mark.parametrize("blocks", [C5, C6], ids=["C.5 plain", "C.6 Huffman"])
def test_c5_c6_responses_evict_with_a_256_octet_table(blocks: list[str]) -> None:
    decoder = Decoder(max_size=256)
    for block, want, (table, size) in zip(blocks, RESPONSES, TABLES_RESPONSES):
        assert decoder.decode(bytes.fromhex(block)) == want
        assert (decoder.table, decoder.size) == (table, size)


def test_huffman_codes_rebuilt_from_lengths_match_appendix_b() -> None:
    codes = hpack.canonical_codes(hpack.HUFFMAN_LENGTHS)
    appendix_b = {0: 0x1FF8, 1: 0x7FFFD8, 10: 0x3FFFFFFC, 32: 0x14, 47: 0x18, 48: 0x0, 92: 0x7FFF0, 124: 0x7FC,
                  128: 0xFFFE6, 153: 0x1FFFDC, 199: 0x1FFFFEC, 208: 0x7FFF2, 241: 0x7FFFFE6, 249: 0xFFFFFFE,
                  255: 0x3FFFFEE, 256: 0x3FFFFFFF}
    assert {s: codes[s] for s in appendix_b} == appendix_b
    assert sum(2.0 ** -n for n in hpack.HUFFMAN_LENGTHS) == 1.0  # a complete prefix code


@pytest.mark.parametrize("data, reason", [
    (b"\xff\xff\xff\xfc", "EOS"),  # 30 ones: the EOS symbol itself
    (bytes([0b00000000]), "padding"),  # '0' (00000) then 000 padding: not ones
    (bytes([0b00011111, 0xFF]), "padding"),  # 'a' then 11 bits of ones: padding over 7 bits
])
def test_huffman_rejects_eos_and_bad_padding(data: bytes, reason: str) -> None:
    with pytest.raises(HpackError, match=reason):
        huffman_decode(data)


def test_bounds_on_hostile_blocks() -> None:
    with pytest.raises(HpackError, match="not in the table"):
        Decoder().decode(b"\xbe")  # index 62 with an empty dynamic table
    with pytest.raises(HpackError, match="over the cap"):
        Decoder().decode(b"\x3f\xe2\xff\x03")  # a size update to 65,537, one past the cap
    with pytest.raises(HpackError, match="2\\^28"):
        Decoder().decode(b"\xff" + b"\xff" * 10 + b"\x01")
    with pytest.raises(HpackError, match="fields"):
        Decoder().decode(b"\x82" * (hpack.MAX_HEADERS + 1))
    with pytest.raises(HpackError, match="header block"):
        Decoder().decode(b"\x82" * (hpack.MAX_BLOCK + 1))
    with pytest.raises(HpackError, match="past the end"):
        Decoder().decode(b"\x40\x0acustom")  # a literal name cut short


def test_an_entry_larger_than_the_table_empties_it() -> None:
    decoder = Decoder(max_size=64)
    decoder.decode(bytes.fromhex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"))  # 55 octets
    assert decoder.size == 55
    decoder.decode(b"\x40\x01k\x40" + b"v" * 64)  # 1 + 64 + 32 > 64
    assert decoder.table == [] and decoder.size == 0
