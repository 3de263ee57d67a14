"""The live daemon: capture on the uplinks -> Monitor (detectors, verdicts) -> alert log, and in
enforce mode the enforcer (nftables) and the DNS forwarder beside it.

A finding whose verdict is block cuts its flow's remote address off (enforce mode only).
Capture on the in-vehicle interfaces (--interface) to see what the hosts attempt, the kernel's
refusals included; on the uplinks (the default) to see what leaves, the gateway's own traffic
included. In monitor mode the kernel is never touched. SIGTERM and SIGINT stop it cleanly;
the kernel is then left as the policy's on_stop says.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..detect.finding import Finding
from ..net.live import CaptureConfig, LiveCapture
from ..pipeline import Monitor
from ..policy.decide import Destination
from ..policy.model import Config
from .dnsforward import DnsForwarder
from .enforcer import Enforcer


class Daemon:
    def __init__(self, config: Config, output: Path, interfaces: list[str] | None = None) -> None:
        self.config = config
        self.policy = config.policy
        self.output = output
        self.interfaces = interfaces or list(self.policy.uplinks)
        self.enforcer = Enforcer(self.policy, config.vehicle_networks) if self.policy.mode == "enforce" else None
        self.capture = LiveCapture(CaptureConfig(interfaces=self.interfaces))
        self.alerts: TextIO | None = None
        self.monitor = Monitor(config, self._on_finding)
        self.dns = DnsForwarder(self.monitor.decider, self.enforcer.admit) if self.enforcer and self.policy.dns.listen else None

    def run(self, ready: Callable[[], None] = lambda: None) -> dict:
        self.output.mkdir(parents=True, exist_ok=True)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.capture.stop())
        with open(self.output / "alerts.jsonl", "a") as self.alerts, self.capture:
            if self.enforcer:
                self.enforcer.start()
            try:
                if self.dns:
                    self.dns.start()
                ready()
                for batch in self.capture.batches():
                    self.monitor.net_batch(batch)
                self.monitor.finish()
            finally:
                if self.dns:
                    self.dns.stop()
                if self.enforcer:
                    self.enforcer.stop()
        return self.summary()

    def _on_finding(self, finding: Finding) -> None:
        assert self.alerts is not None
        # Unknown destinations are the kernel's to refuse (default deny); a run-time block would
        # outlive the DNS answer that may list the address later.
        if self.enforcer and finding.action == "block" and finding.category != "unknown":
            destination = Destination.of(finding)
            if destination and destination.address:
                finding.evidence["enforced"] = "cut off" if self.enforcer.block(destination.address) else "already blocked"
        if finding.is_alert:
            self.alerts.write(finding.json_line())
            self.alerts.flush()

    def summary(self) -> dict:
        out = {"mode": self.policy.mode, "interfaces": self.interfaces, "capture": vars(self.capture.stats),
               **self.monitor.summary()}
        if self.enforcer:
            out["enforcer"] = dict(self.enforcer.counts)
        if self.dns:
            out["dns"] = dict(self.dns.counts)
        return out
