"""``gatewatch policy check --for-run`` and the daemon's pre-flight: what `gatewatch run` would
bind and open is checked on this host, each problem one file:line error naming the key, exit
status 2; `gatewatch run` with such a file exits 2 with one line, never a traceback. Real
sockets, real interfaces (or their absence), the real nft; the namespace test of the shipped
strict policy starting is tests/enforce/test_strict_starts.py."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config.model import INSIDE
from monitor.daemon.hostaddrs import HostAddress, host_addresses, interface_exists
from monitor.daemon.preflight import inside_addresses
from monitor.enforce.dnsforward import DnsForwarder
from monitor.errors import ConfigError
from monitor.pipeline import load_config
from monitor.policy.decide import Decider

from ..builders import run
from ..conftest import PROJECT

STRICT = PROJECT / "policies" / "strict.yaml"
GATEWATCH = [sys.executable, "-m", "monitor"]
MISSING_IF = "gw-nosuch0"


def line_of(path: Path, prefix: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(prefix))


def absent_address() -> str:
    """A documentation address this host does not have (the test host's own may be in 192.0.2/24)."""
    mine = {str(a.address) for a in host_addresses()}
    return next(str(a) for a in ipaddress.ip_network("203.0.113.0/24").hosts() if str(a) not in mine)


def write(tmp_path: Path, text: str, name: str = "gateway.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors(err: str, key: str) -> list[str]:
    return [line for line in err.splitlines() if f": {key}: " in line]


def test_inside_is_the_vehicle_side_off_the_uplinks():
    addresses = [HostAddress(name, ipaddress.ip_address(a)) for name, a in [
        ("lo", "127.0.0.1"), ("eth0", "192.168.7.1"), ("eth0", "fe80::1"), ("eth0", "fd00::1"),
        ("wwan0", "192.168.8.2"), ("wwan0", "100.64.3.4"), ("eth1", "10.1.1.1")]]
    networks = [ipaddress.ip_network(n) for n in ("192.168.0.0/16", "fd00::/8", "fe80::/10", "127.0.0.0/8")]
    found = inside_addresses(addresses, networks, ["wwan0"])
    # the uplink's own private address, link-local and loopback never; a network not listed neither
    assert [(a.interface, str(a.address)) for a in found] == [("eth0", "192.168.7.1"), ("eth0", "fd00::1")]


def test_host_addresses_are_the_kernels():
    found = host_addresses()
    assert HostAddress("lo", ipaddress.ip_address("127.0.0.1")) in found
    assert {a.interface for a in found} <= {name for _, name in socket.if_nameindex()}
    assert interface_exists("lo") and not interface_exists(MISSING_IF)


def test_an_address_not_of_this_host_is_named_with_its_line_and_exit_2(tmp_path):
    address = absent_address()
    config = write(tmp_path, f"version: 1\nextends: strict\nuplinks: [lo]\ndns:\n  listen: [{address}]\n"
                             f"  upstream: [192.0.2.53]\n")
    code, out, err = run("policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert code == 2 and out == ""
    assert errors(err, "dns.listen") == [f"gatewatch policy check: error: {config}:5:12: dns.listen: cannot listen on "
                                         f"{address}:53: Cannot assign requested address; not an address of this host: "
                                         f"use the inside interface's address, or inside"]
    assert run("policy", "check", str(config))[0] == 0  # loading alone cannot know: that is what --for-run is for


def test_inside_without_an_address_there_names_the_shipped_line(tmp_path):
    config = write(tmp_path, "version: 1\nextends: strict\nuplinks: [lo]\nvehicle_networks: [198.18.0.0/15]\n")
    assert not any(a.address in ipaddress.ip_network("198.18.0.0/15") for a in host_addresses())
    code, _, err = run("policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert code == 2
    [line] = errors(err, "dns.listen")
    assert line.startswith(f"gatewatch policy check: error: {STRICT}:{line_of(STRICT, 'listen:')}:12: dns.listen: "
                           f"{INSIDE}: this host has no address in the vehicle networks (198.18.0.0/15) on an "
                           f"interface other than the uplinks (lo)")


def test_gatewatch_run_with_it_exits_2_with_one_line_naming_dns_listen(tmp_path):
    address = absent_address()
    config = write(tmp_path, f"version: 1\nextends: strict\nuplinks: [lo]\ndns:\n  listen: [{address}]\n"
                             f"  upstream: [192.0.2.53]\n")
    done = subprocess.run([*GATEWATCH, "run", "--config", str(config), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=PROJECT, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"gatewatch run: error: {config}:5:12: dns.listen: cannot listen on {address}:53: "
                                  "Cannot assign requested address")
    assert done.stdout == "" and not (tmp_path / "out").exists()  # nothing started, nothing written


def test_a_bind_that_fails_at_run_time_names_the_item_and_closes_what_it_bound(tmp_path):
    """The forwarder's own bind (a port taken between the check and the start)."""
    config = load_config(write(tmp_path, "version: 1\nextends: strict\n"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as free, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        free.bind(("127.0.0.1", 0))
        held.bind(("127.0.0.1", 0))
        free_port, held_port = free.getsockname()[1], held.getsockname()[1]
        free.close()
        forwarder = DnsForwarder(Decider(config.policy), lambda *_: None,
                                 [("127.0.0.1", free_port, "a.yaml:3:12"), ("127.0.0.1", held_port, "a.yaml:4:12")])
        with pytest.raises(ConfigError) as caught:
            forwarder.start()
    assert str(caught.value) == f"a.yaml:4:12: dns.listen: cannot listen on 127.0.0.1:{held_port}: Address already in use"
    assert forwarder.sockets == []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", free_port))  # the first one was let go


def test_a_missing_uplink_is_an_error_here_and_a_warning_for_the_daemon(tmp_path, caplog):
    from monitor.daemon import Daemon

    config = write(tmp_path, f"version: 1\nextends: default\nuplinks: [lo, {MISSING_IF}]\n")
    with caplog.at_level(logging.WARNING):  # before the CLI below, which sets up logging its own way
        daemon = Daemon(str(config), tmp_path / "out")  # a modem that enumerates late: opened when it appears
    daemon.log.close("test")
    assert [str(s) for s in daemon.sources] == ["ip:lo", f"ip:{MISSING_IF}"]
    assert f"{config}:3:15: uplinks: {MISSING_IF}: no such network interface: starting anyway" in caplog.text
    code, out, err = run("policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert code == 2 and out == ""
    assert err == f"gatewatch policy check: error: {config}:3:15: uplinks: {MISSING_IF}: no such network interface\n"


def test_sources_name_their_entry(tmp_path):
    config = write(tmp_path, "version: 1\nextends: default\nsources:\n"
                             f"  can: [{{name: body, interface: socketcan, channel: {MISSING_IF}}}]\n"
                             "  ip:\n    - {interface: lo, filter: 'port nonsense'}\n")
    code, _, err = run("policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert code == 2
    assert errors(err, "sources.can.channel") == [f"gatewatch policy check: error: {config}:4:9: sources.can.channel: "
                                                  f"{MISSING_IF}: no such CAN interface (bus body)"]
    [bpf] = errors(err, "sources.ip.filter")
    assert bpf.startswith(f"gatewatch policy check: error: {config}:6:7: sources.ip.filter: BPF filter 'port nonsense'")


def test_an_output_folder_that_cannot_be_made_is_named(tmp_path):
    config = write(tmp_path, "version: 1\nextends: default\nsources: {ip: [{interface: lo, filter: udp}]}\n")
    blocker = write(tmp_path, "not a folder", name="file")
    code, out, err = run("policy", "check", "--for-run", "-o", str(blocker / "out"), str(config))
    assert code == 2 and out == ""
    assert err == f"gatewatch policy check: error: --output {blocker / 'out'}: {blocker} is not a folder\n"
    code, out, err = run("policy", "check", "--for-run", "-o", str(tmp_path / "new" / "out"), str(config))
    assert (code, err) == (0, "") and ": ok: monitor mode" in out
    assert not (tmp_path / "new").exists()  # checked, not made


def test_enforce_without_nft_names_the_mode_line(tmp_path):
    config = write(tmp_path, "version: 1\nextends: strict\nuplinks: [lo]\ndns: {listen: []}\n")
    bare = tmp_path / "bin"
    bare.mkdir()  # a PATH without nft
    done = subprocess.run([*GATEWATCH, "policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config)],
                          capture_output=True, text=True, cwd=PROJECT, timeout=120, check=False,
                          env={**os.environ, "PATH": str(bare)})
    assert done.returncode == 2
    assert done.stderr == (f"gatewatch policy check: error: {STRICT}:{line_of(STRICT, 'mode:')}:1: mode: enforce needs nft "
                           "(Debian's nftables package), which is not installed\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="nft --check needs CAP_NET_ADMIN (CI runs as root)")
def test_a_good_enforce_configuration_says_where_dns_listens(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write(tmp_path, f"version: 1\nextends: strict\nuplinks: [lo]\ndns: {{listen: ['127.0.0.1:{port}'], "
                             "upstream: [192.0.2.53]}\n")
    code, out, err = run("policy", "check", "--for-run", "-o", str(tmp_path / "out"), str(config))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{config}: dns.listen: 127.0.0.1:{port}",
                                f"{config}: ok: enforce mode, 3 destination sets, 10 rules, default block, "
                                "on stop fail-closed, uplinks lo"]


def test_a_file_that_does_not_load_is_exit_2_with_for_run_and_1_without(tmp_path):
    config = write(tmp_path, "version: 1\nextends: strict\nmode: enforcing\n")
    for argv, status in ((["--for-run", "-o", str(tmp_path / "out")], 2), ([], 1)):
        code, out, err = run("policy", "check", *argv, str(config))
        assert (code, out) == (status, "")
        assert err == f"gatewatch policy check: error: {config}:3:1: mode must be one of monitor, enforce, not 'enforcing'\n"
    code, _, err = run("run", "--config", str(config), "-o", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and f"{config}:3:1: mode must be one of" in err
