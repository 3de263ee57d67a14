"""Deciding: every rule kind decides the flow it was built for in the policy-trial recordings,
verdicts name their rule, and allowed findings stay out of the alert log."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from monitor.detect.finding import Finding
from monitor.pipeline import load_config
from monitor.policy.decide import Decider, Destination, name_matches

from ..builders import alerts_in, run
from ..conftest import PROJECT

TRIAL = PROJECT / "seeds" / "policy-trial"
RECORDINGS = [str(TRIAL / "can.log"), str(TRIAL / "capture.pcap")]


def _trial_flows() -> list[tuple]:
    spec = importlib.util.spec_from_file_location("policy_trial_make", TRIAL / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FLOWS


def _rows(out: str) -> list[dict]:
    """The finding lines of `policy test`: time, action, rule, category, ..., destination."""
    rows = []
    for line in out.splitlines():
        match = re.match(r"^\s+(\d+\.\d{3})  (\w+)\s+(\S+)\s+(\w+)\s+.*?(?:tcp (\S+):(\d+)(?: \(.*\))?|CAN (\S+))$", line)
        if match:
            ts, action, rule, category, host, port, bus = match.groups()
            rows.append({"ts": float(ts), "action": action, "rule": rule, "category": category,
                         "host": host.strip("[]") if host else None, "port": int(port) if port else None, "bus": bus})
    return rows


def test_policy_test_shows_the_rule_that_decides_each_flow_of_the_trial():
    code, out, err = run("policy", "test", str(TRIAL / "policy.yaml"), "--replay", *RECORDINGS)
    assert code == 0, err
    rows = _rows(out)
    content = {(r["ts"], r["host"], r["port"]): r["rule"] for r in rows if r["category"] not in ("unknown", "can")}
    assert content == {(ts, host, port): rule for ts, host, port, _, rule in _trial_flows()
                       if rule != "unlisted-destinations"}  # that flow carries nothing a detector flags
    assert [r["rule"] for r in rows if r["category"] == "can"] == ["can-anomalies"]
    # Flows to destinations in no set (the port-restricted fleet set does not hold 203.0.113.9:6000).
    unknown = {(r["host"], r["port"]) for r in rows if r["category"] == "unknown"}
    assert unknown == {("203.0.113.9", 6000), ("192.0.2.44", 80), ("192.0.2.45", 80), ("192.0.2.46", 443),
                       ("192.0.2.47", 443)}
    policy = load_config(TRIAL / "policy.yaml").policy
    listed = re.findall(r"^  (\S+)\s+(?:\d+ \w+|never matched)\s+(\S+:\d+:\d+)$", out, re.MULTILINE)
    assert [rule_id for rule_id, _ in listed] == [r.id for r in policy.rules]
    assert "mapping-elsewhere" not in {r["rule"] for r in rows if r["host"] == "203.0.113.88"}


def test_replay_alert_log_has_verdicts_and_leaves_allowed_findings_out(tmp_path):
    code, out, err = run("replay", *RECORDINGS, "--config", str(TRIAL / "policy.yaml"), "-o", str(tmp_path))
    assert code == 0, err
    alerts = alerts_in(tmp_path)
    assert alerts and all(a["verdict"]["action"] in ("alert", "block") for a in alerts)
    allowed = {(h, p) for _, h, p, _, rule in _trial_flows() if rule in ("position-to-fleet", "map-tiles",
                                                                           "identity-to-fleet")}
    assert not [a for a in alerts if (a.get("flow", {}).get("resp_h"), a.get("flow", {}).get("resp_p")) in allowed
                and a["category"] != "unknown"]
    blocked = {a["flow"]["resp_h"] for a in alerts if a["verdict"]["action"] == "block"}
    assert blocked == {"203.0.113.9", "2001:db8:bad::1", "192.0.2.45"}
    assert "position-to-fleet:allow 2" in out  # allowed findings are counted per rule in the summary


@pytest.mark.parametrize("pattern,name,matches", [
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "badexample.com", False),
    ("*.example.com", "A.EXAMPLE.COM.", True),
    ("example.com", "example.com", True),
    ("example.com", "www.example.com", False),
])
def test_wildcards_match_names_below_the_domain_only(pattern, name, matches):
    assert name_matches(pattern, name) is matches


def _finding(category: str, dst: str, dport: int, names=()) -> Finding:
    flow = {"proto": "tcp", "orig_h": "192.168.1.2", "orig_p": 40000, "resp_h": dst, "resp_p": dport,
            "direction": "outbound"}
    return Finding(ts=0.0, detector="t", category=category, seen="t", confidence=1.0, flow=flow, names=list(names))


def test_first_matching_rule_decides_and_the_default_catches_the_rest(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("""\
destinations:
  cloud: {cidrs: ["2001:db8:1::/48", 203.0.113.0/24], ports: [tcp/443, udp/443]}
  names: {domains: ["*.example.com"]}
rules:
  - {id: video-cloud, category: video, to: [cloud, names], action: allow}
  - {id: video-other, category: video, action: block}
  - {id: anything-to-names, category: any, to: names, action: alert}
default: allow
""")
    decider = Decider(load_config(path).policy)

    def decide(*args, **kwargs) -> tuple:
        verdict = decider.decide(_finding(*args, **kwargs))
        return verdict.action, verdict.rule, verdict.matched_set

    assert decide("video", "2001:db8:1::5", 443) == ("allow", "video-cloud", "cloud")
    assert decide("video", "2001:db8:1::5", 80) == ("block", "video-other", None)
    assert decide("video", "198.51.100.1", 80, names=["cam.example.com"]) == ("allow", "video-cloud", "names")
    assert decide("mapping", "198.51.100.1", 80, names=["x.example.com"]) == ("alert", "anything-to-names", "names")
    assert decide("mapping", "198.51.100.1", 80) == ("allow", "default", None)
    assert decider.decide_unknown(Destination("203.0.113.7", 443, "tcp")) is None  # in a set: not unknown


def test_policy_test_gates_a_pipeline(tmp_path):
    summary = tmp_path / "s.json"
    code, _, err = run("policy", "test", str(TRIAL / "policy.yaml"), "--replay", *RECORDINGS,
                       "--fail-on", "block", "--summary-json", str(summary))
    assert code == 3 and "finding(s) of block (--fail-on)" in err
    written = json.loads(summary.read_text())
    assert written["exit_status"] == 3 and written["rules"]["position-elsewhere:block"] == 1
    assert written["findings"] == {**written["findings"], "allow/identity": 1, "alert/identity": 1}
    code, _, err = run("policy", "test", str(TRIAL / "policy.yaml"), "--replay", *RECORDINGS, "--fail-on", "identity")
    assert code == 3 and "1 finding(s) of identity" in err  # the allowed one does not count
