"""The one detector interface, and the runner that keeps detectors apart.

A detector declares the threshold sections it owns (``sections``: name -> frozen dataclass;
the configuration loader collects them from the registry), is configured once, then sees
batches in time order through typed methods: ``on_can(view: CanView, state)`` and
``on_net(view: NetView, state)`` return findings; a detector overrides the ones it consumes.
``finish(state)`` flushes what is pending at the end of input. Detectors are pure over their
inputs and their own state and take time from the data.

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
    from ..config.model import Thresholds
    from ..net.view import NetView
    from ..state import VehicleState
    from .canview import CanView

log = logging.getLogger(__name__)


class Detector:
    name: ClassVar[str] = "detector"
    sections: ClassVar[dict[str, type]] = {}  # threshold sections this detector owns

    def configure(self, thresholds: Thresholds) -> None:
        """Take the thresholds from the configuration. Called once, before the first batch."""

    def on_can(self, view: CanView, state: VehicleState) -> list[Finding]:
        """Decoded CAN frames of one batch (only called where a detector overrides it)."""
        return []

    def on_net(self, view: NetView, state: VehicleState) -> list[Finding]:
        """Parsed packets of one batch with their flows (only where overridden)."""
        return []

    @classmethod
    def consumes(cls, kind: str) -> bool:
        """Does this detector override ``on_<kind>``?"""
        return getattr(cls, f"on_{kind}") is not getattr(Detector, f"on_{kind}")

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
        self._can = [d for d in detectors if d.consumes("can")]
        self._net = [d for d in detectors if d.consumes("net")]
        self.configure(thresholds)

    def configure(self, thresholds: Thresholds) -> None:
        """(Re)configure every detector; a reload calls this with the new thresholds."""
        for detector in self.detectors:
            detector.configure(thresholds)

    def on_can(self, view: CanView, state: VehicleState) -> list[Finding]:
        return self._each(self._can, "on_can", view, state)

    def on_net(self, view: NetView, state: VehicleState) -> list[Finding]:
        return self._each(self._net, "on_net", view, state)

    def _each(self, detectors: list[Detector], method: str, view: Any, state: VehicleState) -> list[Finding]:
        found: list[Finding] = []
        for detector in detectors:
            found += self._guarded(detector, partial(getattr(detector, method), view, state))
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
