"""Policy files: the shipped ones load and match the JSON Schema; broken ones are refused with
one line naming file:line:column and what is wrong; `policy check` reports each file."""

from __future__ import annotations

import json
import re
import textwrap

import jsonschema
import pytest
import yaml

from monitor.config import model
from monitor.config.load import TOP_KEYS
from monitor.detect import threshold_sections
from monitor.errors import PolicyError
from monitor.pipeline import load_config

from ..builders import run
from ..conftest import PROJECT

SHIPPED = ["policies/default.yaml", "policies/strict.yaml", "seeds/policy-trial/policy.yaml",
           "policies/countries-of-concern.yaml", "policies/countries-of-concern-enforce.yaml", "policies/sources-example.yaml"]
SCHEMA = json.loads((PROJECT / "policies" / "policy.schema.json").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_policies_load_and_validate_against_the_json_schema(name):
    config = load_config(PROJECT / name)
    assert config.policy.rules, "a shipped policy without rules decides nothing"
    jsonschema.validate(yaml.safe_load((PROJECT / name).read_text()), SCHEMA)


def test_json_schema_names_exactly_what_the_loader_reads():
    assert set(SCHEMA["properties"]) == set(TOP_KEYS)
    assert set(SCHEMA["properties"]["detectors"]["properties"]) == set(threshold_sections())
    assert SCHEMA["$defs"]["rule"]["properties"]["category"]["enum"] == list(model.RULE_CATEGORIES)
    assert SCHEMA["$defs"]["action"]["enum"] == list(model.ACTIONS)


def test_strict_is_enforcing_default_deny_and_default_only_monitors():
    default, strict = load_config(PROJECT / SHIPPED[0]).policy, load_config(PROJECT / SHIPPED[1]).policy
    assert default.mode == "monitor" and strict.mode == "enforce" and strict.on_stop == "fail-closed"
    assert [r.action for r in default.rules if r.category in ("geolocation", "video", "mapping")] == ["alert"] * 3
    unknown = [r for r in strict.rules if r.category == "unknown"]
    assert unknown and unknown[0].action == "block" and strict.uplinks


# (policy text, the message part, the line:column it must name)
BROKEN = {
    "unknown key in a rule": ("rules:\n  - {id: a, category: video, action: alert, tp: x}\n",
                              "unknown key 'tp' in a rule", "2:45"),
    "wrong type": ("mode: 3\n", "mode must be one of monitor, enforce, not 3", "1:1"),
    "CIDR prefix too long": ("destinations:\n  x:\n    cidrs: [10.0.0.0/33]\n", "'10.0.0.0/33' is not a CIDR", "3:13"),
    "CIDR host bits": ("destinations:\n  x:\n    cidrs:\n      - 192.0.2.1/24\n", "has host bits set", "4:9"),
    "IPv6 CIDR": ("destinations:\n  x:\n    cidrs: ['2001:db8::/129']\n", "is not a CIDR", "3:13"),
    "wildcard in the middle": ("destinations:\n  x:\n    domains: [a.example.com, 'a.*.example.com']\n",
                               "'a.*.example.com' is not a domain name", "3:30"),
    "wildcard glued to a label": ("destinations:\n  x:\n    domains: ['*example.com']\n", "is not a domain name", "3:15"),
    "bare wildcard": ("destinations:\n  x:\n    domains: ['*.com.']\n", "is not a domain name", "3:15"),
    "bad port": ("destinations:\n  x:\n    ports: [tcp/70000]\n", "'tcp/70000' is not a port", "3:13"),
    "bad protocol": ("destinations:\n  x:\n    ports: [icmp/1]\n", "'icmp/1' is not a port", "3:13"),
    "bad country": ("destinations:\n  x:\n    countries: [Germany]\n", "not an ISO 3166-1 alpha-2", "3:17"),
    "bad ASN": ("destinations:\n  x:\n    asns: [ASX]\n", "not an AS number", "3:12"),
    "asn without a database": ("destinations:\n  x:\n    asns: [64496]\n", "need geoip: {asn: FILE.mmdb}", "2:3"),
    "unknown country list": ("destinations:\n  x:\n    countries: [nowhere-land]\n", "or a named list (countries-of-concern)", "3:17"),
    "missing database": ("geoip: {asn: /nonexistent/asn.mmdb}\n", "GeoIP asn database", "1:9"),
    "duplicate rule id": (("rules:\n  - {id: a, category: video, to: [x], action: alert}\n"
                           "  - {id: a, category: mapping, action: alert}\ndestinations: {x: {cidrs: [192.0.2.0/24]}}\n"),
                          "duplicate rule id 'a' (first at", "3:5"),
    "unreachable rule": (("rules:\n  - {id: all-video, category: video, action: alert}\n"
                          "  - {id: some-video, category: video, to: x, action: block}\n"
                          "destinations: {x: {cidrs: [192.0.2.0/24]}}\n"),
                         "rule 'some-video' can never match: rule 'all-video' at", "3:5"),
    "unreachable behind any": (("rules:\n  - {id: everything, category: any, action: alert}\n"
                                "  - {id: cans, category: can, action: block}\n"), "rule 'cans' can never match", "3:5"),
    "rule names no such set": ("rules:\n  - {id: a, category: video, to: [nowhere], action: alert}\n",
                               "names destination set 'nowhere', which is not defined", "2:35"),
    "destination on a CAN rule": ("rules:\n  - {id: a, category: can, to: x, action: alert}\n",
                                  "a 'can' rule has no destination", "2:28"),
    "unknown category": ("rules:\n  - {id: a, category: radar, action: alert}\n", "category must be one of", "2:13"),
    "missing action": ("rules:\n  - {id: a, category: video}\n", "rule needs 'action'", "2:5"),
    "duplicate YAML key": ("mode: monitor\nmode: enforce\n", "duplicate key 'mode'", "2:1"),
    "YAML syntax": ("rules: [\n", "expected", "2:1"),
    "bad upstream": ("dns: {upstream: [resolver.example]}\n", "is not an address or address:port", "1:18"),
    "bad listen": ("dns:\n  listen: [192.0.2.1, eth0]\n", "'eth0' is not an address, address:port or inside", "2:23"),
    "bad inside port": ("dns:\n  listen: ['inside:dns']\n", "'inside:dns': bad port", "2:12"),
    "bad vehicle network": ("vehicle_networks: [192.168.0.0/16, lan]\n", "vehicle network 'lan' is not a CIDR", "1:36"),
    "uplinks not a list": ("uplinks: wwan0\n", "uplinks must be a list", "1:1"),
    "unknown top-level key": ("mdoe: enforce\n", "unknown key 'mdoe' in the top level", "1:1"),
    "extends nothing": ("extends: nothere.yaml\n", "extends 'nothere.yaml': no such policy", "1:1"),
}


@pytest.mark.parametrize("text,message,position", BROKEN.values(), ids=BROKEN.keys())
def test_broken_policy_is_one_line_naming_file_line_column(tmp_path, text, message, position):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\n" + text)
    line, column = position.split(":")
    code, out, err = run("policy", "check", str(path))
    assert code == 1 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"gatewatch policy check: error: {path}:{int(line) + 1}:{column}: "), err
    assert message in err


def test_policy_check_reports_every_file_and_fails_if_any_is_broken(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: enforce\non_stop: fail-sideways\n")
    code, out, err = run("policy", "check", str(PROJECT / SHIPPED[0]), str(bad), str(PROJECT / SHIPPED[1]))
    assert code == 1
    assert re.findall(r"^.*: ok: (\w+) mode", out, re.MULTILINE) == ["monitor", "enforce"]
    assert f"{bad}:2:1: on_stop must be one of fail-open, fail-closed" in err


def test_strict_listens_inside_and_each_listen_item_keeps_its_line(tmp_path):
    strict = load_config(PROJECT / SHIPPED[1]).policy.dns
    text = (PROJECT / SHIPPED[1]).read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.strip().startswith("listen:"))
    assert strict.listen == ((model.INSIDE, 53),)
    assert strict.listen_at == (f"{PROJECT / SHIPPED[1]}:{line}:12",)
    site = tmp_path / "site.yaml"
    site.write_text("extends: strict\ndns:\n  listen:\n    - inside:5353\n    - '[fd00::1]:53'\n    - 192.168.1.1\n")
    dns = load_config(site).policy.dns
    assert dns.listen == (("inside", 5353), ("fd00::1", 53), ("192.168.1.1", 53))
    assert dns.listen_at == tuple(f"{site}:{n}:7" for n in (4, 5, 6))


def test_extends_takes_what_the_file_does_not_set_and_names_the_right_file(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(textwrap.dedent(f"""\
        extends: {PROJECT / 'policies' / 'strict.yaml'}
        uplinks: [eth1]
        rules:
          - {{id: only, category: geolocation, action: block}}
        """))
    config = load_config(site)
    assert config.policy.uplinks == ("eth1",) and config.policy.mode == "enforce"
    assert [r.id for r in config.policy.rules] == ["only"] and config.signals
    site.write_text(site.read_text() + "default: maybe\n")
    with pytest.raises(PolicyError, match=re.escape(f"{site}:5:1: default must be one of")):
        load_config(site)
