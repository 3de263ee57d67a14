"""The apps kernels (src/gw_tls.c, gw_dns.c, gw_http.c) against the Python parsers they
replace: the same results, the same errors with the same messages, on real parser inputs from
the corpus and the seeds, the bytes of tests/net/app, and hypothesis-damaged messages; and the
whole pipeline (flow records, app counters, events) the same both ways on every capture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import native
from monitor.net.app import tls
from tests.builders import client_hello
from tests.conftest import PROJECT, corpus_files, ids

from .apps_cases import damaged, parser_inputs, run_pipeline

CAPTURES = corpus_files("pcap/*.pcap") + corpus_files("pcap/*.pcapng")
SEEDS = sorted((PROJECT / "seeds").glob("*/capture.pcap"))
EXAMPLES = settings(max_examples=200, deadline=None)


@pytest.fixture(scope="module")
def core():
    loaded = native.loaded_core()
    if loaded is None:
        if os.environ.get("GATEWATCH_NATIVE_REQUIRED") == "1":
            pytest.fail("the native core is not built, and GATEWATCH_NATIVE_REQUIRED=1")
        pytest.skip("the native core is not built (python setup.py build_ext --inplace)")
    return loaded


@pytest.fixture
def on(core, monkeypatch):
    """Kernels forced on, even in the GATEWATCH_NATIVE=0 pass."""
    monkeypatch.setattr(native, "kernels", core)
    return core


def outcome(function, data):
    """What a call gives: its result's repr, or its exception's type and message."""
    try:
        return "ok", repr(function(data))
    except Exception as error:  # noqa: BLE001 - the exception is the outcome compared
        return type(error).__name__, str(error)


def both_ways(function, data):
    native_side = outcome(function, data)
    with native.use_numpy():
        reference = outcome(function, data)
    return native_side, reference


def assert_same(function, data):
    native_side, reference = both_ways(function, data)
    assert native_side == reference, data


# ------------------------------------------------------------------ real inputs


@pytest.fixture(scope="module")
def seed_inputs(core):
    return parser_inputs(SEEDS)


@pytest.mark.parametrize("path", CAPTURES, ids=ids(CAPTURES))
def test_pipeline_is_the_same_both_ways_on_the_corpus(on, path: Path) -> None:
    native_side = run_pipeline(path)
    with native.use_numpy():
        reference = run_pipeline(path)
    assert native_side == reference


@pytest.mark.parametrize("path", SEEDS, ids=[p.parent.name for p in SEEDS])
def test_pipeline_is_the_same_both_ways_on_the_seeds(on, path: Path) -> None:
    native_side = run_pipeline(path)
    with native.use_numpy():
        reference = run_pipeline(path)
    assert native_side == reference


@pytest.mark.parametrize("path", CAPTURES, ids=ids(CAPTURES))
def test_parsers_agree_on_every_input_of_a_corpus_capture(on, path: Path) -> None:
    inputs = parser_inputs([path])
    for data in inputs["tls"]:
        assert_same(tls.client_hello_from_records, data)
        for cut in range(0, len(data), max(len(data) // 16, 1)):
            assert_same(tls.client_hello_from_records, data[:cut])


# ------------------------------------------------------------------ TLS

HELLOS = [client_hello(name) for name in ("uploads.example.org", "a", "x" * 300)]


def test_tls_hellos_of_the_net_tests(on) -> None:
    for hello in HELLOS:
        assert_same(tls.client_hello_from_records, hello)
        assert_same(tls.parse_client_hello, hello[5:])
        for cut in range(len(hello)):
            assert_same(tls.client_hello_from_records, hello[:cut])
    assert tls.client_hello_from_records(HELLOS[0]).sni == "uploads.example.org"


def _split_records(hello: bytes, sizes: list[int]) -> bytes:
    """The handshake of one record re-cut into records of the given sizes."""
    body, out = hello[5:], b""
    while body:
        size = sizes[len(out) % len(sizes)] or 1
        out += hello[:3] + min(size, len(body)).to_bytes(2, "big") + body[:size]
        body = body[size:]
    return out


def test_tls_too_many_alpn_names_reads_in_python(on) -> None:
    names = b"".join(b"\x01" + bytes([65 + i % 26]) for i in range(100))
    alpn = b"\x00\x10" + (len(names) + 2).to_bytes(2, "big") + len(names).to_bytes(2, "big") + names
    body = b"\x03\x03" + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00" + len(alpn).to_bytes(2, "big") + alpn
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    assert_same(tls.parse_client_hello, message)
    assert len(tls.parse_client_hello(message).alpn) == 100


tls_messages = st.sampled_from(HELLOS) | st.builds(_split_records, st.sampled_from(HELLOS), st.lists(st.integers(0, 400), min_size=1, max_size=4))


@EXAMPLES
@given(damaged(tls_messages))
def test_tls_damaged_hellos(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(tls.client_hello_from_records, data)
        assert_same(tls.parse_client_hello, data[5:])


@EXAMPLES
@given(st.binary(max_size=300))
def test_tls_garbage(core, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "kernels", core)
        assert_same(tls.client_hello_from_records, b"\x16\x03\x01" + data)
        assert_same(tls.client_hello_from_records, data)
        assert_same(tls.parse_client_hello, b"\x01" + data)
