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

import numpy as np

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


#: Hash input rows, network byte order: seed, source, destination, protocol, pad, ports.
_V4 = np.dtype([("seed", ">u2"), ("src", ">u4"), ("dst", ">u4"), ("proto", "u1"), ("pad", "u1"),
                ("sport", ">u2"), ("dport", ">u2")])
_V6 = np.dtype([("seed", ">u2"), ("src_hi", ">u8"), ("src_lo", ">u8"), ("dst_hi", ">u8"), ("dst_lo", ">u8"),
                ("proto", "u1"), ("pad", "u1"), ("sport", ">u2"), ("dport", ">u2")])


def community_ids(keys: np.ndarray, seed: int = 0) -> list[str | None]:
    """Community IDs of canonical flow keys (flowkeys.KEY_DTYPE) at once: the hash inputs are
    built as numpy rows, so only SHA-1 and base64 run per flow. ICMP rows are None: their ID
    depends on the first packet's type, which the key does not hold (see ``community_id``)."""
    out: list[str | None] = [None] * len(keys)
    # The key's a side is the lower address (port on ties), as the spec orders source and destination.
    for version, dtype in ((4, _V4), (6, _V6)):
        rows = np.flatnonzero((keys["version"] == version) & ~np.isin(keys["proto"], (ICMP, ICMPV6)))
        if not len(rows):
            continue
        k = keys[rows]
        hashed = np.zeros(len(rows), dtype=dtype)
        hashed["seed"], hashed["proto"] = seed, k["proto"]
        if version == 4:
            hashed["src"], hashed["dst"] = k["a_lo"], k["b_lo"]
        else:
            hashed["src_hi"], hashed["src_lo"], hashed["dst_hi"], hashed["dst_lo"] = k["a_hi"], k["a_lo"], k["b_hi"], k["b_lo"]
        hashed["sport"], hashed["dport"] = k["a_port"], k["b_port"]
        raw, size = hashed.tobytes(), dtype.itemsize
        ends = np.arange(size, len(raw) + 1, size) - np.where(np.isin(k["proto"], PORT_PROTOCOLS), 0, 4)
        sha1 = hashlib.sha1
        digests = b"".join([sha1(raw[start:end]).digest() for start, end in zip(range(0, len(raw), size), ends.tolist())])
        for row, text in zip(rows.tolist(), _base64_ids(digests), strict=True):
            out[row] = text
    return out


def _base64_ids(digests: bytes) -> list[str]:
    """``"1:" + base64(digest)`` for each 20-byte digest, in one base64 call: each digest padded
    with a zero byte to 21 (a multiple of 3) encodes to the same 27 characters and an "A" where
    the digest alone ends in "=" (the zero byte's last six bits)."""
    n = len(digests) // 20
    padded = np.zeros((n, 21), np.uint8)
    padded[:, :20] = np.frombuffer(digests, np.uint8).reshape(n, 20)
    chars = np.frombuffer(base64.b64encode(padded.tobytes()), np.uint8).reshape(n, 28)
    lines = np.empty((n, 31), np.uint8)
    lines[:, :2], lines[:, 2:29], lines[:, 29], lines[:, 30] = np.frombuffer(b"1:", np.uint8), chars[:, :27], ord("="), ord("\n")
    return lines.tobytes().decode("ascii").split("\n")[:n]
