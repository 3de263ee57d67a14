"""``gatewatch bench daemon``: the daemon's footprint on a recorded drive.

Start-up: ``gatewatch run`` with the default configuration is started and timed until it
sends READY=1 over a notify socket the bench listens on (capturing on ``lo`` as root, else
reading a python-can virtual bus). Steady state: the drive (testing/drive.py, ten minutes of two
CAN buses and the uplink) runs through the daemon's own path (source threads, bounded lanes,
the time merge, the pipeline, the alert sink) as fast as it goes, in a child process, with
batches cut as live sources cut them (250 ms of CAN, 100 ms of packets); RSS is sampled throughout, CPU is counted per
second of drive and per frame and packet.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .. import native
from ..canbus.live import BATCH_S as CAN_BATCH_S
from ..daemon.sources import IP_BATCH_S

READ_BYTES = 256 << 10
REPLAY_TARGETS = (300, 90)  # issue 16: >= 300x real time on one core, <= 90 MB peak, ten-minute drive


def run(directory: Path, seconds: int = 600) -> dict:
    from ..testing.drive import config_text, write_drive

    log, capture = write_drive(directory, seconds)
    config = directory / "bench-daemon.yaml"
    config.write_text(config_text())
    child = subprocess.run([sys.executable, "-m", "monitor.bench.daemon", str(config), str(log), str(capture), str(seconds)],
                           capture_output=True, text=True, check=False)
    if child.returncode:
        raise RuntimeError(f"bench daemon child failed: {child.stderr.strip()[-2000:]}")
    report = json.loads(child.stdout.splitlines()[-1])
    report["core"] = native.DESCRIPTION
    report["startup_to_ready_s"] = startup_to_ready()
    report["replay"] = replay_as_a_process(config, log, capture, seconds)
    if native.kernels is not None:  # the numpy reference core beside the native one, in the same run
        report["startup_to_ready_s@numpy"] = startup_to_ready(numpy_core=True)
        report["replay@numpy"] = replay_as_a_process(config, log, capture, seconds, numpy_core=True)
    return report


def replay_as_a_process(config: Path, log: Path, capture: Path, seconds: int, numpy_core: bool = False) -> dict:
    """``gatewatch replay`` of the same drive, its recordings read as fast as they go (1 s slices of
    CAN and IP): wall, CPU and peak RSS of the process, and how many times faster than real time;
    on the core in use or (``numpy_core``) on the numpy reference."""
    from .contenders import measured

    with tempfile.TemporaryDirectory(prefix="gatewatch-replay-") as out:
        run = measured([sys.executable, "-m", "monitor", "replay", "--config", str(config), "-o", out, "--force",
                        str(log), str(capture)], env=_core_env(numpy_core))
    run["times_real_time"] = round(seconds / run["seconds"], 1)
    run["times_real_time_per_cpu"] = round(seconds / run["cpu_seconds"], 1)
    return run


def _core_env(numpy_core: bool) -> dict[str, str]:
    return {"GATEWATCH_NATIVE": "0"} if numpy_core else {}


def startup_to_ready(timeout: float = 30.0, numpy_core: bool = False) -> float:
    with tempfile.TemporaryDirectory() as tmp, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        address = f"{tmp}/notify"
        listener.bind(address)
        args = ["-i", "lo"]
        if os.geteuid() != 0:
            config = Path(tmp, "virtual.yaml")
            config.write_text("version: 1\nextends: default\nsources:\n  can: [{name: bench, interface: virtual, channel: bench}]\n")
            args = ["--config", str(config)]
        env = {**os.environ, "NOTIFY_SOCKET": address, **_core_env(numpy_core)}
        start = time.perf_counter()
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", *args, "-o", f"{tmp}/out"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            listener.settimeout(timeout)
            while b"READY=1" not in listener.recv(4096):
                pass
            return round(time.perf_counter() - start, 3)
        finally:
            daemon.terminate()
            daemon.wait(10)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(config: str, log: str, capture: str, seconds: int) -> dict:
    """In the child: the daemon over the drive, with RSS sampled every 100 ms."""
    from ..canbus.logs import CanLogSource
    from ..daemon import Daemon
    from ..net.capture import CaptureSource

    base_rss = _rss_mb()
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            samples.append(_rss_mb())

    # Small reads, as a live source makes: a recording parsed 32 MiB at a time measures the log
    # parser's working set, which a gateway reading its buses never has.
    sources = [CanLogSource(log, CAN_BATCH_S, chunk_bytes=READ_BYTES), CaptureSource(capture, IP_BATCH_S, chunk_bytes=READ_BYTES)]
    with tempfile.TemporaryDirectory() as out:
        daemon = Daemon(config, Path(out), sources=sources)
        cost = {"can": 0.0, "ip": 0.0}
        for kind, name in (("can", "can_batch"), ("ip", "net_batch")):
            setattr(daemon.monitor, name, _timed(getattr(daemon.monitor, name), cost, kind))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        stats = daemon.run()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        done.set()
    frames, packets = stats["counts"].get("can_frames", 0), stats["net"]["packets"]
    steady = samples[len(samples) // 5 :] or samples
    quarter = max(1, len(steady) // 4)
    return {
        "drive_s": seconds, "can_frames": frames, "packets": packets, "can_buses": 2,
        "findings": sum(v for k, v in stats["counts"].items() if k.startswith("findings_")), "alerts": stats["alerts"],
        "queue_drops": sum(s["queue_drops"] for s in stats["sources"].values()),
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "cpu_share_of_one_core": round(cpu / seconds, 4),
        "cpu_us_per_frame": round(cost["can"] / max(frames, 1) * 1e6, 2),
        "cpu_us_per_packet": round(cost["ip"] / max(packets, 1) * 1e6, 2),
        "rss_after_imports_mb": round(base_rss, 1),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_steady_median_mb": round(statistics.median(steady), 1) if steady else None,
        "rss_growth_mb": round(statistics.mean(steady[-quarter:]) - statistics.mean(steady[:quarter]), 1) if steady else None,
        "rss_samples": len(samples),
    }


def _timed(call, cost: dict, kind: str):
    def timed(batch) -> None:
        start = time.thread_time()
        call(batch)
        cost[kind] += time.thread_time() - start

    return timed


TARGETS = {"startup_to_ready_s": 1.0, "rss_steady_median_mb": 90.0, "cpu_share_of_one_core": 0.05}


def format_table(report: dict) -> str:
    lines = [f"core: {report['core']}" + ("   (@numpy: the numpy reference core, in the same run)" if "replay@numpy" in report else ""),
             (f"drive: {report['drive_s']} s, {report['can_frames']} CAN frames on {report['can_buses']} buses, "
              f"{report['packets']} packets; {report['findings']} findings, {report['alerts']} alerts, "
              f"{report['queue_drops']} queue drops")]
    for key, label in (("startup_to_ready_s", "start-up to READY (s)"), ("rss_after_imports_mb", "RSS after imports (MB)"),
                       ("rss_steady_median_mb", "steady RSS, median (MB)"), ("rss_growth_mb", "RSS growth over the drive (MB)"),
                       ("rss_peak_mb", "peak RSS (MB)"), ("cpu_s", "CPU (s)"), ("wall_s", "wall (s)"),
                       ("cpu_share_of_one_core", "CPU per second of drive (share of one core)"),
                       ("cpu_us_per_frame", "CPU per CAN frame (us)"), ("cpu_us_per_packet", "CPU per packet (us)")):
        target = TARGETS.get(key)
        verdict = "" if target is None else f"   target <= {target}: {'met' if report[key] <= target else 'MISSED'}"
        lines.append(f"  {label:<46} {report[key]}{verdict}")
    if "startup_to_ready_s@numpy" in report:
        lines.append(f"  {'start-up to READY (s) @numpy':<46} {report['startup_to_ready_s@numpy']}")
    for name in ("replay", "replay@numpy"):
        if name in report:
            lines += _replay_lines(report[name], "" if name == "replay" else " @numpy")
    return "\n".join(lines)


def _replay_lines(replay: dict, suffix: str) -> list[str]:
    speed, rss = replay["times_real_time_per_cpu"], replay["peak_rss_mb"]
    return [f"gatewatch replay of the same drive, as a process{suffix} (exit {replay['status']}):",
            f"  {'wall (s)':<46} {replay['seconds']:.2f}",
            f"  {'CPU (s)':<46} {replay['cpu_seconds']:.2f}",
            f"  {'times real time (wall)':<46} {replay['times_real_time']}{_verdict(replay['times_real_time'], REPLAY_TARGETS[0], True)}",
            f"  {'times real time (per CPU second)':<46} {speed}",
            f"  {'peak RSS (MB)':<46} {rss:.1f}{_verdict(rss, REPLAY_TARGETS[1], False)}"]


def _verdict(value: float, target: float, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    return f"   target {'>=' if at_least else '<='} {target}: {'met' if met else 'MISSED'}"


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
