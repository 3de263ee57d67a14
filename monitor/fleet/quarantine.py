"""Where the collector puts what it will not file: ``quarantine/<day>.jsonl`` under its output
(the day it arrived, UTC: a record's own time is not trusted), one line per refused record or
refused PUBLISH with the reason, the topic and a bounded excerpt, so an operator can see what
was sent and re-file what was refused only for a limit. Every refusal is counted by reason
(``quarantined_<reason>``, in lines) and logged once per reason; past ``max_bytes`` a day only
the counts grow (``quarantine_full``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

EXCERPT = 8192  # bytes of the refused line kept: a whole real record, a bounded slice of anything else


@dataclass
class Quarantine:
    folder: Path
    counts: Counter
    max_bytes: int = 64 << 20
    _day: str = ""
    _handle: BinaryIO | None = None
    _size: int = 0
    _logged: set[str] = field(default_factory=set)

    def put(self, reason: str, topic: str, data: bytes, detail: str = "", lines: int = 1) -> None:
        self.counts[f"quarantined_{reason}"] += lines
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning("quarantined (%s) from %s: %s; further ones are only counted", reason, topic[:120], detail[:200])
        entry = json.dumps({"time": round(time.time(), 3), "reason": reason, "detail": detail[:500], "topic": topic[:256],
                            "lines": lines, "bytes": len(data), "truncated": len(data) > EXCERPT,
                            "excerpt": data[:EXCERPT].decode("utf-8", "replace")}).encode() + b"\n"
        try:
            handle = self._open()
            if self._size + len(entry) > self.max_bytes:
                self.counts["quarantine_full"] += lines
                return
            handle.write(entry)
            self._size += len(entry)
        except OSError as error:
            self.counts["quarantine_write_errors"] += lines
            if "write" not in self._logged:
                self._logged.add("write")
                log.error("cannot write the quarantine in %s: %s", self.folder, error.strerror or error)

    def _open(self) -> BinaryIO:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        if self._handle is None or day != self._day:
            self.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._handle = (self.folder / f"{day}.jsonl").open("ab")
            self._day, self._size = day, self._handle.tell()
        return self._handle

    def flush(self) -> None:
        if self._handle is not None:
            try:
                self._handle.flush()
            except OSError as error:
                self.counts["quarantine_write_errors"] += 1
                log.error("cannot write the quarantine in %s: %s", self.folder, error.strerror or error)

    def close(self) -> None:
        if self._handle is not None:
            self.flush()
            try:
                self._handle.close()
            except OSError:
                self.counts["quarantine_write_errors"] += 1
            self._handle = None
