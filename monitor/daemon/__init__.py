"""The live daemon: live sources in threads -> one timeline -> the pipeline -> sinks
(alert log, nftables enforcer), with signals, systemd notify and a status file."""

from .service import Daemon

__all__ = ["Daemon"]
