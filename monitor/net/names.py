"""NameCache: what each IP address has been called in DNS answers the vehicle received.

A flow to 52.85.112.21 is named by the A record that answered ``client-cf.dropbox.com`` and
by every name on the CNAME chain that led there. Entries remember when they were learned, so
a flow is only named by answers seen before it started, whatever order a batch is processed
in. An answer's TTL is honoured with a floor (clients keep using addresses past short TTLs),
and the cache is bounded: the least recently learned addresses go first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .app.dns import Message

NS = 1_000_000_000


@dataclass
class NameEntry:
    learned_ns: int
    expires_ns: int


class NameCache:
    def __init__(self, max_addresses: int = 65_536, min_ttl: float = 300.0) -> None:
        self.max_addresses = max_addresses
        self.min_ttl_ns = int(min_ttl * NS)
        self.entries: OrderedDict[str, dict[str, NameEntry]] = OrderedDict()
        self.evicted = 0

    def learn(self, message: Message, now_ns: int) -> int:
        """Take the A/AAAA answers of a response; returns how many address names were learned."""
        learned = 0
        for address, ttl, names in addresses_answered(message):
            expires = now_ns + max(ttl * NS, self.min_ttl_ns)
            for name in names:
                self._add(address, name, now_ns, expires)
                learned += 1
        return learned

    def _add(self, address: str, name: str, now_ns: int, expires_ns: int) -> None:
        names = self.entries.pop(address, None) or {}
        entry = names.get(name)
        if entry is None or entry.expires_ns < now_ns:
            names[name] = NameEntry(now_ns, expires_ns)
        else:
            entry.expires_ns = max(entry.expires_ns, expires_ns)
        self.entries[address] = names
        while len(self.entries) > self.max_addresses:
            self.entries.popitem(last=False)
            self.evicted += 1

    def names_at(self, address: str, at_ns: int) -> list[str]:
        """Names the address had in DNS answers learned at or before at_ns and still valid then."""
        names = self.entries.get(address)
        if not names:
            return []
        return [n for n, e in names.items() if e.learned_ns <= at_ns <= e.expires_ns]


def addresses_answered(message: Message) -> list[tuple[str, int, list[str]]]:
    """(address, TTL, names) per A/AAAA answer: the owner name and every name whose CNAME
    chain led to it."""
    aliases: dict[str, set[str]] = {}  # CNAME target -> names that point to it
    for record in message.answers:
        if record.rtype == 5 and record.rdata:
            aliases.setdefault(record.rdata.lower(), set()).add(record.name.lower())
    return [(record.rdata, record.ttl, _cname_chain(record.name.lower(), aliases))
            for record in message.answers if record.rtype in (1, 28) and record.rdata]


def _cname_chain(name: str, aliases: dict[str, set[str]]) -> list[str]:
    """The name and everything that points to it through CNAMEs (cycle-safe)."""
    seen, todo = [name], [name]
    while todo:
        for alias in aliases.get(todo.pop(), ()):
            if alias not in seen:
                seen.append(alias)
                todo.append(alias)
    return seen
