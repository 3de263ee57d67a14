"""Shared by the net tests: packets built with scapy run through a NetPipeline in batches."""

from __future__ import annotations

from monitor.net.packets import LINKTYPE_ETHERNET, from_packets
from monitor.net.pipeline import NetConfig, NetPipeline

NS = 1_000_000_000


def run(packets, times=None, config: NetConfig | None = None, batch_size: int = 1000) -> tuple[list[dict], NetPipeline]:
    times = times if times is not None else [1_700_000_000 * NS + i * 1000 for i in range(len(packets))]
    pipeline = NetPipeline(config or NetConfig(keep_events=True))
    for start in range(0, len(packets), batch_size):
        chunk = packets[start : start + batch_size]
        pipeline.process(from_packets([bytes(p) for p in chunk], times[start : start + batch_size], LINKTYPE_ETHERNET))
    pipeline.finish()
    return pipeline.drain(), pipeline
