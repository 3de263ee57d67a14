"""Which side of a flow is the vehicle: from the configured in-vehicle networks.

The one rule, used for packets (detectors), flows (records, findings) and destinations (the
decider): the side inside the vehicle networks is the vehicle. When neither side is inside
(a capture on the uplink, whose own address is public or carrier NAT), the flow's originator
is the vehicle: the flow is outbound. Both inside: internal. The remote destination is the
responder of an outbound flow and the originator of an inbound one.

Loopback (127/8, ::1, IPv4-mapped 127/8) and link-local (169.254/16, fe80::/10) addresses are
always on the vehicle's side, whatever the configured networks: such a packet never leaves
the host or the link, so a flow between two of them is internal, never outbound. A flow
between one of them and an address outside stays outbound or inbound by the rule above: the
outside end is a remote, and calling it local would let an evader hide a flow to the world
behind a spoofed link-local source.
"""

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
#: Always the vehicle's side: loopback and link-local (see the module docstring).
ON_HOST_OR_LINK = ("127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104", "169.254.0.0/16", "fe80::/10")


class VehicleNetworks:
    def __init__(self, cidrs: Iterable[str] = DEFAULT_VEHICLE_NETWORKS) -> None:
        self.networks = []
        for cidr in cidrs:
            try:
                self.networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError as error:
                raise ConfigError(f"vehicle network {cidr!r}: {error}") from None

        # (version, first, last) as integers: membership is two comparisons per network.
        always = [ipaddress.ip_network(cidr) for cidr in ON_HOST_OR_LINK]
        ranges = {(n.version, int(n.network_address), int(n.broadcast_address)) for n in [*self.networks, *always]}
        self.ranges = sorted(ranges)

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
        """outbound: the vehicle started it; inbound: outside started it; internal."""
        return self.direction_int(*_as_int(orig), *_as_int(resp))

    def direction_int(self, orig_version: int, orig: int, resp_version: int, resp: int) -> str:
        inside_orig = self.contains_int(orig_version, orig)
        inside_resp = self.contains_int(resp_version, resp)
        return flow_direction(inside_orig, inside_resp)


def flow_direction(orig_inside: bool, resp_inside: bool) -> str:
    if orig_inside and resp_inside:
        return "internal"
    return "inbound" if resp_inside and not orig_inside else "outbound"


def sent_by_vehicle(src_inside: np.ndarray, dst_inside: np.ndarray, from_orig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outbound, inbound) per packet by the same rule as ``flow_direction``: a packet leaves
    when its sender is the vehicle side; where neither side is inside, the originator's side."""
    neither = ~src_inside & ~dst_inside
    return (src_inside & ~dst_inside) | (neither & from_orig), (~src_inside & dst_inside) | (neither & ~from_orig)


def remote_side(direction: str | None) -> str:
    """Which end of a flow record ("orig" or "resp") is the remote destination."""
    return "orig" if direction == "inbound" else "resp"


def _as_int(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)
