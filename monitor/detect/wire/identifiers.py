"""Vehicle and device identifiers in plaintext, without help from CAN: a VIN (ISO 3779: 17
characters without I, O, Q) or an IMEI (15 digits, Luhn check digit) in an uplink payload.

Found two ways, so random tokens do not count:
- labelled: a JSON key or a form/query field named vin / imei (any case: "vin", "VIN",
  "vehicle_vin", "imei", "device_imei"), whose value has the right form (for an IMEI, the
  right Luhn digit);
- unlabelled: a VIN whose check digit (position 9, the North American rule also used widely
  elsewhere) is right. Unlabelled IMEIs are not reported: too many 15-digit numbers pass Luhn.
"""

from __future__ import annotations

import re

from .match import Match

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VALUES = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9]))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN = re.compile(rb"(?<![A-Za-z0-9])([A-HJ-NPR-Z0-9]{17})(?![A-Za-z0-9])")
# Labelled values are found from their label word, never by a pattern that starts at every byte:
# a lazy key prefix tried at each offset of a run of letters was quadratic (16 KB: 3.5 s), and
# these bytes come from outside. The word is found in one linear pass; the key's prefix is read
# backwards and the value forwards, each within a fixed bound.
LABEL_WORD = re.compile(rb"vin|imei", re.IGNORECASE)
LABEL_VALUE = re.compile(rb"""["']?[ \t\r\n]{0,8}[:=][ \t\r\n]{0,8}["']?([A-Za-z0-9]{15,17})(?![A-Za-z0-9])""")
KEY_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
MAX_KEY_PREFIX = 64


def vin_check_digit_ok(vin: str) -> bool:
    total = sum((int(c) if c.isdigit() else _VALUES[c]) * w for c, w in zip(vin, _WEIGHTS))
    expected = total % 11
    return vin[8] == ("X" if expected == 10 else str(expected))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def identifiers(payload: bytes) -> list[Match]:
    found: dict[tuple[str, str], Match] = {}
    for key_bytes, value_bytes in _labelled(payload):
        key, value = key_bytes.decode().lower(), value_bytes.decode()
        if key.endswith("vin") and len(value) == 17 and all(c in VIN_CHARS for c in value.upper()):
            found[("vin", value.upper())] = _match("vin", value.upper(), f"labelled {key_bytes.decode()!r}", 0.9)
        elif key.endswith("imei") and len(value) == 15 and value.isdigit() and luhn_ok(value):
            found[("imei", value)] = _match("imei", value, f"labelled {key_bytes.decode()!r}", 0.9)
    for m in VIN.finditer(payload):
        value = m.group(1).decode()
        if ("vin", value) not in found and any(c.isalpha() for c in value) and vin_check_digit_ok(value):
            found[("vin", value)] = _match("vin", value, "check digit valid", 0.75)
    return list(found.values())


def _labelled(payload: bytes):
    """(key, value) for each label word followed by a separator and a value of the right size."""
    for word in LABEL_WORD.finditer(payload):
        value = LABEL_VALUE.match(payload, word.end())
        if value is None:
            continue
        start, floor = word.start(), max(0, word.start() - MAX_KEY_PREFIX)
        while start > floor and payload[start - 1] in KEY_CHARS:
            start -= 1
        yield payload[start:word.end()], value.group(1)


def _match(kind: str, value: str, how: str, confidence: float) -> Match:
    return Match("identity", "identifier", f"{kind.upper()} in plaintext ({how})", confidence,
                 identity={kind: value}, evidence={"identifier": kind, "found_by": how})
