"""``make score`` on the shared corpus: the telematics vectors (recall per protocol,
positions within 1e-5 degrees) and the benign captures (findings per hour of real elapsed capture
time, each listed with what it saw; none excused)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from monitor.detect.wire.scan import scan_payload
from monitor.pipeline import Monitor, Sinks, load_config, replay

TOLERANCE_DEG = 1e-5


def protocols(vectors: Path) -> dict[str, list[dict]]:
    return json.loads(vectors.read_text())["protocols"]


def wire_bytes(vector: dict) -> bytes:
    """The message as a device sends it: hex or text as is; HTTP vectors as a request."""
    if "hex" in vector:
        try:
            return bytes.fromhex(vector["hex"])
        except ValueError:  # one JT/T 808 vendor variant is ASCII in parentheses
            return vector["hex"].encode("latin-1")
    if "text" in vector:
        return vector["text"].encode("latin-1")
    http = vector["http"]
    pairs = http.get("headers", [])
    head = "".join(f"{pairs[i]}: {pairs[i + 1]}\r\n" for i in range(0, len(pairs), 2))
    body = http.get("body", "").encode("latin-1")
    start = f"{http['method']} {http['url']} HTTP/1.1\r\nHost: tracker.example\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    return start.encode("latin-1") + body


def truth(vector: dict) -> tuple[float, float]:
    """The position the source asserts, else the one decoded from the published layout."""
    if "expected_lat" in vector:
        return vector["expected_lat"], vector["expected_lon"]
    return vector["reference_lat"], vector["reference_lon"]


def found_at(matches, lat: float, lon: float) -> bool:
    return any(m.category == "geolocation" and any(abs(p.lat - lat) <= TOLERANCE_DEG and abs(p.lon - lon) <= TOLERANCE_DEG
                                                   for p in m.positions) for m in matches)


def vector_recall(vectors: Path) -> dict:
    """Per protocol: geolocation vectors found at their position, and JT/T 1078 packets found as video."""
    out: dict = {"protocols": {}, "misses": [], "parser_errors": {}}
    errors: Counter = Counter()
    for protocol, items in protocols(vectors).items():
        tagged = [v for v in items if "geolocation" in v["tags"]]
        if protocol == "jt1078":
            hits = sum(any(m.category == "video" for m in scan_payload(wire_bytes(v), errors)) for v in items)
            out["protocols"]["jt1078 (video)"] = {"found": hits, "total": len(items)}
            continue
        if not tagged:
            continue
        hits = 0
        for vector in tagged:
            if found_at(scan_payload(wire_bytes(vector), errors), *truth(vector)):
                hits += 1
            else:
                out["misses"].append(f"{protocol} {vector['source_file']}:{vector['line']}")
        out["protocols"][protocol] = {"found": hits, "total": len(tagged)}
    out["parser_errors"] = dict(errors)
    return out


class TimedMonitor(Monitor):
    """The monitor, also noting the first and last packet time of the capture: its real elapsed
    time, with nothing trimmed (idle gaps count) and nothing padded (one packet is 0 s)."""

    first: float | None = None
    last: float | None = None

    def net_batch(self, batch) -> None:
        if len(batch.ts_ns):
            ts = batch.ts_ns.astype(float) / 1e9
            low, high = float(ts.min()), float(ts.max())
            self.first = low if self.first is None else min(self.first, low)
            self.last = high if self.last is None else max(self.last, high)
        super().net_batch(batch)

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self.first is None or self.last is None else self.last - self.first


MERGED_S = 86_400.0  # a capture whose first and last packets lie further apart holds recordings merged from years apart


def benign_captures(captures: list[Path]) -> dict:
    """Each capture through the shipped default configuration: its findings by category, every
    one counted (a finding that is right belongs in the truth, not in a table of excuses), and
    per hour of real elapsed capture time (first to last packet). A capture spanning more than a
    day (test-suite files merging recordings years apart) gets no hours, only its findings: its
    seams are no capture time, and leaving its hours out can only raise the rate."""
    config = load_config(None)
    listed, seconds, per_category, long = [], 0.0, Counter[str](), 0
    for capture in captures:
        findings: list = []
        monitor = TimedMonitor(config, Sinks(stats=findings.append))
        replay(monitor, [], [capture])
        merged = monitor.elapsed_s > MERGED_S
        seconds += 0.0 if merged else monitor.elapsed_s
        long += merged
        for f in findings:
            per_category[f.category] += 1
            listed.append({"capture": capture.name, "category": f.category, "detector": f.detector, "seen": f.seen})
    total, hours = sum(per_category.values()), seconds / 3600
    return {"captures": len(captures), "capture_hours": round(hours, 4), "findings": total,
            "per_capture_hour": round(total / hours, 3) if hours else None,
            "by_category": dict(per_category), "listed": listed, "spanning_over_a_day": long}


def format_vectors(report: dict) -> str:
    lines = ["telematics vectors: geolocation found at the source's position (within 1e-5 deg); JT/T 1078 as video",
             f"{'protocol':<18}{'found':>12}{'recall':>9}"]
    for protocol, row in sorted(report["protocols"].items()):
        lines.append(f"{protocol:<18}{row['found']:>6}/{row['total']:<5}{row['found'] / row['total']:>9.3f}")
    lines += [f"  missed: {m}" for m in report["misses"]]
    if report["parser_errors"]:
        lines.append(f"  parser errors: {report['parser_errors']}")
    return "\n".join(lines)


def format_captures(report: dict) -> str:
    lines = [(f"benign corpus captures: {report['captures']} captures, {report['capture_hours']} capture-hours, "
             f"{report['findings']} finding(s), {report['per_capture_hour']} per capture-hour, by category {report['by_category']}; "
             f"{report.get('spanning_over_a_day', 0)} capture(s) spanning more than a day counted with no hours")]
    lines += [f"  {f['capture']}: {f['category']} {f['detector']}: {f['seen']}" for f in report["listed"]]
    return "\n".join(lines)
