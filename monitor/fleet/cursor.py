"""The uplink's place in the alert log: the file, the byte offset after the last record the
broker acknowledged (with all before it) and that record's sequence number. Saved atomically
(written beside, fsynced, renamed), so a crash leaves the old cursor or the new, never half."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Cursor:
    file: str = ""
    offset: int = 0
    seq: int = 0

    @classmethod
    def load(cls, path: Path) -> Cursor:
        try:
            data = json.loads(path.read_text())
            return cls(str(data["file"]), int(data["offset"]), int(data["seq"]))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError):
            os.replace(path, path.with_suffix(".damaged"))  # kept for a look; starting over re-sends, never skips
            return cls()

    def save(self, path: Path) -> None:
        partial = path.with_name(f".{path.name}.partial")
        with partial.open("w") as handle:
            handle.write(json.dumps(asdict(self)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
