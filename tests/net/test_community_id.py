"""Community ID: the spec example, and the bulk numpy form agrees with the one-flow function."""

from __future__ import annotations

import numpy as np

from monitor.net.community_id import community_id, community_ids


def test_community_id_spec_example() -> None:
    import ipaddress

    src, dst = ipaddress.ip_address("128.232.110.120").packed, ipaddress.ip_address("66.35.250.204").packed
    assert community_id(src, dst, 6, 34855, 80) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert community_id(dst, src, 6, 80, 34855) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="


def test_bulk_community_ids_agree_with_the_spec_function() -> None:
    """community_ids builds the hash inputs as numpy rows; every row must hash like community_id."""
    from monitor.net.flowkeys import KEY_DTYPE

    rng = np.random.default_rng(7)
    n = 400
    keys = np.zeros(n, dtype=KEY_DTYPE)
    keys["version"] = rng.choice([4, 6], n)
    keys["proto"] = rng.choice([6, 17, 132, 47, 50, 1], n)
    for side in ("a", "b"):
        keys[f"{side}_lo"] = rng.integers(0, 2**63, n, dtype=np.uint64) * 2 + 1
        keys[f"{side}_hi"] = np.where(keys["version"] == 6, rng.integers(0, 2**63, n, dtype=np.uint64), 0)
    v4 = keys["version"] == 4
    keys["a_lo"][v4] &= 0xFFFFFFFF
    keys["b_lo"][v4] &= 0xFFFFFFFF
    keys["b_hi"][:50], keys["b_lo"][:50] = keys["a_hi"][:50], keys["a_lo"][:50]  # same address: ports order
    keys["a_port"], keys["b_port"] = rng.integers(0, 65536, n), rng.integers(0, 65536, n)
    # Canonical keys, as flowkeys builds them: the lower address (then port) is side a.
    a_first = [(int(k["a_hi"]), int(k["a_lo"]), int(k["a_port"])) <= (int(k["b_hi"]), int(k["b_lo"]), int(k["b_port"]))
               for k in keys]
    swap = ~np.array(a_first)
    for x, y in (("a_hi", "b_hi"), ("a_lo", "b_lo"), ("a_port", "b_port")):
        keys[x][swap], keys[y][swap] = keys[y][swap].copy(), keys[x][swap].copy()
    bulk = community_ids(keys)
    for key, got in zip(keys, bulk, strict=True):
        size = 4 if key["version"] == 4 else 16
        a = ((int(key["a_hi"]) << 64) | int(key["a_lo"])).to_bytes(size, "big")
        b = ((int(key["b_hi"]) << 64) | int(key["b_lo"])).to_bytes(size, "big")
        if key["proto"] == 1:
            assert got is None  # ICMP IDs need the first packet's type: computed when the flow opens
        else:
            assert got == community_id(b, a, int(key["proto"]), int(key["b_port"]), int(key["a_port"]))
