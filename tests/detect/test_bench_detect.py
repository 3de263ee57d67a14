"""``make score`` (``python -m lab.score``) on two generated drives and the shared corpus, asserting the targets
of issue 15: recall 1.0 per generated episode type with no alert on a benign destination, every
corpus vector found, at most one explained finding per benign capture-hour, F1 >= 0.99 on ROAD's
fabrication and fuzzing captures, and (the issue asks for the best reachable) a floor under the
payload models' AUROC on ROAD's masquerade captures."""

from __future__ import annotations

import json

from ..builders import lab
from ..conftest import CORPUS, corpus

MASQUERADE_AUROC_FLOOR = 0.95  # measured 0.97-1.00 for the payload models


def test_lab_score_meets_its_targets_on_two_seeds(capsys):
    corpus("can-ids", "road-processed")  # the corpus parts are part of what this asserts
    rc, out, err = lab("score", "--seeds", "2", "--json", "--corpus", str(CORPUS))
    assert out, err
    report = json.loads(out)
    each = report["targets"]["each"]
    with capsys.disabled():
        print("\nmake score targets (2 seeds):")
        for name, target in each.items():
            print(f"  {'met    ' if target['met'] else 'NOT MET'} {name} ({target['value']})")
    assert report["skipped"] == {}
    assert report["drives"]["seeds"] == [1, 2] and len(report["drives"]["recall"]) >= 25
    assert sum(name.startswith("ROAD") for name in each) == 5  # the five fabrication and fuzzing captures
    assert {name: t for name, t in each.items() if not t["met"]} == {}
    assert rc == 0
    for row in report["road"]:
        if row["attack"] == "Masquerade":
            assert row["payload"]["auroc"] >= MASQUERADE_AUROC_FLOOR, row["capture"]


def test_a_generated_drive_is_the_same_for_the_same_seed(tmp_path):
    from lab.generate import generate

    first = generate(7, tmp_path / "a")
    second = generate(7, tmp_path / "b")
    assert first == second
    for name in ("can.log", "capture.pcap", "vehicle.dbc", "config.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = generate(8, tmp_path / "c")
    network = lambda episodes: {e.address for e in episodes if e.end is None}  # the CAN episode is on can0
    assert network(other).isdisjoint(network(first))
