"""Native L2-L4 header parsing against the numpy reference: identical Headers columns (dtype,
values), tunnel columns and statuses, with and without strict_length, on the corpus, the seeds,
every tunnel the tunnel tests build, and hypothesis-made frames: random nestings, every link
type, bytes flipped anywhere, cut captures, lying wire lengths, bad IHL and total lengths,
extension-header chains that loop or run long."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.net.capture import read_capture
from monitor.net.headers import parse_headers
from monitor.net.packets import PacketBatch, from_packets
from tests.conftest import PROJECT, corpus_files
from tests.net.test_tunnels import LAYERS, WRAPS, nest, session

from .packets_support import assert_same_headers, both

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/*.pcap*"))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]  # 147: a link type not parsed


def _same(monkeypatch, batch: PacketBatch) -> None:
    for strict in (False, True):
        assert_same_headers(*both(monkeypatch, parse_headers, batch, strict))


@pytest.mark.parametrize("path", CAPTURES + SEEDS, ids=lambda p: p.name)
def test_real_captures_parse_the_same(monkeypatch, path) -> None:
    with native.use_numpy():
        batches = list(read_capture(path))
    for batch in batches:
        _same(monkeypatch, batch)


@pytest.mark.parametrize("name", sorted(WRAPS))
def test_every_tunnel_and_link_stack_parses_the_same(monkeypatch, name) -> None:
    wrap, _expected = WRAPS[name]
    frames = [bytes(wrap(packet, up)) for up, packet in session() + session(v6=True, ext_headers=2)]
    _same(monkeypatch, from_packets(frames, list(range(len(frames))), 1))


def _batch(frames: list[bytes], linktypes: list[int], wire_delta: list[int]) -> PacketBatch:
    batch = from_packets(frames, list(range(len(frames))), 1)
    wirelen = np.maximum(batch.caplen.astype(np.int64) + np.array(wire_delta[: len(frames)] + [0] * len(frames))[: len(frames)], 0)
    return PacketBatch(batch.data, batch.offset, batch.caplen, wirelen.astype(np.int32), batch.ts_ns,
                       np.array([linktypes[i % len(linktypes)] for i in range(len(frames))], np.uint16),
                       batch.interface, batch.interface_names)


@SETTINGS
@given(kinds=st.lists(st.sampled_from(LAYERS), max_size=11), cut=st.integers(0, 400), seed=st.integers(0, 2**32 - 1),
       linktypes=st.lists(st.sampled_from(LINKTYPES), min_size=1, max_size=4),
       wire_delta=st.lists(st.integers(-100, 100), max_size=6))
def test_random_nestings_flipped_and_cut_parse_the_same(monkeypatch, kinds, cut, seed, linktypes, wire_delta) -> None:
    rng = random.Random(seed)
    up, packet = session(v6=rng.random() < 0.3, ext_headers=rng.randrange(3))[rng.randrange(4)]
    frame, _depth = nest(kinds, packet)
    flipped = bytearray(frame)
    for _ in range(rng.randrange(1, 8)):  # bytes changed anywhere, mostly in the headers
        flipped[min(int(rng.expovariate(1 / 60)), len(flipped) - 1)] = rng.randrange(256)
    frames = [frame, bytes(flipped), frame[: max(len(frame) - cut, 0)], bytes(flipped[: rng.randrange(len(flipped) + 1)])]
    _same(monkeypatch, _batch(frames, [1] + linktypes, wire_delta))


def _ipv4(ihl_words: int, total: int, proto: int, flags_frag: int, body: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl_words, 0, total, 7, flags_frag, 64, proto, 0, b"\n\0\0\1", b"\n\0\0\2")
    return header + body


def _ipv6(payload_len: int, chain: list[tuple[int, int]], last: int, body: bytes) -> bytes:
    """IPv6 with extension headers given as (its next-header value, its length byte)."""
    first = chain[0][0] if chain else last
    out = struct.pack("!IHBB16s16s", 0x60000000, payload_len, first, 64, b"\x20" * 16, b"\x30" * 16)
    for k, (_kind, length) in enumerate(chain):
        following = chain[k + 1][0] if k + 1 < len(chain) else last
        out += bytes([following, length]) + bytes(6)
    return out + body


ip_header = st.one_of(
    st.builds(_ipv4, st.integers(0, 15), st.integers(0, 200), st.sampled_from([1, 4, 6, 17, 41, 47, 58, 99]),
              st.sampled_from([0, 0x2000, 0x0001, 0x4000, 0x3FFF]), st.binary(max_size=80)),
    st.builds(_ipv6, st.integers(0, 200),
              st.lists(st.tuples(st.sampled_from([0, 43, 44, 51, 60, 135, 139, 140, 59]), st.integers(0, 255)), max_size=20),
              st.sampled_from([0, 6, 17, 44, 58, 60, 59]), st.binary(max_size=80)),
)


@SETTINGS
@given(headers=st.lists(ip_header, min_size=1, max_size=6), linktypes=st.lists(st.sampled_from(LINKTYPES), min_size=1, max_size=3),
       wire_delta=st.lists(st.integers(-60, 60), max_size=6), garbage=st.binary(max_size=64))
def test_hostile_ip_headers_parse_the_same(monkeypatch, headers, linktypes, wire_delta, garbage) -> None:
    """Bad IHL and total lengths, fragments, ext-header chains that loop or run long, garbage."""
    frames = [b"\x02" * 12 + (b"\x08\x00" if h[0] >> 4 == 4 else b"\x86\xdd") + h for h in headers] + [garbage, b""]
    _same(monkeypatch, _batch(frames, [1, 101, 228, 229] + linktypes, wire_delta))


def _udp_over_ipv4(sport: int, dport: int, body: bytes, length_delta: int) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, max(0, min(0xFFFF, 8 + len(body) + length_delta)), 0) + body
    return _ipv4(5, min(0xFFFF, 20 + len(udp)), 17, 0, udp)


@st.composite
def gtp_headers(draw) -> bytes:
    """A GTP-U header whose extension chain has random lengths (zero included) and ends anywhere."""
    flags = draw(st.sampled_from([0x34, 0x36, 0x37, 0x34, 0x30, 0x32, 0x20, 0x50]))
    exts = draw(st.lists(st.tuples(st.integers(0, 4), st.sampled_from([0x85, 0xC0, 0])), max_size=18))
    if exts and draw(st.booleans()):  # mostly a well-formed chain: the last one says "no more"
        exts[-1] = (exts[-1][0] or 1, 0)
    chain = b"".join(bytes([words]) + bytes(max(words * 4 - 2, 0)) + bytes([nxt]) for words, nxt in exts)
    first_next = 0x85 if exts else draw(st.sampled_from([0, 0x85]))
    optional = struct.pack("!HBB", 0, 0, first_next) if flags & 0x07 else b""
    body = optional + chain + draw(st.sampled_from([bytes(_ipv4(5, 20, 6, 0, b"")), b"\x60" + bytes(39), b""]))
    length = len(body) + draw(st.sampled_from([0, 0, 1, -1]))
    return struct.pack("!BBHI", flags, draw(st.sampled_from([0xFF, 0xFF, 1])), max(0, length), draw(st.integers(0, 2**32 - 1))) + body


@st.composite
def gre_headers(draw) -> bytes:
    flags = draw(st.sampled_from([0, 0x8000, 0x2000, 0x1000, 0xB000, 0x4000, 0x0001]))
    ptype = draw(st.sampled_from([0x0800, 0x86DD, 0x6558, 0x8847, 0x88BE, 0x22EB, 0x1234]))
    words = bin(flags & 0xB000).count("1")
    erspan = bytes([draw(st.sampled_from([0x10, 0x20, 0x00])), 0, draw(st.integers(0, 255)), draw(st.integers(0, 255))])
    erspan += bytes(6) + bytes([draw(st.sampled_from([0, 8, 4])), draw(st.integers(0, 1))]) + bytes(8)
    return struct.pack("!HH", flags, ptype) + draw(st.binary(min_size=4 * words, max_size=4 * words)) + erspan + draw(st.binary(max_size=60))


@pytest.mark.parametrize("kind", ["gtp", "gre", "vxlan", "geneve"])
@settings(SETTINGS, max_examples=100)
@given(gtp=gtp_headers(), gre=gre_headers(),
       noise=st.binary(min_size=8, max_size=90), sport=st.sampled_from([2152, 40000]),
       length_delta=st.sampled_from([0, 0, 0, 0, -1, 1, -9, 9]))
def test_hostile_tunnel_headers_parse_the_same(monkeypatch, kind, gtp, gre, noise, sport, length_delta) -> None:
    if kind == "gtp":
        ip = _udp_over_ipv4(sport, draw_port(sport), gtp, length_delta)
    elif kind == "gre":
        ip = _ipv4(5, min(0xFFFF, 20 + len(gre) + length_delta), 47, 0, gre)
    else:
        ip = _udp_over_ipv4(sport, 4789 if kind == "vxlan" else 6081, noise, length_delta)
    frame = b"\x02" * 12 + b"\x08\x00" + ip
    _same(monkeypatch, _batch([frame, frame[:-5]], [1], [0, 5]))


def draw_port(sport: int) -> int:
    return 2152 if sport != 2152 else 9999


@SETTINGS
@given(raw=st.binary(min_size=1, max_size=400), picks=st.lists(st.tuples(st.integers(0, 399), st.integers(-5, 500),
                                                                      st.integers(-5, 600), st.sampled_from(LINKTYPES)),
                                                            min_size=1, max_size=10))
def test_unpadded_buffers_and_lengths_past_them_parse_the_same(monkeypatch, raw, picks) -> None:
    """A buffer without the PAD zeros, packets overlapping it and running past its end: both
    readers repeat the buffer's last byte there."""
    offset, caplen, wirelen, linktype = (np.array(column) for column in zip(*picks))
    batch = PacketBatch(np.frombuffer(raw, np.uint8), (offset % len(raw)).astype(np.int64), caplen.astype(np.int32),
                        wirelen.astype(np.int32), np.zeros(len(picks), np.int64), linktype.astype(np.uint16),
                        np.zeros(len(picks), np.uint16), ("",))
    _same(monkeypatch, batch)


@pytest.mark.parametrize("rows", [slice(None, None, 3), slice(5, None), np.array([9, 2, 2, 0])], ids=["step", "tail", "picked"])
def test_taken_rows_parse_the_same(monkeypatch, rows) -> None:
    """take() gives strided or reordered columns over the same buffer."""
    frames = [bytes(wrap(packet, up)) for wrap, _ in WRAPS.values() for up, packet in session()[:1]]
    _same(monkeypatch, from_packets(frames, list(range(len(frames))), 1).take(rows))
