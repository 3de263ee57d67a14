"""The CAN rules at their operating point on the labelled ROAD captures (``python -m lab.road``):
every threshold learned from the benign part before the attack, none from the labels.

Masquerade (the genuine sender's frames replaced at its own rate) is found by the payload
detector's corroborating rules: a changed sending clock (coolant temperature), a state byte
that contradicts the gear in other ids (reverse lamp), numeric fields off their partners' line
(wheel speeds). Scored per 0.5 s window and id (every false window counts) and frame by frame.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab import road

from ..conftest import corpus, corpus_files, ids

CAPTURES = corpus_files("can-ids/road-processed/*.csv.gz")


@pytest.mark.parametrize("path", CAPTURES, ids=ids(CAPTURES))
def test_every_road_attack_is_found_at_the_operating_point(path):
    result = road.evaluate(path)
    cells = result["all"]
    if result["attack"] == "Masquerade":
        assert cells["f1"] >= 0.9, cells
        assert result["payload_frames"]["f1"] >= 0.9, result["payload_frames"]
    else:
        assert cells["f1"] >= 0.95, cells


def test_the_benign_part_stays_silent_when_learned_for_half_of_it():
    """Learned on the first half of the benign traffic before the attack, the payload detector
    flags almost nothing of the second half (a few frames at most, of the rules that existed)."""
    batch, attack, _ = road.read_road(corpus("can-ids", "road-processed", "reverse_light_off_attack_1_masquerade.csv.gz"))
    end = road.benign_prefix_s(batch, attack)
    benign = batch.take(np.flatnonzero(batch.timestamp < end))
    rules, payload = road._run(benign, end / 2, 8192)
    flagged = sum(int(marks.sum()) for *_, marks in payload.frame_scores)
    judged = sum(len(ts) for ts, *_ in payload.frame_scores)
    assert judged > 10_000 and flagged == 0, payload.stats()
    assert not rules.flagged_cells


def test_the_figures_do_not_depend_on_how_the_frames_are_batched():
    """Live batches are small (a quarter of a second at most): what the rules carry from one batch
    to the next (clock flags, runs of contradictions, partners' latest values) keeps the result."""
    path = corpus("can-ids", "road-processed", "reverse_light_off_attack_1_masquerade.csv.gz")
    small, large = road.evaluate(path, batch_size=97), road.evaluate(path)
    assert small["all"] == large["all"] and small["all"]["f1"] >= 0.9
