"""Broker addresses and MQTT v5 client set-up shared by the uplink and the collector.

``mqtt://host:port`` or ``mqtts://host:port`` (TLS; with a CA file and, for the uplink, the
vehicle's client certificate and key)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def parse(cls, url: str, ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None) -> Broker:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ConfigError(f"{url}: a broker is mqtt://host[:port] or mqtts://host[:port]")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ConfigError(f"{url}: the port is not a number from 1 to 65535") from None
        return cls(parts.hostname, port, tls, ca_file, cert_file, key_file)

    def client(self, client_id: str):
        """A paho MQTT v5 client for this broker (not yet connected)."""
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)
        return client


def connect_properties(session_expiry_s: int):
    """CONNECT properties of a persistent session: the broker keeps it (and what is in flight)
    this long after the link drops."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = session_expiry_s
    return properties
