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
#: Names kept per answered address: the A/AAAA owner and the aliases nearest it on its CNAME
#: chain (resolvers give up on chains far shorter), and names one address may carry at once.
MAX_CHAIN = 16
MAX_NAMES_PER_ADDRESS = 32


@dataclass
class NameEntry:
    learned_ns: int
    expires_ns: int


class NameCache:
    def __init__(self, max_addresses: int = 65_536, min_ttl: float = 300.0) -> None:
        self.max_addresses = max_addresses
        self.min_ttl_ns = int(min_ttl * NS)
        self.entries: OrderedDict[str, dict[str, NameEntry]] = OrderedDict()
        self.evicted = 0  # addresses forgotten to stay within max_addresses
        self.names_forgotten = 0  # an address's oldest name, past MAX_NAMES_PER_ADDRESS
        self.chains_cut = 0  # answers whose CNAME chain was longer than MAX_CHAIN names

    def learn(self, message: Message, now_ns: int) -> int:
        """Take the A/AAAA answers of a response; returns how many address names were learned."""
        learned = 0
        answered, cut = addresses_answered(message)
        self.chains_cut += cut
        for address, ttl, names in answered:
            expires = now_ns + max(ttl * NS, self.min_ttl_ns)
            for name in names:
                self._add(address, name, now_ns, expires)
                learned += 1
        return learned

    def _add(self, address: str, name: str, now_ns: int, expires_ns: int) -> None:
        names = self.entries.pop(address, None) or {}
        entry = names.get(name)
        if entry is None and len(names) >= MAX_NAMES_PER_ADDRESS:
            del names[next(iter(names))]
            self.names_forgotten += 1
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


def addresses_answered(message: Message) -> tuple[list[tuple[str, int, list[str]]], int]:
    """(address, TTL, names) per A/AAAA answer: the owner name and the names whose CNAME chain
    led to it (at most MAX_CHAIN), and how many answers had their chain cut there."""
    aliases: dict[str, dict[str, None]] = {}  # CNAME target -> names that point to it, in answer order
    for record in message.answers:
        if record.rtype == 5 and record.rdata:
            aliases.setdefault(record.rdata.lower(), {})[record.name.lower()] = None
    chains: dict[str, tuple[list[str], bool]] = {}  # one walk per owner name, however many answers
    out, cut = [], 0
    for record in message.answers:
        if record.rtype in (1, 28) and record.rdata:
            owner = record.name.lower()
            if owner not in chains:
                chains[owner] = _cname_chain(owner, aliases)
            names, was_cut = chains[owner]
            out.append((record.rdata, record.ttl, names))
            cut += was_cut
    return out, cut


def _cname_chain(name: str, aliases: dict[str, dict[str, None]]) -> tuple[list[str], bool]:
    """The name and what points to it through CNAMEs, nearest first (cycle-safe), at most
    MAX_CHAIN names; True when there were more."""
    seen, order, todo = {name}, [name], [name]
    while todo:
        for alias in aliases.get(todo.pop(0), {}):
            if alias not in seen:
                if len(order) == MAX_CHAIN:
                    return order, True
                seen.add(alias)
                order.append(alias)
                todo.append(alias)
    return order, False
