"""Checking a vehicle's chain: every line, every record's own hash under the expected
algorithm, the link to the record before it, the sequence, and the sealed head. Every break
is named with file:line and its kind:

- invalid: a line that is not a valid record (invalid JSON, NUL bytes, wrong types or
  out-of-range numbers in the chain, the sequence or the time, too long, nested too deep);
- downgraded: under ``--key``, a record (or the head) sealed with plain SHA-256; or a record in
  the old canonical form (no ``canon``) after one in JCS: a chain moves to JCS, never back;
- edited: a record's content no longer matches its hash;
- wrong key: no record matches under the key given (or HMAC records checked without a key);
- keyed: the head says the log is keyed and no ``--key`` was given;
- deleted: sequence numbers are missing and do not appear later;
- reordered: a record stands before one with a lower number that appears later;
- inserted: a record repeats a sequence number, or fits the sequence but does not link;
- truncated: the last line is cut off, or the head file says the chain went further;
- head: the head file is unreadable, does not match its seal, or disagrees with the records.

Each record's canonical form is the one its ``canon`` names (chain.py: JCS, or the old form
when absent); ``canon`` is inside what the hash covers. The algorithm is the key's to say (``--key``: HMAC from the first record) or, without one, the
sealed head's: never a record's. Reading is streamed and bounded (bounded.py): one record in
memory at a time, gaps kept as at most MAX_GAPS ranges, at most MAX_KEPT breaks and notes kept
(the rest counted), so a log of any size verifies in time linear in its length.

A chain whose first files were removed by retention starts at a later sequence number: that
is said, not failed. A line cut off by a crash, when the next record links across it, is a note.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from .bounded import Line, parse, read_lines
from .chain import CHAIN, GENESIS, HMAC, JCS, LEGACY, CanonError, canon_of, canonical, mac
from .head import Head, read_head, seal_of
from .logfiles import vehicle_logs

MAX_GAPS = 10_000  # gap ranges tracked (to tell reordered from deleted); the rest only counted
MAX_KEPT = 100  # breaks and notes kept for the report; the rest only counted
GAPS_SHOWN = 10


@dataclass
class Break:
    kind: str
    where: str  # file:line
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.detail}"


@dataclass
class ChainReport:
    name: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    breaks: list[Break] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more_breaks: int = 0  # past MAX_KEPT, counted
    more_notes: int = 0
    missing: int = 0  # sequence numbers never seen, below the last
    gaps: list[tuple[int, int]] = field(default_factory=list)  # the first GAPS_SHOWN missing ranges
    gap_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def problems(self) -> int:
        return len(self.breaks) + self.more_breaks

    def add(self, kind: str, where: str, detail: str) -> Break:
        found = Break(kind, where, detail)
        if len(self.breaks) < MAX_KEPT:
            self.breaks.append(found)
        else:
            self.more_breaks += 1
        return found

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_KEPT:
            self.notes.append(text)
        else:
            self.more_notes += 1


def verify_all(paths: list[Path], key: bytes | None) -> list[ChainReport]:
    return [verify_chain(folder, stem, files, key) for (folder, stem), files in sorted(vehicle_logs(paths).items())]


def verify_chain(folder: Path, stem: str, files: list[Path], key: bytes | None) -> ChainReport:
    report = ChainReport(f"{folder}/{stem}")
    head_path = folder / f"{stem}.head"
    head, problem = read_head(head_path)
    where = f"{head_path}:1"
    if head and head.alg == HMAC and key is None:
        report.add("keyed", where, "the head says the log is sealed with an HMAC key (hmac-sha256): "
                                   "it cannot be checked without --key")
        return report
    walk = _Walk(report, key, head)
    for path in files:
        for line in read_lines(path):
            walk.line(line)
    walk.end()
    _check_head(report, walk, head, problem, where, key, folder, files)
    return report


class _Walk:
    """The chain's state as its lines stream past: what comes next, the gaps, a cut line
    waiting for the record after it."""

    def __init__(self, report: ChainReport, key: bytes | None, head: Head | None) -> None:
        self.report, self.key, self.head = report, key, head
        self.expected: int | None = None  # the next sequence number (None before the first record)
        self.prev = GENESIS
        self.gaps: list[list] = []  # [first, last, Break] of missing numbers, in order
        self.untracked_gaps = 0
        self.cut: tuple[Line, str] | None = None  # a cut-off line and why it is not a record
        self.last_line: Line | None = None
        self.matched = self.keyed = 0  # records whose HMAC holds / that carry one
        self.first_where = ""
        self.jcs_since = ""  # file:line of the first record in JCS: no record after it may go back
        self.head_record: tuple[str, str] | None = None  # (hash, file:line) of the record the head names
        self.stopped = False

    def line(self, line: Line) -> None:
        if self.stopped:
            return
        self.last_line = line
        parsed = parse(line)
        if parsed.record is None:
            self._not_a_record(line, parsed.reason, parsed.cut)
            return
        chain = parsed.record["unmapped"][CHAIN]
        self._settle_cut(chain)
        self.report.records += 1
        self.first_where = self.first_where or line.where
        self._hash(parsed.record, chain, line.where)
        if not self.stopped:
            self._place(chain, line.where)

    def _not_a_record(self, line: Line, reason: str, cut: bool) -> None:
        self._settle_cut(None)
        if cut:  # decided by the record after it
            self.cut = (line, reason)
        else:
            self.report.add("invalid", line.where, f"not a valid record: {reason}")

    def _settle_cut(self, chain: dict | None) -> None:
        """A cut line is a crash's when the next record links straight to the one before it:
        the writer restarted from the last whole record, so it took no place in the chain."""
        if self.cut is None:
            return
        line, reason = self.cut
        self.cut = None
        if chain is not None and chain["seq"] == (self.expected or 1) and chain["prev"] == self.prev:
            self.report.note(f"{line.where}: a line cut off by a crash or a full disk; the chain continues after it")
        elif not line.terminated:
            self.report.add("truncated", line.where, "the last line is cut off (a crash mid-write?)")
        else:
            self.report.add("invalid", line.where, f"not a valid record: {reason}")

    def _hash(self, record: dict, chain: dict, where: str) -> None:
        seq, alg = chain["seq"], chain["alg"]
        if self.key is None and alg == HMAC:
            self.report.add("wrong key", where, "HMAC records and no --key given")
            self.stopped = True
            return
        if self.key is not None and alg != HMAC:
            self.report.add("downgraded", where, f"record {seq} is sealed with {alg}: under --key every record carries an HMAC")
            return
        self.keyed += alg == HMAC
        if self._downgraded(chain, where):
            return
        try:
            data = canonical(record)
        except CanonError as error:
            self.report.add("invalid", where, f"not a valid record: record {seq} has no canonical form ({error})")
            return
        if mac(data, self.key) == chain["hash"]:
            self.matched += alg == HMAC
        else:
            self.report.add("edited", where, f"record {seq} does not match its hash")

    def _downgraded(self, chain: dict, where: str) -> bool:
        """A record in the old form after one in JCS: an attacker's way back to a form of their
        choosing, never the writer's (it continues any chain in JCS)."""
        canon = canon_of(chain)
        if canon == JCS:
            self.jcs_since = self.jcs_since or where
        elif canon == LEGACY and self.jcs_since:
            self.report.add("downgraded", where, f"record {chain['seq']} is in the old canonical form (no canon) "
                                                 f"after records in {JCS} (from {self.jcs_since}): a chain never goes back")
            return True
        return False

    def _place(self, chain: dict, where: str) -> None:
        seq, report = chain["seq"], self.report
        if self.head is not None and seq == self.head.seq:
            self.head_record = (chain["hash"], where)
        if self.expected is None:  # the anchor: the first record still there
            if seq != 1:
                report.note(f"starts at sequence {seq} (earlier files removed by retention)")
            elif chain["prev"] != GENESIS:
                report.add("inserted", where, "sequence 1 does not start a chain")
        elif seq < self.expected:
            self._behind(seq, where)
            return
        elif seq > self.expected:
            self._gap(seq, where)
        elif chain["prev"] != self.prev:
            report.add("inserted", where, f"record {seq} does not link to record {seq - 1}")
        self.expected, self.prev = seq + 1, chain["hash"]
        report.first_seq = seq if report.first_seq is None else report.first_seq
        report.last_seq = seq

    def _gap(self, seq: int, where: str) -> None:
        missing = seq - self.expected
        found = self.report.add("deleted", where, f"sequence {seq} where {self.expected} belongs ({missing} record(s) missing)")
        if len(self.gaps) < MAX_GAPS:
            self.gaps.append([self.expected, seq - 1, found])
        else:
            self.untracked_gaps += 1
        self.report.missing += missing
        self.report.gap_count += 1

    def _behind(self, seq: int, where: str) -> None:
        """A number below the next expected: it fills a gap (reordered) or was seen (inserted)."""
        index = bisect_right(self.gaps, seq, key=lambda gap: gap[0]) - 1
        gap = self.gaps[index] if index >= 0 and self.gaps[index][1] >= seq else None
        if gap is None and (self.untracked_gaps or (self.report.first_seq or 1) > seq):
            self.report.add("reordered", where, f"sequence {seq} after {self.expected - 1} (out of order, or twice)")
        elif gap is None:
            self.report.add("inserted", where, f"sequence {seq} appears twice")
        else:
            self.report.add("reordered", where, f"sequence {seq} after {self.expected - 1}")
            gap[2].kind, gap[2].detail = "reordered", gap[2].detail.split(" (")[0]
            self._fill(index, seq)

    def _fill(self, index: int, seq: int) -> None:
        first, last, found = self.gaps[index]
        parts = [[lo, hi, found] for lo, hi in ((first, seq - 1), (seq + 1, last)) if lo <= hi]
        self.gaps[index:index + 1] = parts
        self.report.missing -= 1
        self.report.gap_count += len(parts) - 1

    def end(self) -> None:
        if self.cut is not None:
            self._settle_cut(None)
        if self.key is not None and self.keyed and not self.matched:
            self.report.breaks = [Break("wrong key", self.first_where, "no record matches under this key")]
            self.report.more_breaks = 0
        self.report.gaps = [(first, last) for first, last, _ in self.gaps[:GAPS_SHOWN]]


def _check_head(report: ChainReport, walk: _Walk, head: Head | None, problem: str, where: str, key: bytes | None,
                folder: Path, files: list[Path]) -> None:
    """The head: readable, sealed under the expected algorithm, and agreeing with the records."""
    if walk.stopped or (report.breaks and report.breaks[0].kind == "wrong key"):
        return
    if problem:
        report.add("head", where, problem)
    elif head is None:
        _no_head(report, where, key, folder)
    elif not head.sealed:
        _old_head(report, where, key)
    elif key is not None and head.alg != HMAC:
        report.add("downgraded", where, f"the head is sealed with {head.alg}: under --key it carries an HMAC")
    elif seal_of(head, key) != head.seal:
        report.add("head", where, "the head does not match its seal (rewritten"
                                  + (", or written under another key)" if key else ")"))
    if head is not None and not problem:
        _agree(report, walk, head, where, files)


def _no_head(report: ChainReport, where: str, key: bytes | None, folder: Path) -> None:
    if folder.name.startswith("vehicle="):  # a collector's partition: part of a chain, no head
        report.note("no head file (a collector's partition): records cut off its end cannot be told")
    elif key is not None:
        report.add("head", where, "no head file: records cut off the end cannot be ruled out")
    else:
        report.note("no head file: records cut off the end cannot be told")


def _old_head(report: ChainReport, where: str, key: bytes | None) -> None:
    if key is not None:  # else anyone could hide a truncation by writing the old format
        report.add("head", where, "the head file carries no seal (written before heads were sealed, or "
                                  "rewritten): records cut off the end cannot be ruled out")
    else:
        report.note("the head file is in the old format (no seal): read as before")


def _agree(report: ChainReport, walk: _Walk, head: Head, where: str, files: list[Path]) -> None:
    last = walk.last_line.where if walk.last_line else where
    if head.seq > (report.last_seq or 0):
        report.add("truncated", last, f"the log ends at sequence {report.last_seq}, the head file says {head.seq}")
    elif walk.head_record is not None and walk.head_record[0] != head.hash:
        report.add("head", walk.head_record[1], f"record {head.seq} is not the one the head file names (another hash)")
    if head.sealed:
        _files_agree(report, head, where, [path.name for path in files])


def _files_agree(report: ChainReport, head: Head, where: str, present: list[str]) -> None:
    """Files the head names are there (but the oldest, which retention removes), and no file
    the head should have named (one before its last) was added."""
    named = set(head.files)
    first = min(present) if present else ""
    for name in head.files:
        if name not in present and name > first:
            report.add("deleted", where, f"{name}, named by the head file, is missing")
    for name in present:
        if name not in named and head.file is not None and name <= head.file:
            report.add("inserted", where, f"{name} is not named by the head file")


def format_reports(reports: list[ChainReport]) -> str:
    lines = []
    for r in reports:
        state = "ok" if r.ok else f"BROKEN ({r.problems} problem(s))"
        span = f"sequence {r.first_seq}..{r.last_seq}" if r.first_seq is not None else "no sequence checked"
        lines.append(f"{r.name}: {state}: {r.records} records, {span}")
        lines += [f"  note: {note}" for note in r.notes]
        lines += [f"  note: {r.more_notes} more note(s)"] if r.more_notes else []
        lines += [f"  first break: {r.breaks[0]}"] if r.breaks else []
        lines += [f"  also: {b}" for b in r.breaks[1:6]]
        lines += [f"  and {r.problems - 6} more problem(s)"] if r.problems > 6 else []
        if r.missing:
            shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in r.gaps)
            more = f" and {r.gap_count - len(r.gaps)} more gap(s)" if r.gap_count > len(r.gaps) else ""
            lines.append(f"  missing: {r.missing} sequence number(s) in {r.gap_count} gap(s): {shown}{more}")
    return "\n".join(lines) if lines else "no alert logs found"
