"""What an evader can send at the protocol layer (issue 25), each as real bytes in a pcap run
through ``gatewatch flows`` or ``gatewatch replay``: the name a plain connection shows must still
be learned, and how.

Names from HTTP/2's ``:authority`` are learned as ``http_host``: :authority is HTTP/2's Host (RFC
9113 8.3.1), so a policy that trusts one trusts the other; the flow's ``app_proto`` ("http2")
says which protocol carried it.
"""

from __future__ import annotations

import csv
import json
import struct

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from monitor.net.app import hpack
from monitor.net.capture import read_capture
from monitor.net.pipeline import NetConfig, NetPipeline

from ..builders import run, write_pcap
from ..conftest import corpus

T0 = 1_700_000_000.0
CAR, SERVER = "192.168.7.2", "203.0.113.50"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


# ---------------------------------------------------------------- builders


def tcp_session(turns: list[tuple[bool, bytes]], sport: int = 50000, dport: int = 80, t0: float = T0,
                client: str = CAR, server: str = SERVER) -> list:
    """A TCP connection with its handshake, then each (from_client, payload) as one segment."""
    c2s = Ether() / IP(src=client, dst=server)
    s2c = Ether() / IP(src=server, dst=client)
    seq, ack = 1000, 5000
    packets = [c2s / TCP(sport=sport, dport=dport, flags="S", seq=seq - 1),
               s2c / TCP(sport=dport, dport=sport, flags="SA", seq=ack - 1, ack=seq),
               c2s / TCP(sport=sport, dport=dport, flags="A", seq=seq, ack=ack)]
    for from_client, payload in turns:
        if from_client:
            packets.append(c2s / TCP(sport=sport, dport=dport, flags="PA", seq=seq, ack=ack) / payload)
            seq += len(payload)
        else:
            packets.append(s2c / TCP(sport=dport, dport=sport, flags="PA", seq=ack, ack=seq) / payload)
            ack += len(payload)
    for i, p in enumerate(packets):
        p.time = t0 + i * 0.001
    return packets


def flows_of(tmp_path, packets: list, name: str = "capture.pcap") -> list[dict]:
    path = write_pcap(tmp_path / name, packets)
    code, out, err = run("flows", str(path), "--vehicle-net", "192.168.0.0/16")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def names_of(records: list[dict], proto: str = "tcp") -> dict[str, list[str]]:
    named = {}
    for record in records:
        if record["proto"] == proto:
            named.update({n["name"]: n["learned_from"] for n in record.get("names", [])})
    return named


def h2_frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def huffman(text: bytes) -> bytes:
    """RFC 7541 5.2 Huffman coding (codes from hpack's table, which test_hpack checks)."""
    codes = hpack.canonical_codes(hpack.HUFFMAN_LENGTHS)
    bits = "".join(format(codes[b], f"0{hpack.HUFFMAN_LENGTHS[b]}b") for b in text)
    bits += "1" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def authority_block(authority: str, coded: bool = True) -> bytes:
    """GET https://authority/ as HPACK: indexed :method/:scheme/:path, literal :authority."""
    value = authority.encode()
    literal = bytes([0x80 | len(huffman(value))]) + huffman(value) if coded else bytes([len(value)]) + value
    return b"\x82\x87\x84\x41" + literal


SETTINGS = h2_frame(0x4, 0, 0, struct.pack("!HI", 0x3, 100) + struct.pack("!HI", 0x4, 65535))
WINDOW_UPDATE = h2_frame(0x8, 0, 0, struct.pack("!I", 1 << 20))


def chlo(tags: dict[bytes, bytes]) -> bytes:
    """A gQUIC CHLO: tag count, then (tag, end offset) pairs in tag order, then the values."""
    ordered = sorted(tags.items(), key=lambda item: struct.unpack("<I", item[0])[0])
    table, values, end = b"", b"", 0
    for tag, value in ordered:
        end += len(value)
        table += tag + struct.pack("<I", end)
        values += value
    return b"CHLO" + struct.pack("<HH", len(ordered), 0) + table + values


def gquic_hello(version: bytes, sni: str, uaid: str) -> bytes:
    """A client's first gQUIC packet carrying its CHLO on stream 1, padded to 1350 bytes."""
    message = chlo({b"SNI\x00": sni.encode(), b"UAID": uaid.encode(), b"VER\x00": version, b"PAD\x00": b"-" * 40})
    cid, hash12 = bytes.fromhex("8394c8f03e515708"), bytes(range(12))
    stream_frame = bytes([0xA0, 0x01]) + len(message).to_bytes(2, "big") + message  # big-endian from Q039
    if version >= b"Q046":  # IETF-like long header: Initial, 4-byte packet number, DCID 8 / SCID 0
        header = b"\xc3" + version + b"\x50" + cid + b"\x00\x00\x00\x01"
    else:  # public header: version flag, 8-byte connection id, 1-byte packet number
        header = b"\x09" + cid + version + b"\x01"
    packet = header + hash12 + stream_frame
    return packet + bytes(1350 - len(packet))


def udp(payload: bytes, sport: int = 51000, dport: int = 443, t: float = T0) -> object:
    p = Ether() / IP(src=CAR, dst=SERVER) / UDP(sport=sport, dport=dport) / payload
    p.time = t
    return p


# ---------------------------------------------------------------- Google QUIC


@pytest.mark.parametrize("version", [b"Q046", b"Q043"])
def test_gquic_hello_names_the_server_and_keeps_the_user_agent(tmp_path, version: bytes) -> None:
    records = flows_of(tmp_path, [udp(gquic_hello(version, "gq.example.com", "Chrome/74.0 Linux x86_64"))])
    (record,) = records
    assert record["app_proto"] == "gquic"
    assert record["names"] == [{"name": "gq.example.com", "learned_from": ["quic_sni"]}]
    pipeline = NetPipeline(NetConfig(keep_events=True))
    for batch in read_capture(tmp_path / "capture.pcap"):
        pipeline.process(batch)
    (event,) = [e for e in pipeline.inspector.events if e.kind == "gquic_client_hello"]
    assert (event.detail.version, event.detail.user_agent) == (version.decode(), "Chrome/74.0 Linux x86_64")


def test_gquic_q050_is_counted_as_gquic_but_not_read(tmp_path) -> None:
    """Q050 encrypts its Initial: the flow is gQUIC, with no name (said in gquic.py)."""
    hello = bytearray(gquic_hello(b"Q046", "hidden.example.com", "x"))
    hello[1:5] = b"Q050"
    (record,) = flows_of(tmp_path, [udp(bytes(hello))])
    assert record["app_proto"] == "gquic" and record.get("names", []) == []


GQUIC_CORPUS = {  # capture -> (gQUIC versions in it, the SNIs of its CHLOs)
    "ndpi_http_ipv6.pcap": ({"Q025"}, {"www.google.it"}),
    "ndpi_youtube_quic.pcap": ({"Q035"}, {"pagead2.googlesyndication.com", "yt3.ggpht.com", "googleads.g.doubleclick.net"}),
    "ndpi_youtubeupload.pcapng": ({"Q039"}, {"upload.youtube.com"}),
}


@pytest.mark.corpus
@pytest.mark.parametrize("capture", sorted(GQUIC_CORPUS))
def test_corpus_gquic_flows_are_the_ones_tshark_calls_gquic_and_are_named(capture: str) -> None:
    path = corpus("pcap", capture)
    with path.with_name(path.name.rsplit(".", 1)[0] + ".tshark.tsv").open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["frame.protocols"].endswith(":gquic")]
    tshark_clients = {(r["ip.src"] or r["ipv6.src"], int(r["udp.srcport"])) for r in rows if r["udp.dstport"] == "443"}
    pipeline = NetPipeline(NetConfig(keep_events=True))
    for batch in read_capture(path):
        pipeline.process(batch)
    pipeline.finish()
    records = [r for r in pipeline.drain() if r.get("app_proto") == "gquic"]
    assert {(r["orig_h"], r["orig_p"]) for r in records} == tshark_clients
    hellos = [e.detail for e in pipeline.inspector.events if e.kind == "gquic_client_hello"]
    versions, snis = GQUIC_CORPUS[capture]
    assert {h.version for h in hellos} == versions and all(h.user_agent for h in hellos)
    assert {n["name"] for r in records for n in r["names"]} == snis


# ---------------------------------------------------------------- HTTP/2 in clear text


def test_h2_prior_knowledge_authority_across_segments_and_continuation(tmp_path) -> None:
    block = authority_block("h2.example.com")
    headers = h2_frame(0x1, 0x1, 1, block[:3]) + h2_frame(0x9, 0x4, 1, block[3:])  # HEADERS, then CONTINUATION
    packets = tcp_session([(True, PREFACE[:10]), (True, PREFACE[10:] + SETTINGS + WINDOW_UPDATE),
                           (False, SETTINGS), (True, headers)])
    (record,) = flows_of(tmp_path, packets)
    assert record["app_proto"] == "http2"
    assert record["names"] == [{"name": "h2.example.com", "learned_from": ["http_host"]}]


def test_h2_padded_priority_headers_with_a_plain_literal_and_a_port(tmp_path) -> None:
    block = authority_block("plain.example.com:8080", coded=False)
    padded = bytes([4]) + bytes(5) + block + bytes(4)  # pad length, priority fields, block, padding
    packets = tcp_session([(True, PREFACE + SETTINGS + h2_frame(0x1, 0x4 | 0x8 | 0x20, 1, padded))])
    (record,) = flows_of(tmp_path, packets)
    assert record["names"] == [{"name": "plain.example.com", "learned_from": ["http_host"]}]


def test_h2c_upgrade_learns_the_host_then_the_authority(tmp_path) -> None:
    upgrade = (b"GET / HTTP/1.1\r\nHost: up.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    switching = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    packets = tcp_session([(True, upgrade), (False, switching), (True, PREFACE + SETTINGS),
                           (True, h2_frame(0x1, 0x5, 3, authority_block("next.example.com")))])
    (record,) = flows_of(tmp_path, packets)
    assert names_of([record]) == {"up.example.com": ["http_host"], "next.example.com": ["http_host"]}


def test_garbage_after_the_preface_is_counted_not_fatal(tmp_path) -> None:
    packets = tcp_session([(True, PREFACE + h2_frame(0x1, 0x4, 1, b"\xbe\xbf"))])  # indexes into an empty table
    pipeline = NetPipeline(NetConfig())
    for batch in read_capture(write_pcap(tmp_path / "bad.pcap", packets)):
        pipeline.process(batch)
    pipeline.finish()
    assert pipeline.inspector.stats.counts.get("h2_malformed") == 1


# ---------------------------------------------------------------- HTTP/1


def test_connect_without_host_names_the_authority(tmp_path) -> None:
    packets = tcp_session([(True, b"CONNECT tunnel.example.com:443 HTTP/1.1\r\nUser-Agent: x\r\n\r\n")], dport=3128)
    assert names_of(flows_of(tmp_path, packets)) == {"tunnel.example.com": ["http_host"]}


@pytest.mark.parametrize("method", [b"M-SEARCH", b"NOTIFY", b"SUBSCRIBE", b"PROPFIND", b"X-CUSTOM.V2", b"brew"])
def test_any_method_token_is_a_request(tmp_path, method: bytes) -> None:
    request = method + b" /upnp/event HTTP/1.1\r\nHost: device.example.com:49152\r\nNT: upnp:event\r\n\r\n"
    packets = tcp_session([(True, request)], dport=49152)
    assert names_of(flows_of(tmp_path, packets)) == {"device.example.com": ["http_host"]}


def test_a_word_and_a_space_is_not_http(tmp_path) -> None:
    """A text protocol (here SMTP's EHLO) is not taken for HTTP: no version at the end of the line."""
    packets = tcp_session([(True, b"EHLO mail.example.com\r\n"), (True, b"MAIL FROM:<a@example.com>\r\n")], dport=25)
    (record,) = flows_of(tmp_path, packets)
    assert record.get("app_proto") != "http" and record.get("names", []) == []


def test_blank_lines_between_pipelined_requests_keep_every_host(tmp_path) -> None:
    first = b"GET /a HTTP/1.1\r\nHost: one.example.com\r\n\r\n"
    second = b"GET /b HTTP/1.1\r\nHost: two.example.com\r\n\r\n"
    third = b"POST /c HTTP/1.1\r\nHost: three.example.com\r\nContent-Length: 2\r\n\r\nok"
    fourth = b"NOTIFY /d HTTP/1.1\r\nHost: four.example.com\r\n\r\n"
    packets = tcp_session([(True, first + b"\r\n" + second), (True, b"\r\n\r\n" + third), (True, b"\n" + fourth)])
    assert set(names_of(flows_of(tmp_path, packets))) == {"one.example.com", "two.example.com", "three.example.com",
                                                          "four.example.com"}


# ---------------------------------------------------------------- DNS


RESOLVER = "192.168.7.1"


def dns_packet(payload: bytes, query: bool, t: float, sport: int = 41000) -> object:
    src, dst, ports = (CAR, RESOLVER, (sport, 53)) if query else (RESOLVER, CAR, (53, sport))
    p = Ether() / IP(src=src, dst=dst) / UDP(sport=ports[0], dport=ports[1]) / payload
    p.time = t
    return p


def forward_pointer_answer(ident: int) -> bytes:
    """A response whose question name points *forward*, to the answer's owner name."""
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0)
    question = b"\xc0\x12" + struct.pack("!HH", 1, 1)  # offset 18 = 12 + 6: the answer's name
    owner = b"\x03fwd\x07example\x03com\x00"
    answer = owner + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([203, 0, 113, 77])
    return header + question + answer


def test_forward_compression_pointer_is_read_and_names_later_flows(tmp_path) -> None:
    query = bytes(DNS(id=0x4242, rd=1, qd=DNSQR(qname="fwd.example.com")))
    packets = [dns_packet(query, True, T0), dns_packet(forward_pointer_answer(0x4242), False, T0 + 0.01)]
    packets += tcp_session([(True, b"\x00" * 40)], dport=443, t0=T0 + 1, server="203.0.113.77")
    records = flows_of(tmp_path, packets)
    assert names_of(records) == {"fwd.example.com": ["dns"]}
    out = tmp_path / "out"
    code, _stdout, err = run("replay", str(tmp_path / "capture.pcap"), "-o", str(out), "--vehicle-id", "v1")
    assert code == 0, err
    (line,) = [json.loads(x) for x in (out / "dns-v1.jsonl").read_text().splitlines()]
    assert line["query"] == "fwd.example.com" and line["answered"] and line["answers"][0]["data"] == "203.0.113.77"


def test_a_pointer_loop_is_a_counted_malformed_message(tmp_path) -> None:
    looping = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)  # points at itself
    chain = struct.pack("!HHHHHH", 2, 0x0100, 1, 0, 0, 0) + b"\xc0\x0e\xc0\x0c" + struct.pack("!HH", 1, 1)  # two-step loop
    pipeline = NetPipeline(NetConfig())
    for batch in read_capture(write_pcap(tmp_path / "loop.pcap", [dns_packet(looping, True, T0), dns_packet(chain, True, T0 + 1)])):
        pipeline.process(batch)
    assert pipeline.inspector.stats.counts.get("dns_malformed") == 2


def test_queries_reusing_one_transaction_id_are_each_logged(tmp_path) -> None:
    """1,200 queries for different names on one flow, all with id 7, sent before any answer (the
    capture that lost 1,199 of them); one query repeated is a retransmission, counted."""
    from scapy.layers.dns import DNSRR

    names = [f"n{i}.example.com" for i in range(1200)]
    packets = [dns_packet(bytes(DNS(id=7, rd=1, qd=DNSQR(qname=n))), True, T0 + i * 1e-4) for i, n in enumerate(names)]
    packets.append(dns_packet(bytes(DNS(id=7, rd=1, qd=DNSQR(qname=names[0]))), True, T0 + 0.2))  # retransmitted
    for i, n in enumerate(reversed(names)):  # answers in the other order
        answer = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname=n), an=DNSRR(rrname=n, ttl=60, rdata=f"203.0.113.{i % 250}"))
        packets.append(dns_packet(bytes(answer), False, T0 + 1 + i * 1e-4))
    out = tmp_path / "out"
    code, stdout, err = run("replay", str(write_pcap(tmp_path / "ids.pcap", packets)), "-o", str(out), "--vehicle-id", "v1")
    assert code == 0, err
    lines = [json.loads(x) for x in (out / "dns-v1.jsonl").read_text().splitlines()]
    assert len(lines) == 1200 and {line["query"] for line in lines} == set(names)
    assert all(line["answered"] and line["trans_id"] == 7 for line in lines)
    assert lines[0]["query"] == names[-1] and lines[0]["answers"][0]["name"] == names[-1]  # each matched to its own
    retransmitted = [line for line in lines if line.get("retransmissions")]
    assert [(line["query"], line["retransmissions"]) for line in retransmitted] == [(names[0], 1)]
    counts = json.loads((out / "stats.json").read_text())["alert_log"]["dns"]
    assert (counts["queries"], counts["answered"], counts["retransmitted"], counts["unanswered"]) == (1201, 1200, 1, 0)
