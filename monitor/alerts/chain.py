"""The hash chain: each record carries its sequence number, the hash of the record before it,
and its own hash over a canonical serialisation (SHA-256; with a key, HMAC-SHA-256).

Canonical: the record as JSON with sorted keys, no spaces, UTF-8, without ``chain.hash``.
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
from pathlib import Path

from ..config.alerts import MAX_KEY_BYTES
from ..errors import ConfigError

GENESIS = "0" * 64
CHAIN = "chain"  # under record["unmapped"]
SHA256, HMAC = "sha256", "hmac-sha256"
ALGORITHMS = (SHA256, HMAC)
MIN_KEY_BYTES = 16


def canonical(record: dict) -> bytes:
    chain = dict(record["unmapped"][CHAIN])
    chain.pop("hash", None)
    body = {**record, "unmapped": {**record["unmapped"], CHAIN: chain}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(record: dict, key: bytes | None) -> str:
    data = canonical(record)
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal(record: dict, seq: int, prev: str, key: bytes | None) -> dict:
    """Add the chain to ``record`` (in place) and return it."""
    record["metadata"]["sequence"] = seq
    record["unmapped"][CHAIN] = {"seq": seq, "prev": prev, "alg": HMAC if key else SHA256}
    record["unmapped"][CHAIN]["hash"] = digest(record, key)
    return record


def chain_of(record: dict) -> dict:
    return record.get("unmapped", {}).get(CHAIN, {})


def read_key(path: str | Path | None) -> bytes | None:
    """The HMAC key in ``path`` (surrounding white space removed), read within MAX_KEY_BYTES."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            key = handle.read(MAX_KEY_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the HMAC key file: {error.strerror or error}") from None
    if len(key) > MAX_KEY_BYTES:
        raise ConfigError(f"{path}: the HMAC key file is larger than {MAX_KEY_BYTES} bytes: not a key file")
    key = key.strip()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{path}: the HMAC key must be at least {MIN_KEY_BYTES} bytes")
    return key
