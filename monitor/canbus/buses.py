"""Which class reads which CAN interface: a lazy registry, as python-can's BACKENDS is.

``socketcan`` takes the raw AF_CAN fast path (kernel timestamps, the SO_RXQ_OVFL drop count);
every other python-can interface goes through python-can. Modules are imported only when a
bus of theirs is opened, so a gateway never loads what it does not use.
"""

from __future__ import annotations

import importlib

from .live import CanBusSource

#: interface name -> (module, class); anything not listed is served by python-can.
BACKENDS: dict[str, tuple[str, str]] = {
    "socketcan": ("monitor.canbus.rawsocket", "RawSocketCanSource"),
}
PYTHON_CAN = ("monitor.canbus.live", "PythonCanSource")


def open_bus(name: str, bus_kwargs: dict, raw_socketcan: bool = True, **kwargs) -> CanBusSource:
    """The source for one bus, named ``name``, configured by python-can keywords (interface,
    channel, bitrate, fd, ...). Not opened yet: its loop opens it and reopens it after failures."""
    interface = str(bus_kwargs.get("interface"))
    module, cls_name = BACKENDS.get(interface, PYTHON_CAN) if raw_socketcan else PYTHON_CAN
    cls = getattr(importlib.import_module(module), cls_name)
    return cls.from_kwargs(name, bus_kwargs, **kwargs)
