"""``gatewatch bench net``: gatewatch's IP path against scapy, on one capture, in one run.

The default workload is a pcap of N packets built from the corpus's real captures (every
Ethernet capture, replayed over and over). Each replay shifts the time forward and the IPv4
addresses to a fresh range, so replays are new flows with their own DNS, TLS, HTTP and QUIC
exchanges rather than repeats of the same flows.

  scapy_full_dissection   scapy.utils.PcapReader: every packet dissected into layers
  gatewatch_end_to_end    pcap replay -> headers -> flows -> DNS/TLS/HTTP/QUIC -> flow records
  dpkt_flows, suricata_single, gatewatch_flows: see contenders.py (the last two as processes,
  with wall time, CPU time and peak RSS side by side)

scapy (with its TLS, HTTP and QUIC layers loaded) is timed on the first ``scapy_packets``
packets of the same file, by default more than one whole replay of the corpus, so it sees the
same mix (a million packets would take it minutes).
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import native
from ..errors import SourceError
from ..net.capture import read_capture
from ..net.headers import Status, parse_headers
from ..net.packets import LINKTYPE_ETHERNET
from ..net.pcapwriter import write_pcap
from ..net.pipeline import NetPipeline
from . import contenders

NS = 1_000_000_000
REPLAY_GAP_NS = 3600 * NS  # between replays: every flow of the previous one has ended
MAX_GAP_NS = 600 * NS


def build_capture(sources: list[Path], packets: int, out: Path) -> Path:
    """Write ``packets`` packets to ``out``, cycling over the Ethernet packets of ``sources``."""
    base = _load_packets(sources)
    if not base:
        raise SourceError("no Ethernet packets in the benchmark sources")
    span = base[-1][0]

    def replays():
        emitted, replay = 0, 0
        while emitted < packets:
            shift = replay * (span + REPLAY_GAP_NS) + 1_700_000_000 * NS
            for ts, data, wirelen, l3 in base:
                if emitted == packets:
                    return
                yield ts + shift, _readdress(data, l3, replay), wirelen
                emitted += 1
            replay += 1

    out.parent.mkdir(parents=True, exist_ok=True)
    write_pcap(out, replays(), LINKTYPE_ETHERNET)
    return out


def _load_packets(sources: list[Path]) -> list[tuple[int, bytes, int, int]]:
    """(ts_ns, bytes, wire length, IPv4 header offset or -1) of every source in turn.

    Some corpus captures are merges spanning years; gaps between packets are capped at
    MAX_GAP_NS (still longer than any idle timeout) so the workload covers days, not decades.
    """
    rows = []
    now = 0
    for path in sources:
        previous = None
        for batch in read_capture(path):
            if (batch.linktype != LINKTYPE_ETHERNET).any():
                break
            h = parse_headers(batch)
            v4 = (h.version == 4) & (h.status != Status.NOT_IP)
            for i in range(len(batch)):
                ts = int(batch.ts_ns[i])
                now += 0 if previous is None else min(max(ts - previous, 0), MAX_GAP_NS)
                previous = ts
                l3 = int(h.l3[i] - batch.offset[i]) if v4[i] else -1
                rows.append((now, batch.packet(i), int(batch.wirelen[i]), l3))
        now += NS
    return rows


def _readdress(data: bytes, l3: int, replay: int) -> bytes:
    """Move both IPv4 addresses into a per-replay range (second octet), keeping the rest."""
    if l3 < 0 or replay == 0 or len(data) < l3 + 20:
        return data
    out = bytearray(data)
    for at in (l3 + 13, l3 + 17):
        out[at] = (out[at] + replay) & 0xFF
    return bytes(out)


def time_gatewatch(capture: Path) -> dict:
    start = time.perf_counter()
    pipeline = NetPipeline()
    packets = 0
    for batch in read_capture(capture):
        packets += len(batch)
        pipeline.process(batch)
    pipeline.finish()
    records = pipeline.drain()
    seconds = time.perf_counter() - start
    named = sum(1 for r in records if r["names"])
    return {"packets": packets, "seconds": seconds, "packets_per_s": packets / seconds,
            "flows": len(records), "named_flows": named}


def time_scapy(capture: Path, limit: int) -> dict:
    import scapy.layers.all  # noqa: F401 - registers the dissectors: Ethernet, IP, TCP, DNS, ...
    from scapy.main import load_layer
    from scapy.utils import PcapReader

    for layer in ("tls", "http", "quic"):  # not loaded by default; "full dissection" includes them
        load_layer(layer)

    start = time.perf_counter()
    packets = 0
    layers = 0
    with PcapReader(str(capture)) as reader:
        for packet in reader:
            layers += len(packet.layers())
            packets += 1
            if packets >= limit:
                break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "packets_per_s": packets / seconds, "layers": layers}


def run(capture: Path, scapy_packets: int, dpkt_packets: int = 200_000) -> dict:
    total = sum(len(b) for b in read_capture(capture))  # also warms the page cache for all
    gatewatch = time_gatewatch(capture)
    results = {"gatewatch_end_to_end": gatewatch}
    processes = {"suricata_single": contenders.suricata(capture), "gatewatch_flows": contenders.gatewatch_flows(capture)}
    if native.kernels is not None:  # the numpy reference beside the native core, in the same run
        with native.use_numpy():
            results["gatewatch_end_to_end@numpy"] = time_gatewatch(capture)
        processes["gatewatch_flows@numpy"] = contenders.gatewatch_flows(capture, numpy_core=True)
    results["scapy_full_dissection"] = scapy = time_scapy(capture, min(scapy_packets, total))
    results["dpkt_flows"] = dpkt = contenders.dpkt_flows(capture, min(dpkt_packets, total))
    ratios = {"gatewatch_vs_scapy": gatewatch["packets_per_s"] / scapy["packets_per_s"]}
    if "skipped" not in dpkt:
        ratios["gatewatch_vs_dpkt"] = gatewatch["packets_per_s"] / dpkt["packets_per_s"]
    suricata, flows = processes["suricata_single"], processes["gatewatch_flows"]
    if "skipped" not in suricata:
        ratios["wall_suricata_over_gatewatch"] = suricata["seconds"] / flows["seconds"]
        ratios["cpu_suricata_over_gatewatch"] = suricata["cpu_seconds"] / flows["cpu_seconds"]
        ratios["peak_rss_gatewatch_minus_suricata_mb"] = flows["peak_rss_mb"] - suricata["peak_rss_mb"]
    return {
        "packets": total,
        "capture": str(capture),
        "core": native.DESCRIPTION,
        "results": results,
        "processes": processes,
        "records_identical_to_numpy": _same_records(processes),
        "gatewatch_packets_per_s": gatewatch["packets_per_s"],
        "ratios": ratios,
        "targets": {"wall >= 2x suricata": ratios.get("wall_suricata_over_gatewatch", 0) >= 2,
                    "cpu >= 2x suricata": ratios.get("cpu_suricata_over_gatewatch", 0) >= 2,
                    "peak rss <= suricata + 50 MB": ratios.get("peak_rss_gatewatch_minus_suricata_mb", 1e9) <= 50}
        if "skipped" not in suricata else {"skipped": suricata["skipped"]},
    }


def _same_records(processes: dict) -> bool | None:
    """Did ``gatewatch flows`` write the same records on both cores (None: one core ran)?"""
    if "gatewatch_flows@numpy" not in processes:
        return None
    return processes["gatewatch_flows"]["records_sha256"] == processes["gatewatch_flows@numpy"]["records_sha256"]


def format_table(report: dict) -> str:
    lines = [f"capture: {report['capture']}   packets: {report['packets']}   core: {report['core']}", "",
             f"{'in this process':<26}{'packets':>10}{'packets/s':>14}{'seconds':>10}"]
    for name, result in report["results"].items():
        if "skipped" in result:
            lines.append(f"{name:<26}  skipped: {result['skipped']}")
        else:
            lines.append(f"{name:<26}{result['packets']:>10,}{result['packets_per_s']:>14,.0f}{result['seconds']:>10.3f}")
    lines += ["", f"{'whole capture, a process':<26}{'wall s':>10}{'CPU s':>10}{'peak RSS MB':>13}{'flows':>10}"]
    for name, result in report["processes"].items():
        if "skipped" in result:
            lines.append(f"{name:<26}  skipped: {result['skipped']}")
        else:
            lines.append(f"{name:<26}{result['seconds']:>10.2f}{result['cpu_seconds']:>10.2f}{result['peak_rss_mb']:>13.1f}"
                         f"{result['flows']:>10,}" + ("" if result["status"] == 0 else f"  exit {result['status']}"))
    g = report["results"]["gatewatch_end_to_end"]
    lines += ["", f"gatewatch flows: {g['flows']:,} ({g['named_flows']:,} with names)"]
    if report["records_identical_to_numpy"] is not None:
        lines.append("records of the native and numpy cores: "
                     + ("identical" if report["records_identical_to_numpy"] else "DIFFERENT"))
    lines += [f"{name}: {value:.2f}" for name, value in report["ratios"].items()]
    lines += [f"target {name}: {'met' if ok else 'NOT MET'}" for name, ok in report["targets"].items() if name != "skipped"]
    lines += [f"targets skipped: {report['targets']['skipped']}"] if "skipped" in report["targets"] else []
    return "\n".join(lines)


def corpus_sources(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "pcap").glob("*.pcap*"))

