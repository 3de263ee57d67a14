"""Checking a vehicle's chain: every record's own hash, the link to the record before it, the
sequence, and the head file. The first break is named, with its kind:

- edited: a record's content no longer matches its hash;
- wrong key: no record matches under the key given (or HMAC records checked without a key);
- deleted: sequence numbers are missing and do not appear later;
- reordered: a record stands before one with a lower number that appears later;
- inserted: a record repeats a sequence number, or fits the sequence but does not link;
- truncated: the last line is cut off, or the head file says the chain went further.

A chain whose first files were removed by retention starts at a later sequence number: that
is said, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .chain import GENESIS, chain_of, digest
from .files import head_of, read_file, vehicle_logs


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

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_all(paths: list[Path], key: bytes | None) -> list[ChainReport]:
    return [verify_chain(folder, stem, files, key) for (folder, stem), files in sorted(vehicle_logs(paths).items())]


def verify_chain(folder: Path, stem: str, files: list[Path], key: bytes | None) -> ChainReport:
    report = ChainReport(f"{folder}/{stem}")
    entries = [entry for path in files for entry in read_file(path)]
    rows = [(e, e.record) for e in entries if e.record is not None]
    report.records = len(rows)
    for index, entry in enumerate(entries):
        if entry.record is None and not entry.torn:
            where = f"{entry.path}:{entry.line}"
            if _crash_then_restart(entries, index):
                report.notes.append(f"{where}: a line cut off by a crash or a full disk; the chain continues after it")
            else:
                report.breaks.append(Break("inserted", where, f"a line that is not a record ({entry.error})"))
    hash_ok = [_hash_ok(record, key) for _, record in rows]
    if rows and not any(hash_ok):
        alg = chain_of(rows[0][1]).get("alg")
        why = "HMAC records and no --key given" if key is None and alg == "hmac-sha256" else "no record matches under this key"
        report.breaks.append(Break("wrong key", f"{rows[0][0].path}:{rows[0][0].line}", why))
        return report
    _walk(rows, hash_ok, report)
    _tail(entries, rows, folder, stem, report)
    return report


def _crash_then_restart(entries: list, index: int) -> bool:
    """A line that is not a record is a write cut off by a crash (power cut) when it looks like
    the start of one and the next record links straight to the record before it: the writer
    restarted from the last whole record, so the cut line took no place in the chain."""
    entry = entries[index]
    before = next((e.record for e in reversed(entries[:index]) if e.record is not None), None)
    after = next((e.record for e in entries[index + 1 :] if e.record is not None), None)
    if after is None or not entry.partial:
        return False
    prior_seq, prior_hash = (int(chain_of(before).get("seq", 0)), chain_of(before).get("hash")) if before else (0, GENESIS)
    nxt = chain_of(after)
    return int(nxt.get("seq", -1)) == prior_seq + 1 and nxt.get("prev") == prior_hash


def _hash_ok(record: dict, key: bytes | None) -> bool:
    chain = chain_of(record)
    if not chain.get("hash"):
        return False
    uses_key = chain.get("alg") == "hmac-sha256"
    if uses_key and key is None:
        return False
    return digest(record, key if uses_key else None) == chain["hash"]


def _walk(rows: list, hash_ok: list[bool], report: ChainReport) -> None:
    all_seqs = [int(chain_of(record).get("seq", 0)) for _, record in rows]
    seen: set[int] = set()
    expected, prev = None, None
    for (entry, record), ok, seq in zip(rows, hash_ok, all_seqs):
        where = f"{entry.path}:{entry.line}"
        chain = chain_of(record)
        if expected is None:  # the anchor: the first record still there
            if seq != 1:
                report.notes.append(f"starts at sequence {seq} (earlier files removed by retention)")
            if not ok:
                report.breaks.append(Break("edited", where, f"record {seq} does not match its hash"))
            elif seq == 1 and chain.get("prev") != GENESIS:
                report.breaks.append(Break("inserted", where, "sequence 1 does not start a chain"))
        elif seq in seen:
            report.breaks.append(Break("inserted", where, f"sequence {seq} appears twice"))
        elif seq > expected:
            later = expected in all_seqs[all_seqs.index(seq):]
            report.breaks.append(Break("reordered" if later else "deleted", where,
                                       f"sequence {seq} where {expected} belongs"
                                       + ("" if later else f" ({seq - expected} record(s) missing)")))
        elif seq < expected:
            report.breaks.append(Break("reordered", where, f"sequence {seq} after {expected - 1}"))
        elif not ok:
            report.breaks.append(Break("edited", where, f"record {seq} does not match its hash"))
        elif chain.get("prev") != prev:
            report.breaks.append(Break("inserted", where, f"record {seq} does not link to record {seq - 1}"))
        seen.add(seq)
        expected, prev = max(expected or 0, seq + 1), chain.get("hash")
        report.first_seq = seq if report.first_seq is None else report.first_seq
        report.last_seq = max(report.last_seq or 0, seq)


def _tail(entries: list, rows: list, folder: Path, stem: str, report: ChainReport) -> None:
    if entries and entries[-1].torn:
        e = entries[-1]
        report.breaks.append(Break("truncated", f"{e.path}:{e.line}", "the last line is cut off (a crash mid-write?)"))
    head = head_of(folder, stem)
    if head and rows and int(head.get("seq", 0)) > (report.last_seq or 0):
        e = rows[-1][0]
        report.breaks.append(Break("truncated", f"{e.path}:{e.line}",
                                   f"the log ends at sequence {report.last_seq}, the head file says {head['seq']}"))


def format_reports(reports: list[ChainReport]) -> str:
    lines = []
    for r in reports:
        state = "ok" if r.ok else f"BROKEN ({len(r.breaks)} problem(s))"
        lines.append(f"{r.name}: {state}: {r.records} records, sequence {r.first_seq}..{r.last_seq}")
        lines += [f"  note: {note}" for note in r.notes]
        lines += [f"  first break: {r.breaks[0]}"] if r.breaks else []
        lines += [f"  also: {b}" for b in r.breaks[1:6]]
    return "\n".join(lines) if lines else "no alert logs found"
