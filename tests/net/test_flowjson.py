"""The flows command's JSON lines, written from a batch's columns (flowjson.py), are byte for
byte what ``json.dumps`` writes for the same records with the country fields appended: on
every corpus capture, and on generated batches whose text fields carry quotes, backslashes,
``%``, control characters and non-ASCII, with IPv6 addresses and counters past 64 bits."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.model import GeoIp
from monitor.net.capture import read_capture
from monitor.net.flowbatch import FIELDS, AddressTexts, FlowBatch
from monitor.net.flowjson import fields_text, flow_lines
from monitor.net.pipeline import NetPipeline
from monitor.policy.countries import Countries
from monitor.testing.scene import Capture

from ..conftest import corpus_files, ids

CAPTURES = corpus_files("pcap/*.pcap*")
COUNTRIES = Countries(GeoIp())


class Batches:
    """A sink that takes batches (as the flows command's writer does), keeping them."""

    def __init__(self) -> None:
        self.batches: list[FlowBatch] = []

    def __call__(self, record: dict) -> None:
        raise AssertionError("a batch sink is handed batches, not records")

    def batch(self, flows: FlowBatch) -> None:
        self.batches.append(flows)


def dumped(batch: FlowBatch, extras: list[dict]) -> list[str]:
    """The old path: each record as a dict, updated with its extra fields, through json.dumps."""
    out = []
    for record, extra in zip(batch.records(), extras, strict=True):
        record.update(extra)
        out.append(json.dumps(record) + "\n")
    return out


def places(batch: FlowBatch) -> list[dict]:
    return [COUNTRIES.place(address).as_dict() for address in batch.remotes()]


@pytest.mark.skipif(not CAPTURES, reason="needs the shared corpus (../shared/corpus/pcap), absent on this machine")
@pytest.mark.parametrize("capture", CAPTURES, ids=ids(CAPTURES))
def test_lines_match_json_dumps_on_the_corpus(capture: Path) -> None:
    sink = Batches()
    pipeline = NetPipeline(sink=sink)
    for batch in read_capture(capture):
        pipeline.process(batch)
    pipeline.finish()
    # A few captures (cut headers, lone fragments) have no flow: nothing to compare there.
    for batch in sink.batches:
        extras = places(batch)
        lines = flow_lines(batch, [fields_text(extra) for extra in extras])
        assert lines == dumped(batch, extras)


def test_a_plain_sink_gets_the_same_records(tmp_path: Path) -> None:
    """A sink that takes records (the daemon's) gets each batch's records one by one: names
    learned from DNS and from HTTP, TCP flags, UDP flows."""
    cap = Capture()
    cap.dns_lookup(1.7e9, "telemetry.example", ["203.0.113.10"])
    cap.tcp_session(1.7e9 + 1, "203.0.113.10", 80, 40000,
                    [("up", b"GET / HTTP/1.1\r\nHost: upload.example\r\n\r\n", 0.01)])
    cap.write(tmp_path / "flows.pcap")
    batches, records = Batches(), []
    for sink in (batches, records.append):
        pipeline = NetPipeline(sink=sink)
        for batch in read_capture(tmp_path / "flows.pcap"):
            pipeline.process(batch)
        pipeline.finish()
    assert records == [r for b in batches.batches for r in b.records()]
    web = next(r for r in records if r["proto"] == "tcp")
    assert {n["name"] for n in web["names"]} == {"telemetry.example", "upload.example"}
    assert (web["orig_h"], web["resp_h"], web["tcp_flags_orig"], web["tcp_flags_resp"]) == (
        "192.168.50.2", "203.0.113.10", "1b", "13")
    for batch in batches.batches:
        extras = places(batch)
        assert flow_lines(batch, [fields_text(extra) for extra in extras]) == dumped(batch, extras)


# ------------------------------------------------------------------ generated batches

hostile_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['"', "\\", "%", "%s", "%%d", "\x00", "\x1f\x7f", "\u2028", "é", "名前", "\ud7ff", "🚗", ""])
addresses = st.ip_addresses().map(str)
counters = st.integers(0, 2**64 + 5) | st.sampled_from([0, 1, 2**63 - 1, 2**64 - 1, 10**30])
times = st.integers(-(2**63), 2**63 - 1).map(lambda ns: ns / 1e9)
names = st.none() | st.lists(st.fixed_dictionaries({"name": hostile_text, "learned_from": st.lists(hostile_text, max_size=3)}),
                             min_size=1, max_size=3)
tunnels = st.none() | st.lists(st.fixed_dictionaries({"type": hostile_text, "vni": counters, "outer": hostile_text}),
                               min_size=1, max_size=2)
flags = st.none() | st.integers(0, 255).map(lambda f: f"{f:02x}")
community = st.none() | st.binary(min_size=20, max_size=20).map(lambda d: "1:" + base64.b64encode(d).decode())

COLUMN = {
    "ts": times, "flow_id": counters, "community_id": community, "proto": hostile_text, "orig_h": addresses,
    "orig_p": st.integers(0, 65535), "resp_h": addresses, "resp_p": st.integers(0, 65535),
    "vlan": st.none() | st.integers(1, 2**32 - 1), "direction": hostile_text, "orig_pkts": counters,
    "orig_ip_bytes": counters, "resp_pkts": counters, "resp_ip_bytes": counters, "orig_bytes": counters,
    "resp_bytes": counters, "first_seen": times, "last_seen": times, "duration": times,
    "app_proto": st.none() | hostile_text, "names": names,
}
ROW = st.fixed_dictionaries({name: COLUMN[name] for name in FIELDS[:-1]}
                            | {"tunnel": tunnels, "flags": st.tuples(flags, flags)})
EXTRA = st.fixed_dictionaries({"country": st.none() | hostile_text, "country_source": hostile_text},
                              optional={"asn": counters, "é\"%": hostile_text})


@st.composite
def batches(draw) -> tuple[FlowBatch, list[dict]]:
    pool = draw(st.lists(ROW, min_size=1, max_size=4))  # rows drawn from a small pool: constant columns happen
    rows = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=12))
    columns = {name: [row[name] for row in rows] for name in FIELDS[:-1]}
    orig = [row["flags"][0] for row in rows]
    resp = [r if o is not None else None for o, r in zip(orig, (row["flags"][1] or "00" for row in rows), strict=True)]
    batch = FlowBatch(draw(hostile_text), columns, [row["tunnel"] for row in rows], orig, resp)
    return batch, draw(st.lists(EXTRA, min_size=len(rows), max_size=len(rows)))


@settings(max_examples=400, deadline=None)
@given(batches())
def test_lines_match_json_dumps_on_hostile_records(generated: tuple[FlowBatch, list[dict]]) -> None:
    batch, extras = generated
    assert flow_lines(batch, [fields_text(extra) for extra in extras]) == dumped(batch, extras)
    assert flow_lines(batch) == dumped(batch, [{} for _ in extras])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.ip_addresses(), min_size=1, max_size=40))
def test_address_columns_are_inet_ntop_text(ips: list) -> None:
    version = np.array([ip.version for ip in ips], dtype=np.uint8)
    values = [int(ip) for ip in ips]
    hi = np.array([v >> 64 for v in values], dtype=np.uint64)
    lo = np.array([v & (2**64 - 1) for v in values], dtype=np.uint64)
    expected = [socket.inet_ntop(socket.AF_INET if ip.version == 4 else socket.AF_INET6, ip.packed) for ip in ips]
    assert AddressTexts().column(version, hi, lo) == expected


def test_ipv4_edges() -> None:
    edges = ["0.0.0.0", "0.0.0.9", "0.0.10.0", "9.99.100.255", "255.255.255.255"]
    lo = np.array([int(ipaddress.IPv4Address(a)) for a in edges], dtype=np.uint64)
    assert AddressTexts().column(np.full(len(edges), 4, np.uint8), np.zeros(len(edges), np.uint64), lo) == edges
