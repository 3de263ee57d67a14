"""Which side of a flow is the vehicle: from the configured in-vehicle networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import numpy as np

from ..errors import ConfigError

MASK64 = (1 << 64) - 1

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

        # (version, first, last) as integers: membership is two comparisons per network.
        self.ranges = [(n.version, int(n.network_address), int(n.broadcast_address)) for n in self.networks]

    def contains(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return self.contains_int(ip.version, int(ip))

    def contains_int(self, version: int, value: int) -> bool:
        return any(v == version and first <= value <= last for v, first, last in self.ranges)

    def inside(self, version: np.ndarray, address: np.ndarray) -> np.ndarray:
        """Vectorized membership: address is uint64 [N, 2] (high, low halves; IPv4 in low)."""
        hi, lo = address[:, 0], address[:, 1]
        out = np.zeros(len(version), dtype=bool)
        for v, first, last in self.ranges:
            if v == 4:
                out |= (version == 4) & (lo >= first) & (lo <= last)
            else:
                f_hi, f_lo, l_hi, l_lo = first >> 64, first & MASK64, last >> 64, last & MASK64
                above = (hi > f_hi) | ((hi == f_hi) & (lo >= f_lo))
                below = (hi < l_hi) | ((hi == l_hi) & (lo <= l_lo))
                out |= (version == 6) & above & below
        return out

    def direction(self, orig: str, resp: str) -> str:
        """outbound: vehicle to outside; inbound: outside to vehicle; internal; external."""
        return self.direction_int(*_as_int(orig), *_as_int(resp))

    def direction_int(self, orig_version: int, orig: int, resp_version: int, resp: int) -> str:
        inside_orig = self.contains_int(orig_version, orig)
        inside_resp = self.contains_int(resp_version, resp)
        if inside_orig and inside_resp:
            return "internal"
        if inside_orig:
            return "outbound"
        if inside_resp:
            return "inbound"
        return "external"


def _as_int(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)
