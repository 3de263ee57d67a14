"""Detectors: one module per family, one interface (base.Detector), registered here.

Families: wire signatures (layer 1), CAN-to-network taint (layer 2), flow behaviour
(layer 3), CAN rules (unknown ids, DBC ranges, timing), payload models per CAN id, signal
pairs across ids, UDS transfers and remote access. The judge of flows
to destinations in no named set (unknown.py) is built by the pipeline, which hands it the
policy's judgement.
"""

from __future__ import annotations

from .base import Detector
from .behaviour import Behaviour
from .canpayload import PayloadModels
from .canside import CanRules
from .cansignals import SignalPairs
from .remote import RemoteAccess
from .signatures import WireSignatures
from .taint import Taint
from .uds import UdsTransfers

REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls for cls in (WireSignatures, Taint, Behaviour, CanRules, PayloadModels, SignalPairs, UdsTransfers,
                RemoteAccess)
}


def build_detectors(names: list[str] | None = None) -> list[Detector]:
    return [REGISTRY[name]() for name in (names or list(REGISTRY))]


def threshold_sections() -> dict[str, type]:
    """Every threshold section the registered detectors own: the configuration's ``detectors``
    keys, collected here so the loader knows no detector."""
    sections: dict[str, type] = {}
    for cls in REGISTRY.values():
        for name, kind in cls.sections.items():
            if sections.setdefault(name, kind) is not kind:
                raise TypeError(f"threshold section {name!r} claimed by two detectors")
    return sections
