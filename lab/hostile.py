"""``make hostile`` (``python -m lab.hostile``): the figures of the monitor under hostile input, faults and load.

- crafted inputs (hostile_inputs.HOSTILE), each through the command line as its own process:
  outcome, wall and CPU time, peak RSS;
- random and mutated inputs per fuzz target (fuzz.targets), in this process: inputs run,
  errors outside each reader's documented ones (must be 0), the slowest input; and the last
  ``make fuzz`` (atheris) run's inputs per target, where out/fuzz/summary.json exists;
- SIGKILL at random points of a replay writing its alert log, many times: kills survived,
  synced records lost or doubled (must be 0), restarts that continued the chain;
- a replay of spoofed flows far beyond max_flows: peak RSS and evictions counted.
The disk-full, live-overload and least-privilege figures need root, a tmpfs and network
namespaces: tests/hostile has them (make test prints them with -s).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor.bench.contenders import measured

from . import PROJECT



# ------------------------------------------------------------------ crafted inputs

def crafted() -> list[dict]:
    from .hostile_inputs import HOSTILE

    rows = []
    for hostile in HOSTILE:
        with tempfile.TemporaryDirectory(prefix="gatewatch-hostile-") as folder:
            argv = hostile.build(Path(folder))
            run = measured([sys.executable, "-m", "monitor", *argv])
        kind, _, text = hostile.expect.partition(": ")
        held = (run["status"] == (1 if kind == "error" else 0) and "Traceback" not in run["stderr_tail"]
                and (kind != "error" or text in run["stderr_tail"]))
        within = run["cpu_seconds"] < BUDGET_CPU_S and run["peak_rss_mb"] < BUDGET_RSS_MB
        rows.append({"name": hostile.name, "kind": hostile.kind, "status": run["status"], "held": held,
                     "seconds": round(run["seconds"], 2), "cpu_seconds": round(run["cpu_seconds"], 2),
                     "peak_rss_mb": round(run["peak_rss_mb"], 1), "within_budget": within})
    return rows


#: What one crafted input may cost (tests/hostile/test_crafted_inputs.py holds each to it).
BUDGET_CPU_S, BUDGET_RSS_MB = 15.0, 300.0


# ------------------------------------------------------------------ fuzzing

def fuzz(inputs: int, seed: int = 1) -> dict:
    """``inputs`` per target: half seeds with random bytes changed, cut or grown, half random."""
    from .fuzz import targets

    rng = random.Random(seed)
    out = {}
    logging.disable(logging.WARNING)  # the readers' warnings about damaged inputs are expected here, by the hundred
    try:
        for target in targets():
            out[target.name] = _fuzz_target(target, rng, inputs)
    finally:
        logging.disable(logging.NOTSET)
    return out


def _fuzz_target(target, rng: random.Random, inputs: int) -> dict:
    seeds = target.seeds()
    unexpected: dict[str, int] = {}
    slowest = 0.0
    for _ in range(inputs):
        data = _mutated(rng, rng.choice(seeds)) if rng.random() < 0.5 else rng.randbytes(rng.randrange(1024))
        start = time.process_time()
        try:
            target.run(data)
        except target.allowed:
            pass
        except Exception as error:  # noqa: BLE001 - counted: what the figures are for
            unexpected[type(error).__name__] = unexpected.get(type(error).__name__, 0) + 1
        slowest = max(slowest, time.process_time() - start)
    return {"inputs": inputs, "unexpected_errors": unexpected, "slowest_cpu_s": round(slowest, 4)}


def _mutated(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randrange(1, 9)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    choice = rng.random()
    if choice < 0.3 and data:
        del data[rng.randrange(len(data)):]
    elif choice < 0.5:
        at = rng.randrange(len(data) + 1)
        data[at:at] = bytes([rng.randrange(256)]) * rng.randrange(1, 256)
    return bytes(data)


def atheris_summary() -> dict | None:
    path = PROJECT / "out" / "fuzz" / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


# ------------------------------------------------------------------ kills

def _replay(out: Path, capture: Path, first: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "replay", "-o", str(out), "--force" if first else "--append",
                             str(capture)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT)


def kills(folder: Path, count: int, alerts: int = 150, seed: int = 2026) -> dict:
    """Replays writing an alert log, each SIGKILLed at a random point (uniform over one whole
    replay's time), into one folder with --append; after every kill the folder is checked. The
    problems found (all must be empty) and the figures."""
    from monitor.alerts.logfiles import chain_files, head_of, sequences
    from monitor.alerts.verify import verify_all
    from monitor.testing.scene import many_alerts

    capture, out, rng = many_alerts(folder, alerts), folder / "out", random.Random(seed)
    started = time.perf_counter()
    _replay(out, capture, first=True).wait()
    whole = time.perf_counter() - started
    synced: dict[int, str] = {}  # every record a head file ever vouched for
    problems: list[str] = []
    killed_mid_write = 0
    for k in range(count):
        before = len(sequences(chain_files(out)))
        process = _replay(out, capture, first=False)
        time.sleep(rng.uniform(0.0, whole))
        process.kill()
        process.wait()
        chain, head = sequences(chain_files(out)), head_of(out, "alerts-vm")
        killed_mid_write += 0 < len(chain) - before < 2 * alerts
        problems += [f"kill {k}: sequence {s} appears {len(h)} times" for s, h in chain.items() if len(h) != 1]
        if sorted(chain) != list(range(1, len(chain) + 1)):
            problems.append(f"kill {k}: the sequence has a gap")
        for seq in range(1, (head or {}).get("seq", 0) + 1):
            synced.setdefault(seq, chain.get(seq, ["?"])[0])
        problems += [f"kill {k}: synced record {s} lost or changed" for s, d in synced.items() if chain.get(s) != [d]]
        problems += [f"kill {k}: {b}" for r in verify_all([out], None) for b in r.breaks]
    final_status = _replay(out, capture, first=False).wait()
    report = verify_all([out], None)[0]
    return {"kills": count, "killed_while_writing": killed_mid_write, "replay_seconds": round(whole, 2),
            "records": report.records, "synced_records_checked": len(synced),
            "lost": sum("lost" in p for p in problems), "doubled": sum("times" in p for p in problems),
            "final_replay_status": final_status, "chain_ok": report.ok and report.first_seq == 1,
            "problems": problems[:20]}


# ------------------------------------------------------------------ load

def spoofed_replay(folder: Path, flows: int, max_flows: int = 5000) -> dict:
    """A capture of one UDP packet from each of ``flows`` spoofed sources, replayed with
    sources.max_flows set: peak RSS and the evictions counted."""
    import numpy as np

    from monitor.net.packets import LINKTYPE_ETHERNET
    from monitor.net.pcapwriter import write_pcap
    from monitor.testing.scene import VEHICLE, Capture

    cap = Capture()
    rng = np.random.default_rng(7)
    sources = rng.integers(0x0B000000, 0xDF000000, flows, dtype=np.uint32).tolist()
    for i, source in enumerate(sources):
        address = ".".join(str(source >> s & 0xFF) for s in (24, 16, 8, 0))
        cap.udp(1.7e9 + i * 1e-6, address, 40000, VEHICLE, 1234, b"overload!" * 2)
    capture = folder / "spoofed.pcap"
    write_pcap(capture, ((round(t * 1e9), d, len(d)) for t, d in cap.frames), LINKTYPE_ETHERNET)
    config = folder / "bounded.yaml"
    config.write_text(f"version: 1\nextends: default\nsources:\n  max_flows: {max_flows}\n")
    run = measured([sys.executable, "-m", "monitor", "replay", "--config", str(config), "-o", str(folder / "out"),
                    "--summary-json", str(folder / "summary.json"), str(capture)])
    summary = json.loads((folder / "summary.json").read_text()) if run["status"] == 0 else {}
    net = summary.get("net", {}).get("flows", {})
    return {"flows": flows, "sources": len(set(sources)), "max_flows": max_flows, "status": run["status"], "seconds": round(run["seconds"], 2),
            "peak_rss_mb": round(run["peak_rss_mb"], 1), "created": net.get("created"), "evicted": net.get("evicted"),
            "stderr_tail": run["stderr_tail"]}


# ------------------------------------------------------------------ the whole report

def run(kill_count: int, fuzz_inputs: int, flows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="gatewatch-bench-hostile-") as tmp:
        folder = Path(tmp)
        (folder / "kills").mkdir()
        (folder / "load").mkdir()
        return {"crafted": crafted(), "fuzz": fuzz(fuzz_inputs), "atheris": atheris_summary(),
                "kills": kills(folder / "kills", kill_count), "load": spoofed_replay(folder / "load", flows)}


def held(report: dict) -> bool:
    return (all(row["held"] for row in report["crafted"])
            and not any(t["unexpected_errors"] for t in report["fuzz"].values())
            and not report["kills"]["problems"] and report["kills"]["chain_ok"]
            and report["load"]["status"] == 0)


def format_report(report: dict) -> str:
    budget = f"budget {BUDGET_CPU_S:.0f} CPU s, {BUDGET_RSS_MB:.0f} MB"
    lines = [f"crafted hostile inputs, each a process (gatewatch <command> <input>); {budget}:",
             f"  {'input':<32} {'reader':<10} {'exit':>4} {'held':>5} {'wall s':>7} {'CPU s':>6} {'peak RSS MB':>12} {'budget':>7}"]
    lines += [f"  {r['name']:<32} {r['kind']:<10} {r['status']:>4} {'yes' if r['held'] else 'NO':>5} {r['seconds']:>7.2f} "
              f"{r['cpu_seconds']:>6.2f} {r['peak_rss_mb']:>12.1f} {'ok' if r['within_budget'] else 'OVER':>7}" for r in report["crafted"]]
    lines.append("fuzz targets, random and mutated inputs in this process:")
    lines.append(f"  {'target':<32} {'inputs':>7} {'unexpected':>10} {'slowest CPU s':>14}")
    for name, t in report["fuzz"].items():
        unexpected = sum(t["unexpected_errors"].values())
        lines.append(f"  {name:<32} {t['inputs']:>7} {unexpected:>10} {t['slowest_cpu_s']:>14.4f}"
                     + (f"  {t['unexpected_errors']}" if unexpected else ""))
    atheris = report["atheris"]
    if atheris:
        lines.append(f"last make fuzz (atheris, {atheris['runs_asked']} runs asked per target):")
        lines += [f"  {name:<32} {t['inputs'] if t['inputs'] is not None else '-':>7} inputs, "
                  f"{len(t['crashes'])} failing input(s) kept{' ' + ', '.join(t['crashes']) if t['crashes'] else ''}"
                  for name, t in atheris["targets"].items()]
    else:
        lines.append("make fuzz (atheris) has not run here: no out/fuzz/summary.json")
    k = report["kills"]
    lines += [f"SIGKILL at random points of a replay writing its alert log ({k['replay_seconds']} s a replay):",
              (f"  kills survived {k['kills']} ({k['killed_while_writing']} while records were being written), "
               f"synced records checked {k['synced_records_checked']}, lost {k['lost']}, doubled {k['doubled']}"),
              f"  final chain: {k['records']} records, verifies {'yes' if k['chain_ok'] else 'NO'}"
              + (f"; problems: {k['problems']}" if k["problems"] else "")]
    load = report["load"]
    lines.append(f"replay of {load['flows']} spoofed flows with max_flows {load['max_flows']}: {load['seconds']} s, "
                 f"peak RSS {load['peak_rss_mb']} MB, flows created {load['created']}, evicted {load['evicted']} (counted)")
    lines.append("all held" if held(report) else "NOT ALL HELD")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.hostile", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLs of a replay writing its log (default 50)")
    parser.add_argument("--inputs", type=int, default=500, help="random and mutated inputs per fuzz target (default 500)")
    parser.add_argument("--flows", type=int, default=200_000, help="spoofed flows replayed past max_flows (default 200000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    args = parser.parse_args(argv)
    if args.kills < 1 or args.inputs < 1 or args.flows < 1:
        parser.error("--kills, --inputs and --flows must be at least 1")
    report = run(args.kills, args.inputs, args.flows)
    print(json.dumps(report) if args.json else format_report(report))
    return 0 if held(report) else 1


if __name__ == "__main__":
    sys.exit(main())
