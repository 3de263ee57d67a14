"""Can this configuration start here? Everything the daemon binds or opens, checked before it
starts anything: ``gatewatch policy check --for-run`` and the daemon's own start run the same
checks, so a file that passes one does not die in the other.

- ``dns.listen`` (enforce mode): each address is one of this host's and its port can be bound
  (a test bind, as the forwarder binds); ``inside`` is resolved to the gateway's addresses in
  the vehicle networks on interfaces other than the uplinks, and finding none is an error.
- interfaces: the captured ones (``-i``, ``sources.ip``, else the uplinks), the uplinks enforce
  mode matches, and SocketCAN channels exist; BPF filters compile.
- enforce mode: nft is installed and the kernel takes the ruleset (``nft --check``).
- the output folder can be created and written.

Each problem names where it is configured (file:line:column) and the key. A missing interface
is ``retried``: the daemon starts anyway, logs it and opens the interface when it appears (a
modem that enumerates late must not leave the vehicle unwatched); ``policy check --for-run``
reports it as an error all the same.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..config.model import INSIDE, Config
from ..errors import ConfigError
from ..net.direction import DEFAULT_VEHICLE_NETWORKS
from .hostaddrs import HostAddress, host_addresses, interface_exists

NFT_CHECK_TIMEOUT_S = 30


@dataclass(frozen=True)
class Problem:
    where: str  # file:line:column of the key, or "" for a command-line option
    key: str  # dns.listen, uplinks, sources.ip.interface, mode, --output ...
    message: str
    retried: bool = False  # the daemon starts anyway and opens it when it appears

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: {self.message}" if self.where else f"{self.key}: {self.message}"


@dataclass(frozen=True)
class Listen:
    """One socket the DNS forwarder binds, with the configuration item it comes from."""

    host: str
    port: int
    where: str

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class StartError(ConfigError):
    """The configuration cannot start on this host: one line, the first problem (and how many more)."""

    def __init__(self, problems: list[Problem]) -> None:
        more = f" (and {len(problems) - 1} more: gatewatch policy check --for-run lists them)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")
        self.problems = problems


def check(config: Config, output: Path | None, interfaces: list[str] | None = None,
          live_sources: bool = True) -> tuple[list[Problem], list[Listen]]:
    """Every problem found, and where the DNS forwarder will listen (empty: no forwarder).
    ``live_sources`` False: the caller hands the daemon its own sources (bench, tests)."""
    problems: list[Problem] = []
    listen = dns_listen(config, problems) if forwarder_runs(config) else []
    problems += [p for item in listen if (p := bind_problem(item)) is not None]
    if live_sources:
        problems += interface_problems(config, interfaces)
        problems += filter_problems(config, interfaces)
    if config.policy.mode == "enforce":
        problems += uplink_problems(config)
        problems += nft_problems(config)
    if output is not None:
        problems += output_problems(output)
    return _unique(problems), listen


def forwarder_runs(config: Config) -> bool:
    """The daemon runs the DNS forwarder in enforce mode when dns.listen names somewhere."""
    return config.policy.mode == "enforce" and bool(config.policy.dns.listen)


# ------------------------------------------------------------------ dns.listen

def dns_listen(config: Config, problems: list[Problem]) -> list[Listen]:
    """The configured listen items, ``inside`` resolved to this host's addresses."""
    dns, out = config.policy.dns, []
    addresses = None
    for (host, port), where in zip(dns.listen, _places(dns.listen_at, len(dns.listen))):
        if host != INSIDE:
            out.append(Listen(host, port, where))
            continue
        addresses = addresses if addresses is not None else host_addresses()
        found = inside_addresses(addresses, _networks(config), config.policy.uplinks)
        if not found:
            problems.append(Problem(where, "dns.listen", _none_inside(config)))
        out += [Listen(str(a.address), port, where) for a in found]
    return out


def inside_addresses(addresses: Iterable[HostAddress], networks: list, uplinks: Iterable[str]) -> list[HostAddress]:
    """This host's addresses in the vehicle networks, not on an uplink. Link-local ones are
    left out: a socket bound to one needs its interface named, and hosts resolve through a
    routable address of the gateway (the one DHCP hands them)."""
    uplinks = set(uplinks)
    return [a for a in addresses if a.interface not in uplinks and not a.address.is_link_local
            and not a.address.is_loopback and any(a.address in net for net in networks if net.version == a.address.version)]


def _networks(config: Config) -> list:
    return [ipaddress.ip_network(c, strict=False) for c in (config.vehicle_networks or DEFAULT_VEHICLE_NETWORKS)]


def _none_inside(config: Config) -> str:
    networks = ", ".join(config.vehicle_networks or DEFAULT_VEHICLE_NETWORKS)
    uplinks = f" on an interface other than the uplinks ({', '.join(config.policy.uplinks)})" if config.policy.uplinks else ""
    return (f"{INSIDE}: this host has no address in the vehicle networks ({networks}){uplinks}; give the "
            f"inside interface one, or set dns.listen to the address in-vehicle hosts resolve through")


def bind_problem(item: Listen) -> Problem | None:
    """A test bind, as the forwarder binds (UDP, no SO_REUSEADDR: a port another resolver
    holds is an error, not a silent share)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in item.host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((item.host, item.port))
    except OSError as error:
        return Problem(item.where, "dns.listen", cannot_listen(item, error))
    return None


def cannot_listen(item: Listen, error: OSError) -> str:
    """The one message for a listen address that cannot be bound, here and in the forwarder."""
    hint = {errno.EADDRNOTAVAIL: f"not an address of this host: use the inside interface's address, or {INSIDE}",
            errno.EACCES: "a port below 1024 needs root or CAP_NET_BIND_SERVICE",
            errno.EADDRINUSE: "another program (a resolver such as dnsmasq) listens there"}.get(error.errno or 0)
    return f"cannot listen on {item}: {error.strerror or error}" + (f"; {hint}" if hint else "")


# ------------------------------------------------------------------ interfaces

def interface_problems(config: Config, interfaces: list[str] | None) -> list[Problem]:
    """The interfaces the daemon captures on (as daemon/sources.py picks them) and its
    SocketCAN channels must exist."""
    problems = []
    for where, key, name in captured(config, interfaces):
        if not interface_exists(name):
            problems.append(Problem(where, key, f"{name}: no such network interface", retried=True))
    for bus in config.sources.can:
        if bus.interface == "socketcan" and bus.channel is not None and not interface_exists(str(bus.channel)):
            problems.append(Problem(bus.where, "sources.can.channel", f"{bus.channel}: no such CAN interface "
                                    f"(bus {bus.name})", retried=True))
    return problems


def captured(config: Config, interfaces: list[str] | None) -> list[tuple[str, str, str]]:
    """(where, key, interface) of each interface captured on."""
    if interfaces:
        return [("", "-i", name) for name in interfaces]
    if config.sources.ip:
        return [(s.where, "sources.ip.interface", s.interface) for s in config.sources.ip]
    if not config.sources.configured:
        return [(where, "uplinks", name) for name, where in _uplinks(config)]
    return []


def uplink_problems(config: Config) -> list[Problem]:
    """Enforce mode matches traffic by the interface it leaves through: an uplink that does
    not exist enforces nothing until it appears."""
    return [Problem(where, "uplinks", f"{name}: no such network interface (enforce mode cuts traffic leaving "
                    "through it; none is until it appears)", retried=True)
            for name, where in _uplinks(config) if not interface_exists(name)]


def _uplinks(config: Config) -> list[tuple[str, str]]:
    policy = config.policy
    return list(zip(policy.uplinks, _places(policy.uplinks_at, len(policy.uplinks))))


def filter_problems(config: Config, interfaces: list[str] | None) -> list[Problem]:
    """BPF filters compile (scapy is imported only when a filter is configured)."""
    if interfaces or not any(s.filter for s in config.sources.ip):
        return []
    from ..net.live import compile_filter
    from ..net.packets import LINKTYPE_ETHERNET

    problems = []
    for source in config.sources.ip:
        if source.filter:
            try:
                compile_filter(source.filter, LINKTYPE_ETHERNET)
            except ConfigError as error:
                problems.append(Problem(source.where, "sources.ip.filter", str(error)))
    return problems


# ------------------------------------------------------------------ nftables and the output folder

def nft_problems(config: Config) -> list[Problem]:
    """nft is there and the kernel takes the ruleset: ``nft --check`` runs the transaction
    without committing it (it needs CAP_NET_ADMIN, as applying does)."""
    from ..enforce import ruleset

    where = config.key_at.get("mode", config.path)
    binary = shutil.which("nft")
    if not binary:
        return [Problem(where, "mode", "enforce needs nft (Debian's nftables package), which is not installed")]
    commands = ruleset.build(config.policy, config.vehicle_networks)
    try:
        result = subprocess.run([binary, "--check", "-j", "-f", "-"], input=json.dumps({"nftables": commands}),
                                capture_output=True, text=True, timeout=NFT_CHECK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return [Problem(where, "mode", f"enforce: nft --check did not run: {error}")]
    if result.returncode != 0:
        reason = " ".join(result.stderr.split())[:300] or f"exit status {result.returncode}"
        return [Problem(where, "mode", f"enforce: the kernel refuses table {ruleset.FAMILY} {ruleset.TABLE}: {reason}")]
    return []


def output_problems(output: Path) -> list[Problem]:
    """The output folder exists and is writable, or can be made: checked without creating it."""
    existing = output
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [Problem("", f"--output {output}", f"{existing} is not a folder")]
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "write" if existing == output else f"create it: {existing} is not writable"
        return [Problem("", f"--output {output}", f"cannot {what} ({os.strerror(errno.EACCES)})")]
    return []


def _places(places: tuple[str, ...], count: int) -> list[str]:
    """file:line:column per item; a model built in code (tests) may have none."""
    return list(places) if len(places) == count else [""] * count


def _unique(problems: list[Problem]) -> list[Problem]:
    """An uplink both captured and enforced is reported once."""
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(f"{problem.where}|{problem.message.split(' (')[0]}", problem)
    return list(seen.values())
