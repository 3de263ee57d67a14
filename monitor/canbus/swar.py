"""SIMD-within-a-register kernels: decimal and hex text to integers, 8 characters per uint64.

Text fields are read as unaligned little-endian uint64 loads at arbitrary byte positions (an
overlapping stride-1 view of the buffer), so the first character sits in the lowest byte. Each
kernel is a handful of whole-column numpy operations; every byte is also validated, so a bad
character is detected, never silently decoded.
"""

from __future__ import annotations

import numpy as np

ONES = np.uint64(0x0101010101010101)
HIGH = np.uint64(0x8080808080808080)
_U = np.uint64


def loads(buf: np.ndarray) -> np.ndarray:
    """A uint64 view whose element i is the 8 bytes of ``buf`` starting at byte i.

    ``buf`` must have 7 spare bytes at its end so every position < len(buf) - 7 can be loaded.
    """
    return np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))


def _in_range(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Per byte of x (all < 0x80): 0x80 where lo <= byte <= hi, else 0."""
    ge_lo = x + _U((0x80 - lo) * 0x0101010101010101)
    gt_hi = x + _U((0x7F - hi) * 0x0101010101010101)
    return ge_lo & ~gt_hi & HIGH


def keep_low_bytes(x: np.ndarray, count: np.ndarray | int, fill: int) -> np.ndarray:
    """Replace all but the first ``count`` characters (low bytes) with ``fill``."""
    count = np.asarray(count, np.uint64)
    partial = (_U(1) << (np.minimum(count, _U(7)) * _U(8))) - _U(1)  # never shifts by 64
    keep = np.where(count >= 8, _U(0xFFFFFFFFFFFFFFFF), partial)
    return (x & keep) | (_U(fill * 0x0101010101010101) & ~keep)


def keep_high_bytes(x: np.ndarray, count: int, fill: int) -> np.ndarray:
    """Replace all but the last ``count`` characters (high bytes) with ``fill``."""
    if count >= 8:
        return x
    drop = _U((1 << (8 * (8 - count))) - 1)
    return (x & ~drop) | (_U(fill * 0x0101010101010101) & drop)


def decimal8(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eight ASCII digits (first digit in the low byte) to their value, and whether all 8 are digits."""
    valid = ((x & HIGH) == 0) & (_in_range(x, 0x30, 0x39) == HIGH)
    d = x - _U(0x3030303030303030)
    d = ((d * _U(10)) + (d >> _U(8))) & _U(0x00FF00FF00FF00FF)
    d = ((d * _U(100)) + (d >> _U(16))) & _U(0x0000FFFF0000FFFF)
    d = ((d * _U(10000)) + (d >> _U(32))) & _U(0xFFFFFFFF)
    return d, valid


def decimal(u64: np.ndarray, end: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """The value of the ``digits`` (<= 18) decimal characters ending before ``end``."""
    value = np.zeros(len(end), np.uint64)
    valid = np.ones(len(end), bool)
    done = 0
    while done < digits:
        take = min(8, digits - done)
        chunk = keep_high_bytes(u64[end - done - 8], take, 0x30)
        part, ok = decimal8(chunk)
        value += part * _U(10**done)
        valid &= ok
        done += take
    return value, valid


def hex_nibbles(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eight ASCII hex digits to nibbles (one per byte), and a 0x80 flag per valid byte."""
    lower = x | _U(0x2020202020202020)  # digits are unchanged by the case bit
    valid = (_in_range(lower, 0x30, 0x39) | _in_range(lower, 0x61, 0x66)) & ~(x & HIGH) & HIGH
    nibbles = (x & _U(0x0F0F0F0F0F0F0F0F)) + _U(9) * ((x >> _U(6)) & ONES)
    return nibbles, valid


def hex_bytes4(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eight hex characters to 4 bytes (first byte lowest, as in the text), and byte validity."""
    nibbles, valid = hex_nibbles(x)
    pairs = ((nibbles << _U(4)) | (nibbles >> _U(8))) & _U(0x00FF00FF00FF00FF)
    pairs = (pairs | (pairs >> _U(8))) & _U(0x0000FFFF0000FFFF)
    pairs = (pairs | (pairs >> _U(16))) & _U(0xFFFFFFFF)
    return pairs, valid


def hex_value(u64: np.ndarray, start: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """The value of ``digits`` (1..8) hex characters starting at ``start``, most significant first."""
    nibbles, valid = hex_nibbles(keep_low_bytes(u64[start], digits, 0x30))
    value = np.zeros(len(start), np.uint64)
    for i in range(digits):
        value = (value << _U(4)) | ((nibbles >> _U(8 * i)) & _U(0xF))
    return value, valid == HIGH
