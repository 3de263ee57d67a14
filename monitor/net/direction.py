"""Which side of a flow is the vehicle: from the configured in-vehicle networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..errors import ConfigError

#: Without configuration: private, shared and link-local ranges are inside the vehicle. A
#: cellular uplink's carrier-grade NAT address (100.64/10) is *not*: it faces the network.
DEFAULT_VEHICLE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                            "fc00::/7", "fe80::/10")


class VehicleNetworks:
    def __init__(self, cidrs: Iterable[str] = DEFAULT_VEHICLE_NETWORKS) -> None:
        self.networks = []
        for cidr in cidrs:
            try:
                self.networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError as error:
                raise ConfigError(f"vehicle network {cidr!r}: {error}") from None

    def contains(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip.version == net.version and ip in net for net in self.networks)

    def direction(self, orig: str, resp: str) -> str:
        """outbound: vehicle to outside; inbound: outside to vehicle; internal; external."""
        inside_orig, inside_resp = self.contains(orig), self.contains(resp)
        if inside_orig and inside_resp:
            return "internal"
        if inside_orig:
            return "outbound"
        if inside_resp:
            return "inbound"
        return "external"
