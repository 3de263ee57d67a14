"""``gatewatch run``: live sources -> Timeline -> Monitor -> alert log, and in enforce mode the
enforcer (nftables) and the DNS forwarder beside it.

The pipeline runs in the thread that calls ``run`` (the main thread under ``gatewatch run``);
each source reads in a thread of its own. Signals: SIGTERM/SIGINT stop the sources, drain what
they delivered, flush the sinks, leave the kernel as ``on_stop`` says and return; SIGHUP
reloads the configuration and policy between two batches (a file that fails to load is
refused with its file:line message and the old configuration keeps running; the nftables
table is swapped in one transaction). A finding whose verdict is block cuts its flow's remote
address off (enforce mode only).

Before anything starts, the pre-flight (preflight.py, also ``policy check --for-run``) checks
what the daemon binds and opens; what would stop it is a StartError naming file:line and the
key (``gatewatch run`` exits 2), a missing interface is logged and opened when it appears.
dns.listen is bound once, at start: a reload that changes it takes effect at the next start.

An output that cannot be written stops the daemon, never silently: a full disk is waited out
(alert records in alerts.backlog, flow and DNS lines in their buffer, DEGRADED in stats.json and
STATUS=), but once something is lost past those bounds, or on an error waiting will not mend
(EROFS, EIO, a stats.json that cannot be written even in place), ``failure`` says which file and
why, STATUS= says it with the errno, and ``run`` returns; ``gatewatch run`` exits 74 and systemd
restarts it. What waited in memory is counted as not written.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .. import native
from ..alerts.log import AlertLog, prepare
from ..detect.finding import Destination, Finding
from ..enforce.dnsforward import DnsForwarder
from ..enforce.enforcer import Enforcer
from ..errors import MonitorError
from ..pipeline import Monitor, Sinks, load_config, run
from ..source import LiveSource, Source
from ..timeline import Timeline
from . import preflight
from .notify import Notifier
from .privileges import drop_to, needed_capabilities
from .sources import live_sources
from .status import status_line, write_stats
from .uplinkrun import DaemonUplink

log = logging.getLogger(__name__)

STATS_EVERY_S = 2.0
OPEN_WAIT_S = 5.0  # READY waits this long at most for every source's first open attempt


class Daemon:
    def __init__(self, config_path: str | None, output: Path, interfaces: list[str] | None = None,
                 sources: list[Source] | None = None, notifier: Notifier | None = None,
                 vehicle_id: str | None = None, user: str | None = None) -> None:
        self.config_path = config_path
        self.user = user
        self.config = load_config(config_path)
        self.policy = self.config.policy
        self.output = output
        self.interfaces = interfaces
        listen = self._preflight(live=sources is None)
        self.sources = sources if sources is not None else live_sources(self.config, interfaces)
        self.timeline = Timeline(self.sources, reorder_s=self.config.sources.reorder_ms / 1000,
                                 bound=self.config.sources.queue_batches)
        self.notifier = notifier or Notifier.from_environment()
        self.enforcer = Enforcer(self.policy, self.config.vehicle_networks) if self.policy.mode == "enforce" else None
        prepare(output, append=True)
        self.log = AlertLog(output, self.config.alerts, vehicle_id=vehicle_id)
        self.monitor = Monitor(self.config, Sinks.of_log(self.log, enforcement=self._enforce if self.enforcer else None))
        self.dns = DnsForwarder(self.monitor.decider, self.enforcer.admit, [(item.host, item.port, item.where) for item in listen]) \
            if self.enforcer and listen else None
        self.uplink = DaemonUplink(self.config.uplink, output, self.log.vehicle_id) if self.config.uplink else None
        if self.uplink:  # what the uplink has not sent is never deleted by retention
            uplink = self.uplink.uplink
            self.log.writer.hold_from = lambda: uplink.cursor.file
        self.counts: Counter = Counter()
        self.reload_requested = threading.Event()
        self.state = "starting"
        self.started = time.monotonic()
        self._next_stats = 0.0
        self.failure = ""  # set when an output failure stops the daemon: file, error, counts
        self._stats_failed = None  # stats.json could not be written even in place

    def _preflight(self, live: bool) -> list[preflight.Listen]:
        """What the daemon binds and opens, checked before anything starts: a problem that
        would stop it is a StartError (file:line, the key); a missing interface is logged and
        opened when it appears. Returns where the DNS forwarder listens."""
        problems, listen = preflight.check(self.config, self.output, self.interfaces, live_sources=live)
        fatal = [problem for problem in problems if not problem.retried]
        if fatal:
            raise preflight.StartError(fatal)
        for problem in problems:
            log.warning("%s: starting anyway, opened when it appears", problem)
        return listen

    # ------------------------------------------------------------ life

    def run(self, ready: Callable[[], None] = lambda: None) -> dict:
        self._install_signals()
        if self.user:  # before any thread starts: threads inherit the dropped credentials
            drop_to(self.user, needed_capabilities(self.enforcer is not None, self.dns is not None), [self.output])
        try:
            if self.enforcer:
                self.enforcer.start()
            try:
                if self.dns:
                    self.dns.start()
                self.timeline.start()
                if self.uplink:
                    self._start_uplink()
                self._wait_for_sources()
                self.state = "running"
                self.counts["ready_after_ms"] = round((time.monotonic() - self.started) * 1000)
                self.notifier.ready(status_line(self.stats()))
                ready()
                run(self.monitor, self.timeline, tick=self._tick)
            finally:
                self.state = "stopped"
                self.notifier.stopping()
                self.timeline.stop()
                if self.uplink:
                    self.uplink.stop()
                if self.dns:
                    self.dns.stop()
                if self.enforcer:
                    self.enforcer.stop()
        finally:
            self.log.close("shutdown")
            self._final_stats()
            self.notifier.close()
        return self.stats()

    def _final_stats(self) -> None:
        failed = write_stats(self.output, self.stats())
        if self.failure:
            self.failure = self.log.loss(ended=True) or self.failure  # the counts once all is closed
            self.notifier.status(self._status_of_failure())
        elif failed is not None:
            log.error("%s: the daemon's last counters not written", failed)

    def stop(self) -> None:
        """Stop reading; what the sources delivered is still processed."""
        self.state = "stopping"
        self.timeline.stop()

    def request_reload(self) -> None:
        self.reload_requested.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # embedded (tests): the caller calls stop() and request_reload()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())

    def _start_uplink(self) -> None:
        assert self.uplink is not None
        refused = self.uplink.not_allowed(self.monitor.decider, self.policy)
        if refused:
            self.counts["uplink_not_allowed"] = 1
            log.warning("%s", refused)
        self.uplink.start()

    def _wait_for_sources(self) -> None:
        deadline = time.monotonic() + OPEN_WAIT_S
        for source in self.sources:
            if isinstance(source, LiveSource):  # recordings (bench, tests) open as they read
                source.tried_open.wait(max(0.0, deadline - time.monotonic()))
        self.timeline.raise_source_errors()

    def _tick(self) -> None:
        self.notifier.tick()
        if self.reload_requested.is_set():
            self.reload_requested.clear()
            self._reload()
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + STATS_EVERY_S
            self.log.flush()
            stats = self.stats()
            failed = write_stats(self.output, stats)
            if not self.failure:
                self._check_outputs(failed)
            self.notifier.status(self._status_of_failure() if self.failure else status_line(stats))

    def _check_outputs(self, stats_failed) -> None:
        """Stop on an output failure waiting will not mend, or once something was lost."""
        why = self.log.loss()
        if why is None and stats_failed is not None and stats_failed.fatal:
            why, self._stats_failed = f"{stats_failed}: the daemon's counters not written", stats_failed
        if why is None:
            return
        self.failure = why
        log.error("output failure, stopping: %s", why)
        self.stop()

    def _status_of_failure(self) -> str:
        """STATUS= for systemd: the errno's name, the file, the error and the counts."""
        failure = self.log.failure() or self._stats_failed
        name = errno.errorcode.get(failure.errno or 0, "error") if failure else "error"
        return f"OUTPUT FAILURE ({name}): {self.failure}"

    def _reload(self) -> None:
        try:
            config = load_config(self.config_path)
            if self.enforcer:
                self.enforcer.reload(config.policy)
        except MonitorError as error:
            self.counts["reloads_refused"] += 1
            log.error("reload refused, the running configuration stays: %s", error)
            return
        self.config, self.policy = config, config.policy
        self.monitor.configure(config)
        if self.dns:
            self.dns.decider = self.monitor.decider
        self.counts["reloads"] += 1
        log.warning("configuration reloaded from %s", config.path)

    # ------------------------------------------------------------ sinks

    def _enforce(self, finding: Finding) -> None:
        # Unknown destinations are the kernel's to refuse (default deny); a run-time block would
        # outlive the DNS answer that may list the address later.
        if self.enforcer and finding.action == "block" and finding.category != "unknown":
            destination = Destination.of(finding)
            if destination and destination.address:
                finding.evidence["enforced"] = "cut off" if self.enforcer.block(destination.address) else "already blocked"

    # ------------------------------------------------------------ counters

    def stats(self) -> dict:
        out = {"state": self.state, "mode": self.policy.mode, "config": self.config.path, "core": native.CORE,
               "uptime_s": round(time.monotonic() - self.started, 3), "alerts": self.log.counts["alerts"],
               "alert_log": self.log.summary(),
               "daemon": dict(self.counts),
               "sources": {str(s): {**s.stats.as_dict(), **self.timeline.lane_stats(s),
                                    **({"open": s.is_open} if isinstance(s, LiveSource) else {})} for s in self.sources},
               **self.monitor.summary()}
        if self.enforcer:
            out["enforcer"] = dict(self.enforcer.counts)
        if self.dns:
            out["dns"] = dict(self.dns.counts)
        if self.uplink:
            out["uplink"] = self.uplink.stats()
        return out
