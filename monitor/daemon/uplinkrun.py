"""The daemon's uplink: the fleet/uplink.py publisher on the daemon's own output folder, in a
thread of its own, and the start-up check that the policy lets its traffic out."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from pathlib import Path

from ..config.uplink import UplinkSettings
from ..detect.finding import Destination

log = logging.getLogger(__name__)


class DaemonUplink:
    def __init__(self, settings: UplinkSettings, output: Path, vehicle: str) -> None:
        import paho.mqtt.client  # noqa: F401 - here, not in the thread: a missing fleet extra stops the start
        from ..fleet.broker import Broker
        from ..fleet.uplink import Uplink

        self.broker = Broker.parse(settings.broker, settings.ca_file, settings.cert_file, settings.key_file)
        self.uplink = Uplink(output, self.broker, output / ".uplink", rate=settings.rate, client_name=vehicle)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.uplink.run, args=(self.stop_event,), name="uplink", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)

    def stats(self) -> dict:
        return {**self.uplink.stats.__dict__, "cursor": dict(self.uplink.cursor.__dict__)}

    def not_allowed(self, decider, policy) -> str | None:
        """Why the policy would not let the uplink reach its broker (None: it would)."""
        destination = Destination(self._address(), self.broker.port, "tcp", (self.broker.host.lower(),))
        verdict = decider.decide_unknown(destination)
        if verdict is not None and verdict.action == "allow":
            return None
        if verdict is None and policy.default == "allow" and policy.mode != "enforce":
            return None
        where = f"{self.broker.host}:{self.broker.port}"
        why = f"rule {verdict.rule} says {verdict.action}" if verdict else "no rule allows it"
        return (f"the uplink's broker {where} is not allowed by the policy ({why}): add it to a destination set an "
                f"allow rule names{', or enforce mode refuses it' if policy.mode == 'enforce' else ''}")

    def _address(self) -> str | None:
        try:
            return str(ipaddress.ip_address(self.broker.host))
        except ValueError:
            try:
                return str(socket.getaddrinfo(self.broker.host, self.broker.port, proto=socket.IPPROTO_TCP)[0][4][0])
            except OSError:
                return None  # no DNS yet: the name alone is judged
