"""Community ID v1 (github.com/corelight/community-id-spec): the flow hash Suricata and Zeek
print, so a gatewatch flow can be joined with their logs.

SHA-1 over seed, the ordered addresses, protocol, a zero pad byte and the ordered ports, in
network byte order; ICMP types stand in for ports, with request/reply types mapped to each
other so both directions of an exchange get one ID.
"""

from __future__ import annotations

import base64
import hashlib
import struct

ICMP, ICMPV6 = 1, 58
PORT_PROTOCOLS = (6, 17, 132, ICMP, ICMPV6)  # TCP, UDP, SCTP carry ports; ICMP maps types

ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
               139: 140, 140: 139, 144: 145, 145: 144}


def community_id(src: bytes, dst: bytes, proto: int, sport: int, dport: int, seed: int = 0) -> str:
    """``src``/``dst`` are packed addresses (4 or 16 bytes); for ICMP, sport/dport are type/code."""
    one_way = False
    if proto in (ICMP, ICMPV6):
        pairs = ICMP4_PAIRS if proto == ICMP else ICMP6_PAIRS
        if sport in pairs:
            dport = pairs[sport]
        else:
            one_way = True
    if not (one_way or src < dst or (src == dst and sport < dport)):
        src, dst, sport, dport = dst, src, dport, sport
    data = struct.pack("!H", seed) + src + dst + struct.pack("!BB", proto, 0)
    if proto in PORT_PROTOCOLS:
        data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
