"""Detectors: one module per family, one interface (base.Detector), registered here.

Families: wire signatures (layer 1), CAN-to-network taint (layer 2), flow behaviour
(layer 3), CAN rules (unknown ids, DBC ranges, timing) and UDS transfers.
"""

from __future__ import annotations

from .base import Detector
from .behaviour import Behaviour
from .canside import CanRules
from .signatures import WireSignatures
from .taint import Taint
from .uds import UdsTransfers

REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls for cls in (WireSignatures, Taint, Behaviour, CanRules, UdsTransfers)
}


def build_detectors(names: list[str] | None = None) -> list[Detector]:
    return [REGISTRY[name]() for name in (names or list(REGISTRY))]
