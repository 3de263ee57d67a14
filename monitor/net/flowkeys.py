"""Bidirectional flow keys for parsed packets, built for a whole batch at once.

A key holds its two endpoints in canonical order (the smaller address/port first), so both
directions of a conversation share one key; ``a_is_src`` says which way each packet went.
ICMP packets key on the address pair only: replies, errors and requests between two hosts
are one flow, as in Suricata. A tunnelled packet keys on its innermost 5-tuple alone, not on
its tunnel depth (Suricata adds its recursion level): a stream an evader splits between
tunnelled and plain packets, or into inner fragments (reassembled without their tunnel),
stays one flow. Packets are grouped by a 64-bit mix of the key fields; the
grouping is checked against the full keys and falls back to exact grouping on a collision.
"""

from __future__ import annotations

import numpy as np

from .headers import IPPROTO_ICMP, IPPROTO_ICMPV6, Headers

KEY_DTYPE = np.dtype([
    ("a_hi", "<u8"), ("a_lo", "<u8"), ("b_hi", "<u8"), ("b_lo", "<u8"),
    ("a_port", "<u2"), ("b_port", "<u2"), ("vlan", "<u4"), ("proto", "u1"), ("version", "u1"),
])

_MIX = np.uint64(0x9E3779B97F4A7C15)


def canonical_keys(h: Headers, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keys, a_is_src) for the given rows of h."""
    src_hi, src_lo = h.src[rows, 0], h.src[rows, 1]
    dst_hi, dst_lo = h.dst[rows, 0], h.dst[rows, 1]
    proto = h.proto[rows]
    icmp = (proto == IPPROTO_ICMP) | (proto == IPPROTO_ICMPV6)
    sport = np.where(icmp, 0, h.sport[rows])
    dport = np.where(icmp, 0, h.dport[rows])
    a_is_src = (src_hi < dst_hi) | ((src_hi == dst_hi) & ((src_lo < dst_lo) | ((src_lo == dst_lo) & (sport <= dport))))
    keys = np.empty(len(rows), dtype=KEY_DTYPE)
    keys["a_hi"] = np.where(a_is_src, src_hi, dst_hi)
    keys["a_lo"] = np.where(a_is_src, src_lo, dst_lo)
    keys["b_hi"] = np.where(a_is_src, dst_hi, src_hi)
    keys["b_lo"] = np.where(a_is_src, dst_lo, src_lo)
    keys["a_port"] = np.where(a_is_src, sport, dport)
    keys["b_port"] = np.where(a_is_src, dport, sport)
    keys["vlan"] = h.vlan[rows]
    keys["proto"] = proto
    keys["version"] = h.version[rows]
    return keys, a_is_src


def group_keys(keys: np.ndarray) -> np.ndarray:
    """An int64 group label per key: equal labels if and only if the keys are equal."""
    mixed = _mix(keys)
    order = np.argsort(mixed, kind="stable")
    sorted_mix = mixed[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = sorted_mix[1:] != sorted_mix[:-1]
    group_sorted = np.cumsum(first) - 1
    leader = order[np.flatnonzero(first)][group_sorted]
    if np.array_equal(keys[order], keys[leader]):
        labels = np.empty(len(keys), dtype=np.int64)
        labels[order] = group_sorted
        return labels
    _, exact = np.unique(keys.view(np.dtype((np.void, KEY_DTYPE.itemsize))), return_inverse=True)
    return exact.ravel().astype(np.int64)


def _mix(keys: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = keys["a_lo"] * _MIX
        for name in ("a_hi", "b_hi", "b_lo"):
            h = (h ^ (h >> np.uint64(29)) ^ keys[name]) * _MIX
        small = (keys["a_port"].astype(np.uint64) << np.uint64(48)) | (keys["b_port"].astype(np.uint64) << np.uint64(32))
        small |= (keys["vlan"].astype(np.uint64) << np.uint64(8)) | keys["proto"].astype(np.uint64)
        small |= keys["version"].astype(np.uint64) << np.uint64(62)
        h = (h ^ (h >> np.uint64(31)) ^ small) * _MIX
        return h ^ (h >> np.uint64(33))
