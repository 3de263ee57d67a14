"""Inputs for the apps equivalence tests: real parser inputs gathered from captures (every
byte string the inspector hands a parser), and hypothesis strategies that damage messages
the way a hostile sender would (cuts, length fields past the end, huge counts, zero lengths)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from monitor.net.app import dns, http, tls
from monitor.net.capture import read_capture
from monitor.net.pipeline import NetConfig, NetPipeline

PARSERS = {"tls": (tls, "client_hello_from_records"), "dns": (dns, "parse_message"), "http": (http, "parse_requests")}


def parser_inputs(paths: list[Path]) -> dict[str, list[bytes]]:
    """Each parser's inputs while the pipeline reads ``paths`` (deduplicated, in order)."""
    seen: dict[str, dict[bytes, None]] = {name: {} for name in PARSERS}
    originals = {name: getattr(module, attr) for name, (module, attr) in PARSERS.items()}

    def recording(name):
        def call(data):
            seen[name][bytes(data)] = None
            return originals[name](data)
        return call

    try:
        for name, (module, attr) in PARSERS.items():
            setattr(module, attr, recording(name))
        for path in paths:
            run_pipeline(path)
    finally:
        for name, (module, attr) in PARSERS.items():
            setattr(module, attr, originals[name])
    return {name: list(found) for name, found in seen.items()}


def run_pipeline(path: Path) -> tuple[list[dict], dict, list]:
    """(flow records, summary, app events as (kind, slot, ts, repr of detail)) of one capture."""
    pipeline = NetPipeline(NetConfig(keep_events=True))
    for batch in read_capture(path):
        pipeline.process(batch)
    pipeline.finish()
    events = [(e.kind, e.slot, e.ts_ns, repr(e.detail)) for e in pipeline.inspector.events]
    return pipeline.drain(), pipeline.summary(), events


@st.composite
def damaged(draw, messages: st.SearchStrategy[bytes]) -> bytes:
    """A message with a few of: a cut, bytes overwritten by extreme values, bytes inserted or
    deleted (which shifts every length field after them)."""
    data = bytearray(draw(messages))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["cut", "set", "insert", "delete"]))
        at = draw(st.integers(0, len(data)))
        if action == "cut":
            del data[at:]
        elif action == "set" and at < len(data):
            value = draw(st.sampled_from([0, 1, 0x3F, 0x7F, 0x80, 0xC0, 0xC0 | (at >> 8 & 0x3F), 0xFF]))
            data[at] = value
            if draw(st.booleans()) and at + 1 < len(data):
                data[at + 1] = draw(st.sampled_from([0, 0xFF, at & 0xFF, 12]))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


