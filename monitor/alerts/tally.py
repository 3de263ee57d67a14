"""Episodes and counts out of a stream of alert rows, in memory that does not grow with the log.

An episode is written as several records (Create, Updates, Close) sharing ``episode.uid``; its
hits are the largest ``count`` among them. ``Episodes`` holds only the episodes still open (a
Close finishes one; past ``MAX_OPEN`` open at once the oldest is finished early, counted), and
hands each finished episode on once, so ``alerts summary`` and ``report`` sum a log of any length
one record at a time. ``Counts`` keeps per-name counters for at most ``MAX_NAMES`` names (vehicles,
destinations, detectors ...); names past that are summed under ``OTHER``, counted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

#: Episodes open at once (a vehicle has a handful; a fleet's folder or a forged log may open
#: millions, never closed): past this the oldest is counted as finished, and a later record of
#: it would count as another episode (``finished_early`` says how many were).
MAX_OPEN = 10_000
#: Names counted one by one per group; 20,000 vehicles fit, a forged log's millions do not.
MAX_NAMES = 50_000
#: A name longer than this is shown and counted cut, with "..." (a 7 MB detector name is one line).
MAX_NAME_CHARS = 200
OTHER = "(other names past the first 50000)"


def clip(text: str) -> str:
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 3] + "..."


_CONTROLS = dict.fromkeys([*range(32), *range(127, 160)], "?")


def terminal(value: object) -> str:
    """A record's text for a terminal: cut (clip) and with control characters as "?", so a
    record cannot move the cursor, recolour or retitle the operator's terminal (ESC sequences)."""
    return clip("" if value is None else str(value)).translate(_CONTROLS)


class Episodes:
    """Rows in, finished episodes out: the first record's fields, ``hits`` and ``positions``."""

    def __init__(self, max_open: int = MAX_OPEN) -> None:
        self.open: OrderedDict[str, dict] = OrderedDict()
        self.max_open = max_open
        self.finished_early = 0  # episodes finished because too many were open (a later record starts another)

    def add(self, row: dict) -> Iterator[dict]:
        key = row["episode"] or f"{row['vehicle']}:{row['seq']}:{row['time']}"
        episode = self.open.get(key)
        if episode is None:
            episode = _kept(row)
            episode["hits"], episode["positions"] = 0, 0
            self.open[key] = episode
        episode["hits"] = max(episode["hits"], row["count"] or 1)
        episode["positions"] = max(episode["positions"], row["positions_total"])
        if row["activity"] == "Close" or not row["episode"]:
            yield self.open.pop(key)
        elif len(self.open) > self.max_open:
            self.finished_early += 1
            yield self.open.popitem(last=False)[1]

    def finish(self) -> Iterator[dict]:
        """The episodes still open when the log ends."""
        while self.open:
            yield self.open.popitem(last=False)[1]


def _kept(row: dict) -> dict:
    """What an episode keeps of its first row: no track (the report keeps tracks apart), names
    and text cut to what a page or a terminal shows."""
    episode = {k: clip(v) if isinstance(v, str) else v for k, v in row.items() if k != "positions"}
    episode["names"] = [clip(name) for name in row["names"][:10]]
    return episode


class Counts:
    """name -> [episodes, hits], for at most ``max_names`` names; the rest under OTHER."""

    def __init__(self, max_names: int = MAX_NAMES) -> None:
        self.by: dict[str, list[int]] = {}
        self.max_names = max_names
        self.past_limit = 0  # episodes counted under OTHER

    def add(self, name: str, hits: int) -> None:
        name = clip(name)
        entry = self.by.get(name)
        if entry is None:
            if len(self.by) >= self.max_names:
                self.past_limit += 1
                name = OTHER
                entry = self.by.get(OTHER)
            if entry is None:
                entry = self.by[name] = [0, 0]
        entry[0] += 1
        entry[1] += hits

    def ranked(self) -> list[tuple[str, list[int]]]:
        """Most episodes first, then by name (a stable order for equal counts)."""
        return sorted(self.by.items(), key=lambda item: (-item[1][0], item[0]))
