"""The demo's first step: the decoder on a real drive.

Decodes seeds/gnss-drive (a real CSS Electronics CANedge drive log with GNSS frames) with the
shipped DBC, writes the decoded frames to OUT/decoded.jsonl, prints a summary with the
vehicle's position track, and checks it against the scenario's expected.json (made by
python-can + cantools, not by gatewatch). A difference is an error.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TextIO

SCENARIO = "seeds/gnss-drive"
DBC = "dbc/css-electronics/gnss.dbc"


def decode_check(output: Path, out: TextIO) -> int:
    from ..canbus.dbc import load_dbc
    from ..canbus.decode import decode_batch
    from ..canbus.export import iter_records
    from ..canbus.logs import read_log
    from ..canbus.plan import compile_plan
    from ..errors import MonitorError
    from ..resources import shipped

    scenario = shipped(SCENARIO)
    plan = compile_plan([(load_dbc(shipped(DBC)), DBC)])
    output.mkdir(parents=True, exist_ok=True)
    summary = _Track()
    with open(output / "decoded.jsonl", "w") as sink:
        for batch, stats in read_log(scenario / "can.log"):
            summary.frames += len(batch)
            summary.malformed += stats.malformed
            decoded = decode_batch(plan, batch)
            summary.no_dbc_entry += len(decoded.unknown)
            for record in iter_records(decoded):
                summary.add(record)
                sink.write(json.dumps(record, separators=(",", ":")) + "\n")
    result = summary.result()
    print(_format(result, output / "decoded.jsonl"), file=out)
    expected = json.loads((scenario / "expected.json").read_text())
    differences = [f"{key}: expected {expected[key]!r}, got {result.get(key)!r}"
                   for key in expected if result.get(key) != expected[key]]
    if differences:
        raise MonitorError(f"{scenario / 'expected.json'}: results differ: " + "; ".join(differences))
    print(f"check: OK, matches {scenario / 'expected.json'} (python-can + cantools reference)", file=out)
    return 0


class _Track:
    def __init__(self) -> None:
        self.frames = self.malformed = self.no_dbc_entry = self.errors = 0
        self.messages: Counter[str] = Counter()
        self.fixes: list[tuple[float, float]] = []

    def add(self, record: dict) -> None:
        if "error" in record:
            self.errors += 1
            return
        self.messages[record["message"]] += 1
        if record["message"] == "gnss_pos":
            self.fixes.append((record["signals"]["Latitude"], record["signals"]["Longitude"]))

    def result(self) -> dict:
        lats = [f[0] for f in self.fixes] or [0.0]
        lons = [f[1] for f in self.fixes] or [0.0]
        return {
            "frames": self.frames,
            "decoded_by_message": dict(sorted(self.messages.items())),
            "decode_errors": self.errors,
            "no_dbc_entry": self.no_dbc_entry,
            "position": {
                "fixes": len(self.fixes),
                "first": list(self.fixes[0]) if self.fixes else None,
                "last": list(self.fixes[-1]) if self.fixes else None,
                "latitude_range": [min(lats), max(lats)],
                "longitude_range": [min(lons), max(lons)],
            },
        }


def _format(result: dict, path: Path) -> str:
    position = result["position"]
    lines = [
        (f"scenario {SCENARIO}: {result['frames']} CAN frames, "
         f"{sum(result['decoded_by_message'].values())} decoded with {DBC}, "
         f"{result['decode_errors']} decode errors, {result['no_dbc_entry']} frames with no DBC entry"),
    ]
    for name, count in result["decoded_by_message"].items():
        lines.append(f"  {name:<16}{count:>6}")
    if position["fixes"]:
        lines.append(
            f"vehicle position: {position['fixes']} fixes from {_latlon(position['first'])} "
            f"to {_latlon(position['last'])}"
        )
    lines.append(f"decoded frames written to {path}")
    return "\n".join(lines)


def _latlon(pair: list[float]) -> str:
    return f"({pair[0]:.6f}, {pair[1]:.6f})"
