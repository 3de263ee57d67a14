"""The outputs of a run, in one folder: the chained alert log (episodes as OCSF records), the
flow log and the DNS log, named after the vehicle. ``gatewatch replay`` and ``gatewatch run``
both write through this one object.

What could not be written is never silent: ``loss`` says whether any output failed in a way that
stops a run (records or lines lost, or an error a full disk does not explain) and makes the one
line that names the file, the error and the counts written and not written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..config.alerts import AlertSettings
from ..detect.finding import Finding
from ..errors import SourceError
from ..state import VehicleState
from .chain import read_key
from .dnslog import DnsLog
from .episodes import Episodes
from .files import ChainedWriter, LineFile, WriteFailure, WriterSettings, safe_name
from .logfiles import chain_files
from .flowlog import zeek_record
from .record import overflow

OUTPUT_GLOBS = ("alerts-*.jsonl", "alerts-*.head", "flows-*.jsonl", "dns-*.jsonl", "stats.json", "summary.json")


def earlier_outputs(directory: Path) -> list[Path]:
    return sorted(p for pattern in OUTPUT_GLOBS for p in directory.glob(pattern))


def prepare(directory: Path, force: bool = False, append: bool = False) -> None:
    """Make the output folder; refuse one holding an earlier run's logs unless ``force`` (they
    are removed) or ``append`` (the chain continues)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".gatewatch-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise SourceError(f"{directory}: cannot write the output folder: {error.strerror or error}") from None
    earlier = earlier_outputs(directory)
    if earlier and not (force or append):
        raise SourceError(f"{directory}: holds an earlier run's logs ({earlier[0].name}, ...): "
                          "--force replaces them, --append continues the chain")
    if force and not append:
        for path in earlier:
            path.unlink()


class AlertLog:
    def __init__(self, directory: Path, settings: AlertSettings, vin: Callable[[], str | None] = lambda: None,
                 vehicle_id: str | None = None) -> None:
        self.directory = directory
        self.settings = settings
        self.vehicle_id = vehicle_id or settings.vehicle()
        self.vin = vin
        self.writer = ChainedWriter(directory, self.vehicle_id, WriterSettings(
            rotate_bytes=int(settings.rotate_mb * (1 << 20)), rotate_s=settings.rotate_hours * 3600,
            keep_files=settings.keep_files, fsync=settings.fsync, key=read_key(settings.hmac_key_file),
            backlog=settings.backlog, key_file=str(settings.hmac_key_file or "")))
        self.writer.overflow_record = lambda n, first, last, why: overflow(self.vehicle(), n, first, last, why)
        self.episodes = Episodes(self.writer.append, self.vehicle, settings.episode_quiet_s, settings.track_points,
                                 settings.position_decimals)
        name = safe_name(self.vehicle_id)
        self._flows = LineFile(directory / f"flows-{name}.jsonl")
        self._dns_file = LineFile(directory / f"dns-{name}.jsonl")
        self.dns_log = DnsLog(self._dns_file.write, lambda: self.vehicle_id)
        self.counts: Counter = Counter()

    def follow(self, state: VehicleState) -> None:
        """The vehicle state whose VIN the records carry (the Monitor hands in its own)."""
        self.vin = lambda: state.vin

    def vehicle(self) -> dict:
        vin, model = self.vin(), self.settings.vehicle_model
        return {"id": self.vehicle_id, **({"vin": vin} if vin else {}), **({"model": model} if model else {})}

    # ------------------------------------------------------------ what the pipeline hands in

    def finding(self, finding: Finding) -> None:
        if finding.is_alert:
            self.counts["alerts"] += 1
            self.episodes.finding(finding)
        else:
            self.counts["allowed"] += 1

    def flow_finished(self, record: dict) -> None:
        self.counts["flows"] += 1
        self._flows.write(zeek_record(record, self.vehicle_id))
        self.episodes.flow_ended(record)

    def dns(self, flow: dict, ts_ns: int, message) -> None:
        self.dns_log.message(flow, ts_ns, message)

    def tick(self, now: float) -> None:
        self.episodes.tick(now)

    # ------------------------------------------------------------ end

    def flush(self) -> None:
        """Write the flow and DNS lines and the alert records that wait (the disk was full), and
        sync; called every few seconds."""
        self._flows.flush()
        self._dns_file.flush()
        self.writer.flush()

    def close(self, reason: str = "end of input") -> None:
        self.episodes.finish(reason)
        self.dns_log.finish()
        self.writer.close()
        self._flows.close()
        self._dns_file.close()

    def summary(self) -> dict:
        return {"vehicle": self.vehicle(), "alert_files": [p.name for p in chain_files(self.directory, self.writer.stem)],
                "records": self.writer.stats.records, "last_seq": self.writer.seq,
                "resumed_at": self.writer.stats.resumed_at, "files_deleted": self.writer.stats.files_deleted,
                "findings_alerted": self.counts["alerts"], "findings_allowed": self.counts["allowed"],
                "episodes": self.episodes.counts["episodes"], "flows_logged": self.counts["flows"],
                "dns": dict(self.dns_log.counts), **self.health()}

    def health(self) -> dict:
        """Whether everything handed in reached the disk: records waiting in memory, dropped,
        failed writes (the disk full), and log lines waiting and lost."""
        w = self.writer.stats
        lines = (self._flows, self._dns_file)
        waiting = sum(f.waiting for f in lines)
        return {"degraded": self.writer.degraded or bool(w.last_error) or bool(waiting),
                "records_waiting": len(self.writer.backlog), "records_dropped": w.dropped,
                "write_errors": w.write_errors, "last_write_error": w.last_error,
                "log_lines_waiting": waiting, "log_lines_lost": sum(f.lost for f in lines),
                **({"output_failure": str(self.failure())} if self.failure() else {})}

    def failure(self) -> WriteFailure | None:
        """The failure to name: the alert log's first, else a flow or DNS log's."""
        outputs = (self.writer, self._flows, self._dns_file)
        return next((o.fatal for o in outputs if o.fatal), None) or \
            next((o.last_failure for o in outputs if o.last_failure), None)

    def loss(self, ended: bool = False) -> str | None:
        """None while nothing is lost and no error past waiting for room stands; else one line:
        the file, the error, the records written and not written (and the log lines). At the
        end of a run (``ended``) a failure still standing counts too: a sync or head not done."""
        lines = (self._flows, self._dns_file)
        records_lost, lines_lost = self.writer.stats.dropped, sum(f.lost for f in lines)
        standing = ended and any(o.failure for o in (self.writer, *lines))
        failure = self.failure()
        if failure is None or not (records_lost or lines_lost or standing or failure.fatal):
            return None
        text = (f"{failure}: {self.writer.stats.records:,} alert records written, {records_lost:,} not written"
                f"{f', {len(self.writer.backlog):,} waiting' if self.writer.backlog else ''}")
        if lines_lost or any(f.last_failure for f in lines):
            text += f"; {sum(f.written for f in lines):,} flow and DNS log lines written, {lines_lost:,} not written"
        return text
