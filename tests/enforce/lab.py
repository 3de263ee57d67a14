"""A vehicle in network namespaces: an ECU behind a gateway (gatewatch, its DNS forwarder and
nftables) in front of a cloud (TCP sinks and a DNS server). Only addresses inside these
namespaces are used: documentation ranges (RFC 5737, RFC 3849).

    ecu 192.0.2.2, 2001:db8:1::2 -- v-gwin | gateway | v-gwup -- cloud 198.51.100.x, 2001:db8:2::x
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..builders import alerts_in
from ..conftest import PROJECT
from ..loaded import GENEROUS

GATEWAY_IN, GATEWAY_UP = "v-gwin", "v-gwup"
CLOUD = {"allowed": "198.51.100.10", "cut": "198.51.100.11", "named": "198.51.100.20", "unlisted": "198.51.100.30",
         "resolver": "198.51.100.53", "allowed6": "2001:db8:2::10", "unlisted6": "2001:db8:2::30"}
SINK_PORT = 8000
NAME, NAME_TTL = "api.fleet.test", 3
GATEWATCH = Path(sys.executable).with_name("gatewatch")


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


class Lab:
    def __init__(self, workdir: Path) -> None:
        tag = os.getpid() % 100000
        self.ns = {role: f"gw{tag}{role[0]}" for role in ("ecu", "gateway", "cloud")}
        self.workdir = workdir
        self.sink_log = workdir / "sink.jsonl"
        self.apps: list[subprocess.Popen] = []

    # ------------------------------------------------------------ topology
    def build(self) -> None:
        ecu, gw, cloud = self.ns["ecu"], self.ns["gateway"], self.ns["cloud"]
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            self.run(ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "v-ecu", "netns", ecu, "type", "veth", "peer", "name", GATEWAY_IN, "netns", gw)
        sh("ip", "link", "add", GATEWAY_UP, "netns", gw, "type", "veth", "peer", "name", "v-cloud", "netns", cloud)
        self._addresses(ecu, "v-ecu", ["192.0.2.2/24", "2001:db8:1::2/64"])
        self._addresses(gw, GATEWAY_IN, ["192.0.2.1/24", "2001:db8:1::1/64"])
        self._addresses(gw, GATEWAY_UP, ["198.51.100.1/24", "2001:db8:2::1/64"])
        self._addresses(cloud, "v-cloud", [f"{a}/{64 if ':' in a else 24}" for a in CLOUD.values()])
        for ns, v4, v6 in ((ecu, "192.0.2.1", "2001:db8:1::1"), (cloud, "198.51.100.1", "2001:db8:2::1")):
            self.run(ns, "ip", "route", "add", "default", "via", v4)
            self.run(ns, "ip", "-6", "route", "add", "default", "via", v6)
        self.run(gw, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")

    def _addresses(self, ns: str, dev: str, cidrs: list[str]) -> None:
        for cidr in cidrs:
            self.run(ns, "ip", "addr", "add", cidr, "dev", dev, *(["nodad"] if ":" in cidr else []))
        self.run(ns, "ip", "link", "set", dev, "up")

    def start_cloud(self) -> None:
        sinks = [CLOUD[k] for k in ("allowed", "cut", "named", "unlisted", "allowed6", "unlisted6")]
        self._app("cloud", "sink", *sinks, "--port", str(SINK_PORT), "--log", str(self.sink_log))
        self._app("cloud", "dns", CLOUD["resolver"], "--record", f"{NAME}={CLOUD['named']}/{NAME_TTL}")

    def _app(self, role: str, *argv: str) -> None:
        process = subprocess.Popen(["ip", "netns", "exec", self.ns[role], sys.executable, "-m", "tests.enforce.apps", *argv],
                                   cwd=PROJECT, stdout=subprocess.PIPE, text=True)
        self.apps.append(process)
        assert process.stdout.readline().strip() == "ready"

    def teardown(self) -> None:
        for process in self.apps:
            process.kill()
            process.communicate()
        for ns in self.ns.values():
            sh("ip", "netns", "del", ns, check=False)

    # ------------------------------------------------------------ using it
    def run(self, ns: str, *argv: str) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", ns, *argv)

    def send(self, host: str | None = None, **options) -> dict:
        """Run the client in the ECU namespace; options become --flags."""
        argv = [host] if host else []
        for key, value in options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        out = self.run(self.ns["ecu"], sys.executable, "-m", "tests.enforce.apps", "send", "--port", str(SINK_PORT), *argv)
        return json.loads(out.stdout)

    def received(self, address: str) -> list[int]:
        """Payload bytes each connection to ``address`` delivered to the sink, in order."""
        totals: dict[int, int] = {}
        if self.sink_log.exists():
            for line in self.sink_log.read_text().splitlines():
                entry = json.loads(line)
                if entry["local"] == address:
                    totals[entry["conn"]] = entry["total"]
        return [totals[k] for k in sorted(totals)]

    def ruleset(self) -> list[dict]:
        return json.loads(self.run(self.ns["gateway"], "nft", "-j", "list", "ruleset").stdout)["nftables"]


class Gatewatch:
    """`gatewatch run` in the gateway namespace, capturing on the in-vehicle interface."""

    def __init__(self, lab: Lab, policy: Path, output: Path) -> None:
        self.output = output
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns["gateway"], str(GATEWATCH), "run", "--config", str(policy),
             "-o", str(output), "-i", GATEWAY_IN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.process.stdout.readline()
        if not first.startswith("gatewatch run: ready"):
            self.process.kill()
            raise AssertionError(f"gatewatch did not start: {first}{self.process.stderr.read()}")

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])

    def alerts(self) -> list[dict]:
        return alerts_in(self.output)


def wait_until(condition, timeout: float = GENEROUS, step: float = 0.05) -> bool:
    """Whether ``condition`` came true within ``timeout`` (polled every ``step`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
