"""Which chain algorithm, and which key, each vehicle's records must carry: the collector's
configuration, never the record's claim. A record saying ``sha256`` from a vehicle that seals
with HMAC, or saying nothing, would otherwise let anyone who can publish re-hash an edited
record without the key and have it filed as genuine.

``--keys DIR`` holds one file per vehicle, ``<vehicle>.key`` (the vehicle's id as its topic and
folders spell it), with the key the vehicle's ``alerts.hmac_key_file`` holds. A vehicle with a
key must seal every record with HMAC-SHA-256 under it. Any other vehicle must use the default
algorithm: ``sha256`` unless configured ``hmac-sha256``, in which case a vehicle without a key
has none of its records accepted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from ..alerts.chain import digest, read_key
from ..errors import ConfigError

ALGORITHMS = ("sha256", "hmac-sha256")
MAX_KEYS = 1_000_000


@dataclass(frozen=True)
class Keys:
    keys: dict[str, bytes] = field(default_factory=dict)  # vehicle -> HMAC key
    default: str = "sha256"  # the algorithm of a vehicle without a key

    @classmethod
    def load(cls, folder: Path | None, default: str = "sha256") -> Keys:
        if default not in ALGORITHMS:
            raise ConfigError(f"the default chain algorithm is one of {', '.join(ALGORITHMS)}, not {default!r}")
        if folder is None:
            return cls({}, default)
        if not folder.is_dir():
            raise ConfigError(f"{folder}: not a folder of <vehicle>.key files")
        keys = {}
        for path in sorted(folder.glob("*.key"))[:MAX_KEYS]:
            keys[path.stem] = read_key(path)  # capped, stripped, at least MIN_KEY_BYTES: as the vehicle reads it
        return cls(keys, default)

    def expected(self, vehicle: str) -> tuple[str, bytes | None]:
        key = self.keys.get(vehicle)
        return ("hmac-sha256", key) if key is not None else (self.default, None)

    def problem(self, vehicle: str, record: dict, chain: dict) -> str | None:
        """Why the record's seal is not the one this vehicle must use; None when it is."""
        alg, key = self.expected(vehicle)
        claimed = chain.get("alg")
        if claimed != alg:
            said = "no algorithm" if claimed is None else f"algorithm {str(claimed)[:20]!r}"
            return f"the record claims {said}; this vehicle must use {alg}"
        if alg == "hmac-sha256" and key is None:
            return "this vehicle must seal with HMAC and the collector has no key for it"
        if not hmac.compare_digest(digest(record, key), chain["hash"]):
            return "the record does not match its hash"
        return None
