"""The sealed head: ``<stem>.head`` beside a vehicle's alert files, rewritten at every sync.

It names the last synced record (sequence number and hash), the file holding it, the chain's
files at that moment and the chain's algorithm, and carries a seal over those fields: an
HMAC-SHA-256 under the log's key, or a plain SHA-256 digest for logs without one. With the key,
the head cannot be rewritten unseen, so records cut off the end (truncation) and a head edited
to hide it are caught; the algorithm it names tells a verifier without ``--key`` that the log
is keyed instead of letting it check records as plain SHA-256.

    {"format": 2, "seq": 812, "hash": "<64 hex>", "file": "alerts-v-000000000801.jsonl",
     "files": ["alerts-v-000000000001.jsonl", ...], "alg": "hmac-sha256", "seal": "<64 hex>"}

The seal covers those fields in JCS (RFC 8785), as records are hashed. For a head's fields (a
fixed set of ASCII keys, whole numbers, strings and a list of strings) JCS and the form heads
were sealed in before (``json.dumps`` with sorted keys, no spaces, UTF-8) are the same bytes, so
heads written before verify unchanged and the head names no ``canon``.

A head without ``format`` was written before heads were sealed: ``seq``, ``hash`` and ``file``
only, read as before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import rfc8785

from .bounded import HEX64, MAX_INT, whole
from .chain import ALGORITHMS, HMAC, SHA256

FORMAT = 2
#: The head lists the chain's files (about 40 bytes each): 4 MiB holds 100,000 of them.
MAX_HEAD_BYTES = 4 << 20
_SEALED = ("seq", "hash", "file", "files", "alg")


@dataclass
class Head:
    seq: int
    hash: str
    file: str | None
    files: list[str] = field(default_factory=list)
    alg: str | None = None  # None: an old head, without a seal
    seal: str = ""

    @property
    def sealed(self) -> bool:
        return self.alg is not None


def body(head: Head) -> bytes:
    """What the seal covers: the sealed fields and the format, in JCS."""
    fields = {"format": FORMAT, **{name: getattr(head, name) for name in _SEALED}}
    return rfc8785.dumps(fields)


def seal_of(head: Head, key: bytes | None) -> str:
    """The seal the head should carry; "" (matching no seal) when a field has no JCS form
    (a file name holding half a UTF-16 surrogate pair, written by no writer)."""
    try:
        data = body(head)
    except rfc8785.CanonicalizationError:
        return ""
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def write_head(path: Path, seq: int, last: str, file: str | None, files: list[str], key: bytes | None) -> None:
    """Write the sealed head atomically (beside, then renamed over)."""
    head = Head(seq, last, file, files, HMAC if key else SHA256)
    head.seal = seal_of(head, key)
    text = json.dumps({"format": FORMAT, **{name: getattr(head, name) for name in _SEALED}, "seal": head.seal})
    partial = path.with_suffix(".head.partial")
    partial.write_text(text)
    os.replace(partial, path)


def read_head(path: Path) -> tuple[Head | None, str]:
    """(the head, "") or (None, why it cannot be read); (None, "") when there is none."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_HEAD_BYTES + 1)
    except FileNotFoundError:
        return None, ""
    except OSError as error:
        return None, f"cannot read the head file: {error.strerror or error}"
    if len(data) > MAX_HEAD_BYTES:
        return None, f"the head file is larger than {MAX_HEAD_BYTES} bytes"
    try:
        doc = json.loads(data.decode(), parse_constant=_refuse)
    except (ValueError, RecursionError) as error:
        return None, f"the head file is not JSON ({str(error)[:80]})"
    problem = _problem(doc)
    if problem:
        return None, f"the head file is malformed: {problem}"
    if "format" not in doc:
        return Head(doc["seq"], doc["hash"], doc.get("file")), ""
    return Head(doc["seq"], doc["hash"], doc["file"], doc["files"], doc["alg"], doc["seal"]), ""


def _refuse(name: str):
    raise ValueError(f"{name} is not a number")


def _problem(doc: object) -> str:
    if not isinstance(doc, dict):
        return "not a JSON object"
    if not whole(doc.get("seq"), 0, MAX_INT):
        return "seq is not a whole number from 0 to 2^53"
    if not isinstance(doc.get("hash"), str) or not HEX64.fullmatch(doc["hash"]):
        return "hash is not 64 hex digits"
    if doc.get("file") is not None and not isinstance(doc["file"], str):
        return "file is not a file name"
    if "format" not in doc:
        return ""
    if doc["format"] != FORMAT:
        return f"format {str(doc['format'])[:20]} is not {FORMAT}"
    if not isinstance(doc.get("files"), list) or not all(isinstance(name, str) for name in doc["files"]):
        return "files is not a list of file names"
    if doc.get("alg") not in ALGORITHMS:
        return f"alg is not one of {', '.join(ALGORITHMS)}"
    if not isinstance(doc.get("seal"), str) or not HEX64.fullmatch(doc["seal"]):
        return "seal is not 64 hex digits"
    return ""
