"""The nftables ruleset as data: one table of gatewatch's own, replaced in one transaction; per
destination set its CIDR and DNS sets; the order of the egress rules; and a reload that swaps
the table in one call with the run-time blocks carried over."""

from __future__ import annotations

from monitor.enforce import ruleset
from monitor.enforce.enforcer import Enforcer
from monitor.pipeline import load_config

from ..conftest import PROJECT


def strict_policy():
    return load_config("strict").policy


def test_only_its_own_table_is_named_and_replaced_first():
    commands = ruleset.build(strict_policy(), None)
    assert [list(c) for c in commands[:3]] == [["add"], ["delete"], ["add"]]
    tables = {c[verb]["table"]["name"] for c in commands for verb in c if "table" in c[verb]}
    named = {c[verb][kind]["table"] for c in commands for verb in c for kind in c[verb] if kind != "table"}
    assert tables == named == {ruleset.TABLE}


def test_every_destination_set_gets_cidr_and_dns_sets_per_family():
    policy = strict_policy()
    sets = {c["add"]["set"]["name"]: c["add"]["set"] for c in ruleset.build(policy, None) if "set" in c.get("add", {})}
    assert {ruleset.BLOCK4, ruleset.BLOCK6} <= set(sets)
    for kset in ruleset.kernel_sets(policy):
        for version in (4, 6):
            assert sets[kset.name(version)]["flags"] == ["interval"]
            assert sets[kset.name(version, dns=True)]["flags"] == ["timeout"]
            cidrs = [c for c in kset.destination.cidrs if c.version == version]
            assert len(sets[kset.name(version)].get("elem", [])) == len(cidrs)


def test_refusals_come_before_established_flows_and_the_unknown_verdict_last():
    rules = [c["add"]["rule"] for c in ruleset.build(strict_policy(), ["192.168.0.0/16"]) if "rule" in c.get("add", {})]
    egress = [r for r in rules if r["chain"] == "egress"]
    text = [str(r["expr"]) for r in egress]
    refuse = next(i for i, t in enumerate(text) if ruleset.BLOCK4 in t)
    established = next(i for i, t in enumerate(text) if "established" in t)
    assert refuse < established
    assert "drop" in text[-1]  # strict blocks unknown destinations


class RecordingNft:
    def __init__(self) -> None:
        self.calls: list[list[dict]] = []

    def apply(self, commands: list[dict]) -> None:
        self.calls.append(commands)


def test_a_reload_swaps_the_table_in_one_transaction_and_keeps_run_time_blocks(monkeypatch):
    monkeypatch.setattr("monitor.enforce.enforcer._cut_flows", lambda address, version: 0)
    nft = RecordingNft()
    enforcer = Enforcer(strict_policy(), None, nft=nft)
    enforcer.start()
    enforcer.block("203.0.113.66")
    new = load_config(PROJECT / "seeds" / "policy-trial" / "policy.yaml").policy
    enforcer.reload(new)
    reload = nft.calls[-1]
    assert len(nft.calls) == 3 and reload[:3] == ruleset.build(new, None)[:3]
    assert reload[-1] == ruleset.element(ruleset.BLOCK4, "203.0.113.66")
    assert enforcer.policy is new and enforcer.counts["reloads"] == 1
