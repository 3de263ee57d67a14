"""The files of alert logs, read: their names, which files a path means, and each line of one
within bounded.py's bounds.

A vehicle's chain is ``alerts-<vehicle>-<first seq>.jsonl`` files (files.py writes them; the
number zero-padded, so names sort in chain order) and a sealed ``<stem>.head`` (head.py). A
crash or power cut leaves at most a torn last line: it is reported (``Entry.torn``) and reading
goes on. Which files a path means (``vehicle_logs``): a file as named; a folder's own alert
files, or the layouts gatewatch writes one level down; the whole tree only when asked
(``recursive``, ``walk``), without following links into loops or pseudo file systems.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError
from .bounded import parse, read_lines, record_problem
from .chain import chain_of
from .head import read_head

NAME = re.compile(r"^(?P<stem>alerts-.+)-(?P<first>\d{12})\.jsonl$")


@dataclass
class Entry:
    path: Path
    line: int
    record: dict | None = None
    error: str = ""
    torn: bool = False  # the file's last line, cut off (a crash)
    partial: bool = False  # begins like a record but is not whole JSON (cut off by a crash)


def chain_files(directory: Path, stem: str | None = None) -> list[Path]:
    """A folder's alert files in chain order (of one stem, or all)."""
    found = [p for p in directory.glob("alerts-*.jsonl") if _stem(p) is not None and (stem is None or _stem(p) == stem)]
    return sorted(found, key=lambda p: (_stem(p) or "", p.name))


def _stem(path: Path) -> str | None:
    match = NAME.match(path.name)
    return match["stem"] if match else None


def read_file(path: Path) -> Iterator[Entry]:
    """Each non-blank line of an alert file as a JSON object or the reason it is not one, read
    within bounded.py's bounds: a line past MAX_LINE is measured and never held, nesting past
    MAX_DEPTH is refused before json.loads builds it, NaN and Infinity are refused. Whether the
    object is a record is the caller's to say (read.flat for the review commands, verify's own
    checks); a cut-off last line is ``torn``."""
    for line in read_lines(path):
        if line.raw is not None and not line.raw.strip():
            continue
        parsed = parse(line, _any_object)
        if parsed.record is not None:
            yield Entry(path, line.number, parsed.record)
            continue
        torn = not line.terminated
        yield Entry(path, line.number, error="torn last line (cut off mid-write)" if torn else f"not a record: {parsed.reason}",
                    torn=torn, partial=parsed.cut)


def _any_object(record: dict) -> str:
    return ""


def sequences(paths: list[Path]) -> dict[int, list[str]]:
    """Sequence number -> the hashes of the records that carry it, over these alert files (a
    number with two hashes, or a missing one, is what crash and delivery checks look for)."""
    out: dict[int, list[str]] = {}
    for path in paths:
        for entry in read_file(path):
            if entry.record is not None and not record_problem(entry.record):  # a chained record: seq and hash hold
                chain = chain_of(entry.record)
                out.setdefault(int(chain["seq"]), []).append(str(chain["hash"]))
    return out


def vehicle_logs(paths: list[Path], recursive: bool = False,
                 skipped: list[str] | None = None) -> dict[tuple[Path, str], list[Path]]:
    """(folder, stem) -> files. A file is read as named. A folder: its own alert files; a folder
    with none, the layouts gatewatch writes one level down: vehicles' folders (``gatewatch demo``'s
    logs/, a fleet of run folders) and a collector's ``day=*/vehicle=*/``. Never the tree below,
    unless ``recursive``: then every folder under it (see ``walk``). Folders that cannot be read
    are named in ``skipped``."""
    skipped = skipped if skipped is not None else []
    out: dict[tuple[Path, str], list[Path]] = {}
    for path in paths:
        if path.is_file():
            match = NAME.match(path.name)
            stem = match["stem"] if match else path.stem
            out.setdefault((path.parent, stem), []).append(path)
            continue
        if not path.is_dir():
            raise SourceError(f"{path}: no such file or folder")
        for file in walk(path, skipped) if recursive else folder_logs(path, skipped):
            out.setdefault((file.parent, _stem(file) or ""), []).append(file)
    return {key: sorted(set(files)) for key, files in out.items()}


def folder_logs(folder: Path, skipped: list[str]) -> list[Path]:
    """A folder's own alert files, else those one level down and in a collector's layout."""
    own, subfolders = _listing(folder, skipped)
    if own:
        return own
    found: list[Path] = []
    for sub in subfolders:
        files, below = _listing(sub, skipped)
        found += files
        if sub.name.startswith("day="):  # a collector's day=YYYY-MM-DD/vehicle=ID/
            for vehicle in (b for b in below if b.name.startswith("vehicle=")):
                found += _listing(vehicle, skipped)[0]
    return found


#: File systems that hold no logs and cannot be walked safely (/proc, /sys, /dev ...).
PSEUDO_FILESYSTEMS = frozenset({"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
                                "tracefs", "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs",
                                "binfmt_misc", "efivarfs", "selinuxfs", "rpc_pipefs", "nsfs"})
MAX_FOLDERS = 100_000  # --recursive stops (an error) past this many folders rather than walk a disk


def walk(top: Path, skipped: list[str]) -> Iterator[Path]:
    """Alert files in every folder under ``top``: symbolic links to folders are not followed (no
    loops), pseudo file systems (/proc, /sys) are left out, an unreadable folder is named in
    ``skipped``; past MAX_FOLDERS folders it stops with an error."""
    pseudo = _pseudo_devices()
    stack, visited = [top], 0
    while stack:
        folder = stack.pop()
        visited += 1
        if visited > MAX_FOLDERS:
            raise SourceError(f"{top}: more than {MAX_FOLDERS} folders below it; name a narrower folder")
        files, subfolders = _listing(folder, skipped)
        yield from files
        stack += reversed([s for s in subfolders if _device(s) not in pseudo])


def _listing(folder: Path, skipped: list[str]) -> tuple[list[Path], list[Path]]:
    """(alert files, subfolders) of one folder, sorted; symbolic links to folders left out."""
    files, folders = [], []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))
                elif NAME.match(entry.name) and entry.is_file():
                    files.append(Path(entry.path))
    except OSError as error:
        skipped.append(f"{folder}: {error.strerror or error}")
    return sorted(files), sorted(folders)


def _device(path: Path) -> int | None:
    try:
        return path.lstat().st_dev
    except OSError:
        return None


def _pseudo_devices() -> set[int | None]:
    """Device numbers of the mounted pseudo file systems (none known without /proc/self/mounts)."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return set()
    points = [fields[1].encode().decode("unicode_escape") for fields in (line.split() for line in lines)
              if len(fields) > 2 and fields[2] in PSEUDO_FILESYSTEMS]
    return {_device(Path(point)) for point in points} - {None}


def head_of(folder: Path, stem: str) -> dict | None:
    """The head file's last sequence and hash (and file), read within its bounds; None when
    there is none or it cannot be read (``head.read_head`` says why)."""
    head, _ = read_head(folder / f"{stem}.head")
    return None if head is None else {"seq": head.seq, "hash": head.hash, "file": head.file}
