"""The hash chain: each record carries its sequence number, the hash of the record before it,
and its own hash over a canonical serialisation (SHA-256; with a key, HMAC-SHA-256).

Canonical: the record without ``chain.hash``, serialised per RFC 8785 (JCS: keys sorted by
their UTF-16 code units, no spaces, numbers as ECMAScript prints IEEE doubles, minimal string
escaping, UTF-8), so any language's JCS library and SHA-256 check a record (docs/alert-chain.md
has a shell recipe). The record names it, ``canon: "jcs"``; records without ``canon`` were
written before and are read in the old form, Python's ``json.dumps(sort_keys=True)``, which
writes ``1.0`` where JCS writes ``1``. A chain may move from the old form to JCS, never back
(verify.py). An integer JCS cannot carry exactly (beyond +-(2^53 - 1)) or a float that is not
finite is written as a string (RFC 8785 appendix D), so the writer never fails on one.
Plain SHA-256 shows edits, deletions, insertions and reordering to anyone who did not rewrite
the whole chain after the change; an HMAC key kept off the log makes rewriting impossible
without the key. Which of the two a log uses is the key's to say (or the sealed head's, see
head.py), never the record's: ``alg`` only says what the writer did. docs/alert-chain.md has
the threat model.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path
from typing import Any

import rfc8785

from ..config.alerts import MAX_KEY_BYTES
from ..errors import ConfigError
from ..limits import read_at_most

GENESIS = "0" * 64
CHAIN = "chain"  # under record["unmapped"]
SHA256, HMAC = "sha256", "hmac-sha256"
ALGORITHMS = (SHA256, HMAC)
MIN_KEY_BYTES = 16


JCS = "jcs"  # unmapped.chain.canon; absent: the old form (LEGACY)
LEGACY = "python-sorted"  # only ever named in messages: old records carry no canon
CANONS = (JCS,)
#: Integers JCS carries exactly (RFC 8785 3.2.2.3: IEEE doubles); the rest are written as strings.
SAFE_INT = 2**53 - 1


class CanonError(ValueError):
    """A record that has no canonical form: an unknown ``canon``, or a value JCS cannot carry."""


def canon_of(chain: dict) -> str:
    return chain.get("canon", LEGACY)


def canonical(record: dict) -> bytes:
    """The bytes the record's hash covers, in the form its ``canon`` names."""
    chain = dict(record["unmapped"][CHAIN])
    chain.pop("hash", None)
    body = {**record, "unmapped": {**record["unmapped"], CHAIN: chain}}
    canon = canon_of(chain)
    if canon == LEGACY:
        try:
            return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise CanonError("input contains non-UTF-8 codepoints") from None
    if canon != JCS:
        raise CanonError(f"canon {json.dumps(canon)[:40]} is not one of {', '.join(CANONS)}")
    try:
        return rfc8785.dumps(body)
    except rfc8785.CanonicalizationError as error:
        raise CanonError(str(error)[:120]) from None


def digest(record: dict, key: bytes | None) -> str:
    """The record's hash as it should be; "" (matching no hash) when it has no canonical form,
    so a hostile record is a mismatch to the collector, not an exception."""
    try:
        return mac(canonical(record), key)
    except CanonError:
        return ""


def mac(data: bytes, key: bytes | None) -> str:
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal(record: dict, seq: int, prev: str, key: bytes | None) -> dict:
    """Add the chain to ``record`` (in place) and return it."""
    record["metadata"]["sequence"] = seq
    record["unmapped"][CHAIN] = {"seq": seq, "prev": prev, "alg": HMAC if key else SHA256, "canon": JCS}
    for holder, name in _out_of_domain(record):
        holder[name] = json.dumps(holder[name])  # RFC 8785 appendix D: kept as text ("NaN", "1152921504606846976")
    record["unmapped"][CHAIN]["hash"] = mac(canonical(record), key)
    return record


def _out_of_domain(value: Any) -> list[tuple[Any, Any]]:
    """Where the record holds an integer beyond SAFE_INT or a float that is not finite, as
    (holder, key or index): JCS cannot write them, and a JSON reader in another language would
    not read them back exactly. Tuples on the way become lists, which can be mended in place
    (json writes both as arrays)."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        holder = stack.pop()
        items = list(holder.items()) if isinstance(holder, dict) else list(enumerate(holder))
        for name, item in items:
            if isinstance(item, tuple):
                item = holder[name] = list(item)
            if isinstance(item, dict | list):
                stack.append(item)
            elif (isinstance(item, int) and not isinstance(item, bool) and abs(item) > SAFE_INT) or (
                    isinstance(item, float) and not math.isfinite(item)):
                found.append((holder, name))
    return found


def chain_of(record: dict) -> dict:
    return record.get("unmapped", {}).get(CHAIN, {})


def read_key(path: str | Path | None) -> bytes | None:
    """The HMAC key in ``path`` (surrounding white space removed), read within MAX_KEY_BYTES."""
    if not path:
        return None
    try:
        key = read_at_most(Path(path), MAX_KEY_BYTES)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the HMAC key file: {error.strerror or error}") from None
    if key is None:
        raise ConfigError(f"{path}: the HMAC key file is larger than {MAX_KEY_BYTES} bytes: not a key file")
    key = key.strip()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{path}: the HMAC key must be at least {MIN_KEY_BYTES} bytes")
    return key
