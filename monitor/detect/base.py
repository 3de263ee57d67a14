"""The one detector interface, and the runner that keeps detectors apart.

A detector is configured once from the policy's thresholds, then sees batches in time order:
``observe(view, state)`` returns findings. ``view`` is a CanView (decoded CAN frames) or a
NetView (packets with their flows); a detector says which it consumes. ``finish(state)``
flushes what is pending at the end of input. Detectors are pure over their inputs and their
own state and take time from the data.

The runner calls each detector inside its own try/except: a detector that raises is logged
(once per detector and exception type), counted, and skipped for that batch; the others run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from .finding import Finding

if TYPE_CHECKING:
    from ..policy.model import Thresholds
    from ..state import VehicleState

log = logging.getLogger(__name__)


class Detector:
    name: ClassVar[str] = "detector"
    consumes: ClassVar[str] = "net"  # "net" or "can"

    def configure(self, thresholds: Thresholds) -> None:
        """Take the thresholds from the policy. Called once, before the first batch."""

    def observe(self, view: Any, state: VehicleState) -> list[Finding]:
        raise NotImplementedError

    def finish(self, state: VehicleState) -> list[Finding]:
        return []

    def stats(self) -> dict:
        return {}


@dataclass
class RunnerStats:
    findings: Counter = field(default_factory=Counter)  # detector -> findings
    errors: Counter = field(default_factory=Counter)  # detector -> batches it raised on


class DetectorRunner:
    def __init__(self, detectors: list[Detector], thresholds: Thresholds) -> None:
        self.detectors = detectors
        self.stats = RunnerStats()
        self._logged: set[tuple[str, str]] = set()
        for detector in detectors:
            detector.configure(thresholds)

    def observe(self, kind: str, view: Any, state: VehicleState) -> list[Finding]:
        found: list[Finding] = []
        for detector in self.detectors:
            if detector.consumes == kind:
                found += self._guarded(detector, partial(detector.observe, view, state))
        return found

    def finish(self, state: VehicleState) -> list[Finding]:
        found: list[Finding] = []
        for detector in self.detectors:
            found += self._guarded(detector, partial(detector.finish, state))
        return found

    def _guarded(self, detector: Detector, call: Callable[[], list[Finding]]) -> list[Finding]:
        try:
            found = list(call())
        except Exception as error:  # isolation is the point: one bad detector never stops the rest
            self.stats.errors[detector.name] += 1
            key = (detector.name, type(error).__name__)
            if key not in self._logged:
                self._logged.add(key)
                log.error("detector %s raised %s: %s (batch skipped for this detector; counted)",
                          detector.name, type(error).__name__, error, exc_info=log.isEnabledFor(logging.DEBUG))
            return []
        self.stats.findings[detector.name] += len(found)
        return found

    def summary(self) -> dict:
        return {
            "findings_by_detector": dict(self.stats.findings),
            "detector_errors": dict(self.stats.errors),
            "detectors": {d.name: d.stats() for d in self.detectors if d.stats()},
        }
