"""The DNS log: every DNS query and answer seen, inside the vehicle networks and leaving them,
one JSON line per transaction with Zeek dns.log field names where they exist (``uid``,
``id.orig_h`` ... ``trans_id``, ``query``, ``qtype_name``, ``rcode``, ``rtt``, ``answers``).

Each line says the flow's ``direction`` by the one rule of net/direction.py (outbound: a vehicle
host asked outside; internal: an ECU asked a resolver in the vehicle, the usual gateway running
dnsmasq; inbound: outside asked a resolver in the vehicle; a capture where neither side is
inside is the vehicle's uplink, so outbound) and ``vehicle``, which side is the vehicle: "orig",
"resp", or "both" for internal. Operators read first the names the vehicle looked up (the asker
is the vehicle: ``vehicle`` "orig" or "both"); an ECU's query to the gateway's resolver is one
of them even though the packet never left.

A query is written when its answer comes, with the answers and their TTLs; one whose answer never
came is written at the end with ``answered: false``. An answer whose query was not seen (sent
before the capture began, already written unanswered, or answered once already) is written on
its own from the question it repeats, with ``query_seen: false``. A flow from port 53 to another
port began with such an answer: its lines are turned so ``id.orig_h`` is the asker
(``asker_first``). A transaction is the flow, the id and the question (name, type, class), as
a resolver matches them: queries that reuse one id for different questions are lines of their
own, and a query repeated with the same id and question before its answer is one line, its
``retransmissions`` counted (and ``retransmitted`` in the counts).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..net.app.dns import TYPE_NAMES

MAX_PENDING = 16_384
DNS_PORT = 53
VEHICLE_SIDE = {"outbound": "orig", "inbound": "resp", "internal": "both"}
ASKED_BY_VEHICLE = ("orig", "both")


def asker_first(flow: dict, direction: Callable[[str, str], str]) -> dict:
    """The flow seen from the asker. A flow from port 53 to another port began with an answer
    (its query came before the capture), so its originator is the resolver: turned round, as
    Zeek orients flows to port 53, and the direction taken again by ``direction`` (the one rule)."""
    if flow.get("orig_p") != DNS_PORT or flow.get("resp_p") == DNS_PORT or not flow.get("resp_h"):
        return flow
    turned = {**flow, "orig_h": flow["resp_h"], "orig_p": flow["resp_p"], "resp_h": flow["orig_h"], "resp_p": flow["orig_p"]}
    turned["direction"] = direction(turned["orig_h"], turned["resp_h"])
    return turned


class DnsLog:
    def __init__(self, write: Callable[[dict], None], vehicle_id: Callable[[], str]) -> None:
        self.write, self.vehicle_id = write, vehicle_id
        self.pending: dict[tuple, dict] = {}  # (flow id, transaction id, name, type, class) -> line
        self.counts: Counter = Counter(queries=0, answered=0, unanswered=0, responses_without_query=0, retransmitted=0)

    def message(self, flow: dict, ts_ns: int, message) -> None:
        key = (int(flow.get("flow_id", 0)), int(message.id), *message.question_key())
        if not message.is_response:
            self._query(key, flow, ts_ns, message)
            return
        entry = self.pending.pop(key, None)
        if entry is None:  # its query came before the capture or was already written unanswered
            self.counts["responses_without_query"] += 1
            entry = self._line(flow, ts_ns, message, query_seen=False)
        self._answer(entry, ts_ns, message)

    def _query(self, key: tuple, flow: dict, ts_ns: int, message) -> None:
        self.counts["queries"] += 1
        self.counts[f"queries_{flow.get('direction')}"] += 1
        earlier = self.pending.get(key)
        if earlier is not None:  # a retransmission: the answer answers both
            self.counts["retransmitted"] += 1
            earlier["retransmissions"] = earlier.get("retransmissions", 0) + 1
            return
        self.pending[key] = self._line(flow, ts_ns, message, query_seen=True)
        if len(self.pending) > MAX_PENDING:  # bounded: the oldest goes out unanswered
            self._unanswered(next(iter(self.pending)))

    def _answer(self, entry: dict, ts_ns: int, message) -> None:
        rtt = round(ts_ns / 1e9 - entry["ts"], 6) if entry["query_seen"] else None
        entry.update(answered=True, rcode=message.rcode, rtt=rtt,
                     answers=[{"name": r.name, "type": TYPE_NAMES.get(r.rtype, str(r.rtype)), "ttl": r.ttl, "data": r.rdata}
                              for r in message.answers])
        self.counts["answered"] += entry["query_seen"]  # of the queries seen; the others are counted apart
        self.write(entry)

    def _line(self, flow: dict, ts_ns: int, message, query_seen: bool) -> dict:
        name, qtype = message.questions[0] if message.questions else ("", 0)
        direction = flow.get("direction")
        return {"ts": round(ts_ns / 1e9, 6), "uid": f"F{flow.get('flow_id', 0)}", "vehicle_id": self.vehicle_id(),
                "id.orig_h": flow.get("orig_h"), "id.orig_p": flow.get("orig_p"),
                "id.resp_h": flow.get("resp_h"), "id.resp_p": flow.get("resp_p"), "proto": flow.get("proto"),
                "direction": direction, "vehicle": VEHICLE_SIDE.get(str(direction)),
                "trans_id": int(message.id), "query": name, "qtype_name": TYPE_NAMES.get(qtype, str(qtype)),
                "query_seen": query_seen, "answered": False, "answers": []}

    def _unanswered(self, key) -> None:
        self.counts["unanswered"] += 1
        self.write(self.pending.pop(key))

    def finish(self) -> None:
        for key in list(self.pending):
            self._unanswered(key)


# ---------------------------------------------------------------- reading


@dataclass
class LookedUp:
    """The names the vehicle looked up in DNS logs: transactions per query name, by direction."""

    names: Counter = field(default_factory=Counter)
    directions: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    lines: int = 0  # every line read, asked by the vehicle or not

    def add(self, line: dict) -> None:
        self.lines += 1
        if line.get("vehicle") in ASKED_BY_VEHICLE and line.get("query"):
            name = str(line["query"]).lower().rstrip(".")
            self.names[name] += 1
            self.directions[name][str(line.get("direction"))] += 1

    def ranked(self) -> list[tuple[str, int]]:
        """Most asked first, then by name (one order, whatever order the logs were read in)."""
        return sorted(self.names.items(), key=lambda item: (-item[1], item[0]))

    def as_dict(self) -> dict:
        return {"lookups": sum(self.names.values()), "distinct_names": len(self.names),
                "names": {name: {"lookups": n, **dict(sorted(self.directions[name].items()))} for name, n in self.ranked()}}


def dns_logs_beside(chains: Iterable[tuple[Path, str]]) -> list[Path]:
    """The DNS logs written beside alert chains: ``dns-<vehicle>.jsonl`` next to ``alerts-<vehicle>-*``."""
    paths = {folder / f"dns-{stem.removeprefix('alerts-')}.jsonl" for folder, stem in chains}
    return sorted(p for p in paths if p.is_file())


def looked_up(paths: Iterable[Path], skipped: list[str]) -> LookedUp:
    """Read DNS logs; a damaged line is named in ``skipped`` (file:line: why) and left out."""
    out = LookedUp()
    for path in paths:
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                for number, text in enumerate(handle, 1):
                    _read_line(out, text, f"{path}:{number}", skipped)
        except OSError as error:
            skipped.append(f"{path}: unreadable DNS log: {error.strerror or error}")
    return out


def _read_line(out: LookedUp, text: str, where: str, skipped: list[str]) -> None:
    try:
        line = json.loads(text)
    except ValueError as error:
        skipped.append(f"{where}: not a JSON line ({error})")
        return
    if isinstance(line, dict):
        out.add(line)
    else:
        skipped.append(f"{where}: not a DNS log entry")
