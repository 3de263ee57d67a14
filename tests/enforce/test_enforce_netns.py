"""End to end: gatewatch enforcing a policy on real traffic between network namespaces.

Needs root, iproute2 and nftables (CI has all three; deploy/setup-dev.sh installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from .lab import CLOUD, NAME, NAME_TTL, Gatewatch, Lab, wait_until

MISSING = [tool for tool in ("ip", "nft", "conntrack") if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and nftables need root (CI runs as root)"),
    pytest.mark.skipif(bool(MISSING), reason=f"missing {', '.join(MISSING)}: run deploy/setup-dev.sh as root"),
]

POLICY = """\
version: 1
extends: default.yaml
mode: {mode}
on_stop: {on_stop}
vehicle_networks: [192.0.2.0/24, "2001:db8:1::/64"]
uplinks: [v-gwup]
dns: {{listen: [192.0.2.1], upstream: [{resolver}], timeout_s: 1}}
destinations:
  fleet:
    cidrs: [{allowed}/32, {cut}/32, "{allowed6}/128"]
    ports: [tcp/8000]
  fleet-names:
    domains: ["*.fleet.test"]
    ports: [tcp/8000]
rules:
  - {{id: position-to-fleet-names, category: geolocation, to: fleet-names, action: allow}}
  - {{id: position-elsewhere, category: geolocation, action: block}}
  - {{id: unlisted, category: unknown, action: block}}
"""


CONCERN_POLICY = """\
version: 1
extends: countries-of-concern-enforce
on_stop: fail-open
vehicle_networks: [192.0.2.0/24, "2001:db8:1::/64"]
uplinks: [v-gwup]
dns: {{listen: [192.0.2.1], upstream: [{resolver}], timeout_s: 1}}
geoip: {{overrides: test-countries.csv}}
destinations:
  countries-of-concern:
    countries: [countries-of-concern]
  fleet-names:
    domains: ["*.fleet.test"]
    ports: [tcp/8000]
  fleet:
    cidrs: [{allowed}/32]
    ports: [tcp/8000]
rules:
  - {{id: block-countries-of-concern, category: any, to: countries-of-concern, action: block}}
  - {{id: block-flows-to-concern, category: unknown, to: countries-of-concern, action: block}}
  - {{id: position-elsewhere, category: geolocation, action: block}}
  - {{id: unlisted, category: unknown, action: block}}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab"))
    try:
        lab.build()
        lab.start_cloud()
        yield lab
    finally:
        lab.teardown()


@pytest.fixture
def gatewatch(lab, tmp_path):
    """Start gatewatch with the test policy (mode and on_stop as given); stopped at the end."""
    started: list[Gatewatch] = []

    def start(mode: str = "enforce", on_stop: str = "fail-closed", template: str = POLICY) -> Gatewatch:
        policy = tmp_path / f"{mode}-{on_stop}-{len(started)}.yaml"
        policy.write_text(template.format(mode=mode, on_stop=on_stop, **CLOUD))
        daemon = Gatewatch(lab, policy, tmp_path / f"out-{len(started)}")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.stop()
    lab.run(lab.ns["gateway"], "nft", "flush", "ruleset")


def test_allowlisted_addresses_pass_and_unlisted_ones_get_no_byte_through(lab, gatewatch):
    gatewatch()
    for allowed, unlisted in (("allowed", "unlisted"), ("allowed6", "unlisted6")):
        before = len(lab.received(CLOUD[allowed]))
        ok = lab.send(CLOUD[allowed], chunks=3, size=700)
        assert ok == {"sent": 2100, "connected": True, "error": None}
        assert wait_until(lambda a=allowed, b=before: lab.received(CLOUD[a])[b:] == [2100])
        refused = lab.send(CLOUD[unlisted], chunks=3, size=700)
        assert refused["connected"] is False and refused["sent"] == 0
        assert lab.received(CLOUD[unlisted]) == []  # counted where it would have arrived


def test_a_listed_name_passes_only_after_it_was_resolved_and_until_its_ttl(lab, gatewatch):
    daemon = gatewatch()
    address = CLOUD["named"]
    assert lab.send(address)["connected"] is False  # not resolved yet: in no set
    asked = time.monotonic()
    resolved = lab.send(resolve=NAME, resolver="192.0.2.1", chunks=2, size=500)
    assert resolved == {"sent": 1000, "connected": True, "error": None, "resolved": address}
    elements = _elements(lab.ruleset(), "d1_4dns")
    assert [e["val"] for e in elements] == [address] and elements[0]["timeout"] == NAME_TTL
    assert wait_until(lambda: lab.received(address)[-1:] == [1000])
    assert wait_until(lambda: _elements(lab.ruleset(), "d1_4dns") == [], timeout=NAME_TTL + 30), "the name never expired"
    assert time.monotonic() - asked >= NAME_TTL - 0.2, "the name left the set before its TTL"  # 0.2: kernel timer slack
    after_ttl = lab.send(address)
    assert after_ttl["connected"] is False
    summary = daemon.stop()
    assert summary["dns"]["queries"] == 1 and summary["enforcer"]["admitted"] == 1


def test_a_flow_a_detector_flags_and_the_policy_blocks_is_cut_mid_transfer(lab, gatewatch):
    daemon = gatewatch()
    address = CLOUD["cut"]
    result = lab.send(address, chunks=60, size=1000, interval=0.05, position_at=10)
    full = 59 * 1000 + 72  # what an uncut transfer would have delivered
    assert result["connected"] is True and result["error"] in ("ConnectionResetError", "BrokenPipeError")
    delivered = lab.received(address)[-1]
    assert 10_000 <= delivered < full and result["sent"] < full
    alert = next(a for a in daemon.alerts() if a["category"] == "geolocation")
    assert alert["verdict"] == {"action": "block", "rule": "position-elsewhere"}
    assert alert["flow"]["resp_h"] == address and alert["evidence"]["enforced"] == "cut off"
    again = lab.send(address)  # the destination stays cut off: refused at once with a reset
    assert again["connected"] is False and again["error"] == "ConnectionRefusedError"
    assert lab.send(CLOUD["allowed"])["connected"] is True  # other listed destinations still pass


def test_on_stop_fail_closed_holds_egress_and_fail_open_releases_it(lab, gatewatch):
    gatewatch(on_stop="fail-closed").stop()
    assert lab.send(CLOUD["allowed"])["connected"] is False  # even a listed destination
    tables = [item["table"]["name"] for item in lab.ruleset() if "table" in item]
    assert tables == ["gatewatch"]
    gatewatch(on_stop="fail-open").stop()
    assert not [item for item in lab.ruleset() if "table" in item]
    assert lab.send(CLOUD["unlisted"])["connected"] is True


def test_monitor_mode_changes_nothing_in_the_kernel_and_still_alerts(lab, gatewatch):
    daemon = gatewatch(mode="monitor")
    assert not [item for item in lab.ruleset() if "table" in item]
    result = lab.send(CLOUD["unlisted"], chunks=2, size=100, position_at=1)
    assert result["connected"] is True and result["error"] is None
    assert wait_until(lambda: len(daemon.alerts()) >= 2)
    daemon.stop()
    verdicts = {(a["category"], a["verdict"]["rule"]) for a in daemon.alerts()}
    assert {("geolocation", "position-elsewhere"), ("unknown", "unlisted")} <= verdicts
    assert all("enforced" not in a.get("evidence", {}) for a in daemon.alerts())
    assert not [item for item in lab.ruleset() if "table" in item]


def _elements(ruleset: list[dict], set_name: str) -> list[dict]:
    for item in ruleset:
        if "set" in item and item["set"]["name"] == set_name:
            return [e["elem"] if isinstance(e, dict) and "elem" in e else {"val": e} for e in item["set"].get("elem", [])]
    raise AssertionError(f"no set {set_name} in {ruleset}")



def test_a_listed_name_resolving_into_a_country_of_concern_is_never_admitted(lab, gatewatch, tmp_path):
    # The test's documentation-range servers get countries from an override table it writes.
    (tmp_path / "test-countries.csv").write_text(f"{CLOUD['named']}/32,CN\n{CLOUD['cut']}/32,RU\n")
    gatewatch(template=CONCERN_POLICY)
    assert lab.send(CLOUD["allowed"])["connected"] is True  # an allowlisted address still passes
    before = len(lab.received(CLOUD["named"]))
    resolved = lab.send(resolve=NAME, resolver="192.0.2.1", chunks=2, size=500)
    assert resolved["resolved"] == CLOUD["named"] and resolved["connected"] is False  # refused though listed by name
    assert lab.received(CLOUD["named"])[before:] == []  # not a byte
    assert lab.send(CLOUD["cut"])["connected"] is False  # a raw address in a blocked country: never admitted
    holding = {item["set"]["name"] for item in lab.ruleset()
               if "set" in item and CLOUD["named"] in json.dumps(item["set"].get("elem", []))}
    assert holding == {"d0_4dns"}  # the countries-of-concern set (the first), which refuses; no allowlist
