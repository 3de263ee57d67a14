"""The enforcer: puts a policy's ruleset in the kernel, admits addresses that listed names
resolve to (for their TTL), blocks destinations at run time and cuts their established flows,
and on stop leaves the kernel as the policy's ``on_stop`` says.

In monitor mode nothing here runs: the kernel is not touched.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable

from ..config.model import Policy
from . import ruleset
from .nft import EnforceError, Nft

log = logging.getLogger(__name__)


class Enforcer:
    def __init__(self, policy: Policy, vehicle_networks: Iterable[str] | None, nft: Nft | None = None) -> None:
        self.policy = policy
        self.vehicle_networks = vehicle_networks
        self.nft = nft or Nft()
        self.sets = {k.destination.name: k for k in ruleset.kernel_sets(policy)}
        self.expiry: dict[tuple[str, str], float] = {}  # (kernel set, address) -> monotonic expiry
        self.blocked: set[str] = set()
        self.counts: Counter = Counter()
        self.lock = threading.Lock()  # DNS forwarder threads and the capture loop both call in

    def start(self) -> None:
        self.nft.apply(ruleset.build(self.policy, self.vehicle_networks))
        log.info("nftables table inet %s applied (%d destination sets)", ruleset.TABLE, len(self.sets))

    def reload(self, policy: Policy) -> None:
        """Swap in a new policy's table in one transaction. Run-time blocks carry over;
        DNS-admitted addresses do not (the next lookup admits them under the new sets)."""
        with self.lock:
            blocks = [ruleset.element(ruleset.BLOCK4 if ipaddress.ip_address(a).version == 4 else ruleset.BLOCK6, a)
                      for a in sorted(self.blocked)]
            self.nft.apply(ruleset.build(policy, self.vehicle_networks) + blocks)
            self.policy = policy
            self.sets = {k.destination.name: k for k in ruleset.kernel_sets(policy)}
            self.expiry.clear()
            self.counts["reloads"] += 1

    def admit(self, set_name: str, address: str, ttl: int) -> None:
        """Let ``address`` (an answer for a name in the set) through for ``ttl`` seconds."""
        kset = self.sets[set_name]
        name = kset.name(ipaddress.ip_address(address).version, dns=True)
        ttl = max(1, min(int(ttl), self.policy.dns.max_ttl))
        with self.lock:
            known = self.expiry.get((name, address), 0.0) > time.monotonic() + 0.5
            add = ruleset.element(name, address, ttl)
            try:
                # An element's timeout is only renewed by deleting and adding it again.
                self.nft.apply([ruleset.element(name, address, delete=True), add] if known else [add])
            except EnforceError:
                self.nft.apply([add])  # it expired in between: add it afresh
            self.expiry[(name, address)] = time.monotonic() + ttl
            self.counts["admitted"] += 1

    def block(self, address: str) -> bool:
        """Refuse everything to ``address`` from now on and cut its established flows; False if
        it was blocked already."""
        with self.lock:
            if address in self.blocked:
                return False
            version = ipaddress.ip_address(address).version
            self.nft.apply([ruleset.element(ruleset.BLOCK4 if version == 4 else ruleset.BLOCK6, address)])
            self.blocked.add(address)
            self.counts["blocked"] += 1
        self.counts["flows_cut"] += _cut_flows(address, version)
        log.warning("blocked %s and cut its established flows", address)
        return True

    def stop(self) -> None:
        if self.policy.on_stop == "fail-closed":
            self.nft.apply(ruleset.closed(self.policy, self.vehicle_networks))
            log.warning("stopped: fail-closed, nothing leaves the in-vehicle networks through %s",
                        ", ".join(self.policy.uplinks))
        else:
            self.nft.apply(ruleset.remove())
            log.warning("stopped: fail-open, table inet %s removed", ruleset.TABLE)


def _cut_flows(address: str, version: int) -> int:
    """Delete the conntrack entries towards ``address``. The refuse rule stands before the
    established-flow rule, so their next packet meets a reset either way; deleting the entries
    makes the cut immediate for every protocol and frees the state."""
    binary = shutil.which("conntrack")
    if binary is None:
        log.warning("conntrack not found (Debian package conntrack): flows to %s end at their next packet", address)
        return 0
    result = subprocess.run([binary, "-D", "-f", "ipv4" if version == 4 else "ipv6", "-d", address],
                            capture_output=True, text=True, timeout=10, check=False)
    # conntrack says "N flow entries have been deleted" on stderr, exit 1 when N is 0.
    deleted = re.search(r"(\d+) flow entr", result.stderr)
    return int(deleted.group(1)) if deleted else 0
