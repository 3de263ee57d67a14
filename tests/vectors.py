"""The shared telematics vectors (../shared/corpus/telematics/vectors.json) as wire bytes."""

from __future__ import annotations

import json
from functools import lru_cache

from .conftest import CORPUS

VECTORS = CORPUS / "telematics" / "vectors.json"


@lru_cache(maxsize=1)
def protocols() -> dict[str, list[dict]]:
    return json.loads(VECTORS.read_text())["protocols"] if VECTORS.exists() else {}


def wire_bytes(vector: dict) -> bytes:
    """The message as a device sends it: hex or text as is; HTTP vectors as a request."""
    if "hex" in vector:
        try:
            return bytes.fromhex(vector["hex"])
        except ValueError:  # one JT/T 808 vendor variant is ASCII in parentheses
            return vector["hex"].encode("latin-1")
    if "text" in vector:
        return vector["text"].encode("latin-1")
    http = vector["http"]
    pairs = http.get("headers", [])
    head = "".join(f"{pairs[i]}: {pairs[i + 1]}\r\n" for i in range(0, len(pairs), 2))
    body = http.get("body", "").encode("latin-1")
    start = f"{http['method']} {http['url']} HTTP/1.1\r\nHost: tracker.example\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    return start.encode("latin-1") + body


def truth(vector: dict) -> tuple[float, float]:
    """The position the source asserts, else the one decoded from the published layout."""
    if "expected_lat" in vector:
        return vector["expected_lat"], vector["expected_lon"]
    return vector["reference_lat"], vector["reference_lon"]
