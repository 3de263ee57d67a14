"""The ``uplink`` section: where the daemon publishes its alert records (off when absent).

    uplink:
      broker: mqtts://broker.fleet.example:8883
      ca_file: fleet-ca.pem          # paths resolve against this file
      cert_file: vehicle.pem         # the vehicle's client certificate ...
      key_file: vehicle.key          # ... and its key
      rate: 200                      # records per second at most while a backlog drains
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import PolicyError
from .yamlfile import Located, existing_file, known_keys

KEYS = ("broker", "ca_file", "cert_file", "key_file", "rate")


@dataclass(frozen=True)
class UplinkSettings:
    broker: str
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    rate: float = 200.0


def load_uplink(doc: Located, config_path: Path) -> UplinkSettings | None:
    node = doc.get("uplink")
    if node is None:
        return None
    if not isinstance(node, Located):
        raise PolicyError(f"{doc.at('uplink')}: uplink must be a mapping with a broker")
    known_keys(node, KEYS, "uplink")
    broker = node.get("broker")
    if not isinstance(broker, str) or not broker.startswith(("mqtt://", "mqtts://")):
        raise PolicyError(f"{node.at('broker') if 'broker' in node else node.at()}: uplink.broker must be "
                          "mqtt://host[:port] or mqtts://host[:port]")
    files = {key: existing_file(node, key, config_path, key) for key in ("ca_file", "cert_file", "key_file") if key in node}
    rate = node.get("rate", 200.0)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
        raise PolicyError(f"{node.at('rate')}: rate must be a positive number of records per second, not {rate!r}")
    return UplinkSettings(broker, rate=float(rate), **files)
