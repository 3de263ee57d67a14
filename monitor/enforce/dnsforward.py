"""The DNS forwarder in front of the in-vehicle hosts: it relays each query to the upstream
resolver and, before the answer goes back, admits every address that answers a name in a
destination set into that set's kernel set for the answer's TTL.

Admitting before replying closes the race a passive snooper has (the host's first SYN can
beat the set update); keeping each answer's TTL as the element's timeout is what dnsmasq's
--nftset does not do. Names match through CNAME chains; addresses also match sets by country
or AS number. UDP only: a truncated answer reaches the host as it is (its TCP retry to the
gateway is not served), counted as ``truncated``.

It listens where it is told (``listen``: the daemon's pre-flight resolves ``dns.listen``,
``inside`` included, and checks each address binds); an address that cannot be bound at start
is a ConfigError naming the ``dns.listen`` item and the address, never a traceback. No
SO_REUSEADDR: a port another resolver holds is an error, not a silent share of its queries.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..errors import ConfigError
from ..net.app.dns import DnsError, parse_message
from ..net.names import addresses_answered
from ..policy.decide import Decider
from .ruleset import kernel_sets

log = logging.getLogger(__name__)
MAX_DNS = 4096


class DnsForwarder:
    def __init__(self, decider: Decider, admit: Callable[[str, str, int], None],
                 listen: Sequence[tuple[str, int, str]] | None = None) -> None:
        """``listen``: (address, port, where configured) to bind; default: ``dns.listen`` as written."""
        self.decider = decider
        self.admit = admit
        config = decider.policy.dns
        places = config.listen_at if len(config.listen_at) == len(config.listen) else [""] * len(config.listen)
        self.listen = list(listen) if listen is not None else [(h, p, w) for (h, p), w in zip(config.listen, places)]
        self.upstream = config.upstream
        self.timeout = config.timeout_s
        self.sets = [d for d in decider.policy.destinations if d.domains or d.countries or d.asns]
        self.blocked = {k.destination.name for k in kernel_sets(decider.policy) if k.blocked}
        self.counts: Counter = Counter()
        self.reported: set[tuple] = set()  # (upstream, port, errno) already logged
        self.sockets: list[socket.socket] = []
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dns")
        self.running = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        for host, port, where in self.listen:
            self.sockets.append(self._bound(host, port, where))
        self.running = True
        self.thread = threading.Thread(target=self._serve, name="dns-listen", daemon=True)
        self.thread.start()

    def _bound(self, host: str, port: int, where: str) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as error:
            sock.close()
            self.stop()  # the sockets bound before this one
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ConfigError(f"{where + ': ' if where else ''}dns.listen: cannot listen on {shown}: "
                              f"{error.strerror or error}") from None
        return sock

    def stop(self) -> None:
        self.running = False
        if self.thread:
            self.thread.join(timeout=2)
        self.pool.shutdown(wait=True)
        for sock in self.sockets:
            sock.close()
        self.sockets = []

    def _serve(self) -> None:
        while self.running:
            ready, _, _ = select.select(self.sockets, [], [], 0.2)
            for sock in ready:
                query, client = sock.recvfrom(MAX_DNS)
                self.counts["queries"] += 1
                self.pool.submit(self._answer, sock, query, client)

    def _answer(self, sock: socket.socket, query: bytes, client) -> None:
        try:
            reply = self._forward(query)
            if reply is None:
                self.counts["unanswered"] += 1
                return  # the host retries, as it would with a lost packet
            self._learn(reply)
            sock.sendto(reply, client)
        except Exception:
            self.counts["errors"] += 1
            log.exception("DNS exchange with %s failed", client)

    def _forward(self, query: bytes) -> bytes | None:
        """The first upstream's answer; None if none answered (timed out, unreachable, refused)."""
        for host, port in self.upstream:
            try:
                return self._ask(host, port, query)
            except TimeoutError:
                continue
            except OSError as error:  # no route, refused: the next upstream
                self.counts["upstream_errors"] += 1
                self._report(host, port, error)
        return None

    def _ask(self, host: str, port: int, query: bytes) -> bytes:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as upstream:
            upstream.settimeout(self.timeout)
            upstream.connect((host, port))
            upstream.send(query)
            while True:
                reply = upstream.recv(MAX_DNS)
                if reply[:2] == query[:2]:  # the same message id, or keep waiting
                    return reply

    def _report(self, host: str, port: int, error: OSError) -> None:
        """Once per upstream and kind of error (every query would repeat it); counted always."""
        key = (host, port, error.errno)
        if key not in self.reported:
            self.reported.add(key)
            log.warning("upstream resolver %s port %d: %s; its queries go unanswered (counted as upstream_errors)",
                        host, port, error.strerror or error)

    def _learn(self, reply: bytes) -> None:
        try:
            message = parse_message(reply)
        except DnsError as error:
            self.counts["unparsable_answers"] += 1
            log.warning("answer from upstream not parsed (%s): relayed, nothing admitted", error)
            return
        if len(reply) >= 3 and reply[2] & 0x02:
            self.counts["truncated"] += 1
        answered, cut = addresses_answered(message)
        if cut:  # a name past MAX_CHAIN is not looked at: its address is not admitted by that name
            self.counts["cname_chains_cut"] += cut
        for address, ttl, names in answered:
            ip = ipaddress.ip_address(address)
            matched = [dest for dest in self.sets if self.decider.named_or_placed(dest, names, ip)]
            refused = [dest for dest in matched if dest.name in self.blocked]
            if refused:  # a listed name answered with an address in a blocked set (a country of concern):
                matched = refused  # it goes into the refusing set only, never into an allow set
                self.counts["answers_in_blocked_sets"] += 1
            for dest in matched:  # ports are the kernel rule's to check
                self.admit(dest.name, address, ttl)
                self.counts["admitted"] += 1
