"""Writing classic pcap files (benchmark workloads, test fixtures, exports)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

PCAP_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")
MAGIC_NS = 0xA1B23C4D


def write_pcap(path: str | Path, packets: Iterable[tuple[int, bytes, int]], linktype: int, snaplen: int = 262_144) -> int:
    """Write (ts_ns, captured bytes, wire length) records with nanosecond timestamps."""
    count = 0
    with open(path, "wb") as out:
        out.write(PCAP_HEADER.pack(MAGIC_NS, 2, 4, 0, 0, snaplen, linktype))
        for ts_ns, data, wirelen in packets:
            seconds, nanos = divmod(ts_ns, 1_000_000_000)
            out.write(RECORD_HEADER.pack(seconds, nanos, len(data), max(wirelen, len(data))))
            out.write(data)
            count += 1
    return count
