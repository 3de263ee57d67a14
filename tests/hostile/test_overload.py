"""Overload: the live daemon under many times line rate on every input at once, four CAN buses
flooded through python-can and a veth pair flooded with UDP from spoofed addresses (each a new
flow) from a network namespace. Memory stays within a bound set by the configuration, every
drop is counted per source, what was processed is judged correctly, and after the load the
daemon reads, judges and alerts as before."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import can

from monitor.daemon import Daemon
from tests.builders import alerts_in, run, stream, veth_to_namespace, write_pcap
from tests.loaded import GENEROUS, wait_until

HERE = Path(__file__).parent
BUSES = 4
MAX_FLOWS = 2_000
JT808 = bytes.fromhex("7e0200003301705156418900" "0c00000000000c00020158ff7206cd1f4c000000000123201122115639"
                      "01040000000030011f310109" "937e")


class RssPeak:
    """This process's resident memory, sampled every 50 ms from now until stop(): the growth."""

    def __init__(self) -> None:
        self.start, self.peak, self.done = _rss_mb(), 0.0, threading.Event()
        self.thread = threading.Thread(target=self._sample)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, _rss_mb())

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return max(self.peak, _rss_mb()) - self.start


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def flood_can(channel: str, stop: threading.Event, sent: list[int]) -> None:
    """Full-length frames on random ids, back to back, until stopped."""
    count = 0
    with can.Bus(interface="virtual", channel=channel) as bus:
        while not stop.is_set():
            bus.send(can.Message(arbitration_id=0x100 + count % 0x500, data=count.to_bytes(8, "little")))
            count += 1
    sent.append(count)


def test_overload_is_bounded_counted_judged_and_survived(tmp_path: Path, long_run: bool) -> None:
    packets = 5_000_000 if long_run else 1_000_000
    channels = [f"gw-flood{i}-{uuid.uuid4().hex[:6]}" for i in range(BUSES)]
    buses = "".join(f"    - {{name: bus{i}, interface: virtual, channel: {c}}}\n" for i, c in enumerate(channels))
    with veth_to_namespace() as (inside, outside, namespace):
        config = tmp_path / "gateway.yaml"
        config.write_text(f"version: 1\nextends: default\nsources:\n  queue_batches: 16\n  max_flows: {MAX_FLOWS}\n"
                          f"  can:\n{buses}  ip: [{{interface: {inside}}}]\n")
        daemon = Daemon(str(config), tmp_path / "out")
        ready = threading.Event()
        runner = threading.Thread(target=daemon.run, kwargs={"ready": ready.set})
        runner.start()
        try:
            assert ready.wait(GENEROUS)
            rss = RssPeak()
            stop, can_sent = threading.Event(), []
            floods = [threading.Thread(target=flood_can, args=(c, stop, can_sent)) for c in channels]
            for thread in floods:
                thread.start()
            player = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, str(HERE / "flood.py"), outside,
                                     str(packets)], capture_output=True, text=True, check=True, timeout=600)
            stop.set()
            for thread in floods:
                thread.join()
            wait_until(lambda: not any(s["queued"] for s in daemon.stats()["sources"].values()), "the queues to drain",
                       timeout=120, step=0.2)
            growth_mb = rss.stop()
            flooded = json.loads(player.stdout)
            under_load = daemon.stats()

            # After the load: a JT/T 808 report on the uplink and a UDS upload on a bus are judged as ever.
            after = write_pcap(tmp_path / "after.pcap", stream(time.time(), [JT808], dport=5015, sport=41000, dst="203.0.113.9"))
            subprocess.run(["ip", "netns", "exec", namespace, sys.executable, str(HERE.parent / "daemon" / "play_capture.py"),
                            outside, str(after), str(time.time())], check=True, timeout=60)
            with can.Bus(interface="virtual", channel=channels[0]) as bus:
                bus.send(can.Message(arbitration_id=0x7E0, is_extended_id=False, data=bytes.fromhex("0635000012340100")))
            wait_until(lambda: {"wire.jt808", "can.uds"} <= {a["detector"] for a in alerts_in(tmp_path / "out")},
                       "the daemon to judge traffic after the load", step=0.3)
        finally:
            daemon.stop()
            runner.join(60)
    assert not runner.is_alive()
    sources = under_load["sources"]
    ip = sources[f"ip:{inside}"]
    # Every packet the kernel gave or refused the capture is accounted for, and drops are per source.
    assert ip["items"] + ip["queue_dropped_items"] <= flooded["sent"]
    assert ip["items"] > 0 and (ip["kernel_drops"] + ip["queue_dropped_items"] > 0 or ip["items"] >= 0.9 * flooded["sent"])
    for i in range(BUSES):
        bus = sources[f"can:bus{i}"]
        assert bus["items"] > 0 and bus["items"] + bus["queue_dropped_items"] <= sum(can_sent)
    flows = under_load["net"]["flows"]
    assert flows["evicted"] > 0  # more spoofed sources than max_flows: the oldest went, counted
    # Memory: the flow table is bounded by max_flows and each queue by queue_batches.
    assert growth_mb < 300, f"RSS grew {growth_mb:.0f} MB under load"
    print(f"overload: {flooded['sent']} packets in {flooded['seconds']:.1f} s ({flooded['sent'] / flooded['seconds']:,.0f}/s), "
          f"{sum(can_sent)} CAN frames; ip items {ip['items']} kernel drops {ip['kernel_drops']} queue drops "
          f"{ip['queue_dropped_items']}; flows evicted {flows['evicted']}; RSS growth {growth_mb:.0f} MB")


def test_replay_of_spoofed_flows_is_bounded_by_max_flows_not_by_their_number(tmp_path: Path, long_run: bool) -> None:
    """A capture of one packet per spoofed source, replayed as fast as it reads: peak RSS is
    bounded by max_flows, not by the capture's length, and every eviction is counted."""
    from lab.hostile import spoofed_replay

    figures = spoofed_replay(tmp_path, 1_000_000 if long_run else 100_000, max_flows=5000)
    assert figures["status"] == 0, figures["stderr_tail"]
    # A few random sources repeat, and a repeat after its eviction is a new flow.
    assert figures["created"] >= figures["sources"] and figures["evicted"] >= figures["sources"] - 5000
    assert figures["peak_rss_mb"] < 250, figures
    print(f"replay of {figures['flows']} spoofed flows: {figures['seconds']:.1f} s, peak RSS {figures['peak_rss_mb']:.0f} MB, "
          f"evicted {figures['evicted']}")


def test_replay_reports_the_limits_it_reached(tmp_path: Path) -> None:
    from lab.hostile import spoofed_replay

    figures = spoofed_replay(tmp_path, 200, max_flows=16)
    assert figures["status"] == 0 and figures["evicted"] >= 200 - 16
    code, out, err = run("replay", "--config", str(tmp_path / "bounded.yaml"), "-o", str(tmp_path / "again"),
                         str(tmp_path / "spoofed.pcap"))
    assert code == 0, err
    assert "limits reached (counted, see docs/architecture.md, Bounds): flows evicted from a full flow table" in out + err
