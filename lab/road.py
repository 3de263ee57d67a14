"""Precision, recall, F1 and AUROC of the CAN rules on the labelled ROAD captures.

ROAD (Verma et al., PLoS ONE 2024) attack captures in the CSV conversion of the shared corpus:
``Time,Id,Byte1..Byte8,Label``. No DBC exists for the ROAD vehicle, so every rule learns from the
benign traffic at the start of each capture: by default all of it before the first attack frame
(floored to a window), else ``learn_s`` seconds. What is learned (rates, ids, payload models)
and every threshold is fixed there, from benign frames only; the labels decide nothing but where
learning stops. The rules then judge 0.5 s windows per id: a (window, id) cell is an attack cell
when it holds at least one attack frame.

Per rule: the cells it flags against the attack cells (precision, recall, F1), and the AUROC of
its score over every judged cell (timing: frames / learned limit; unknown id: 0 or 1; payload:
the largest frame score in the cell). ``either`` is the union of the timing and unknown-id rules;
``all`` adds the payload models: every CAN rule as it runs once ``can.learn_s`` is set.

Cells are honest both ways: an attack cell the rules miss lowers recall (the attack interval's
coverage, id by id), and every flagged cell with no attack frame, on any id, lowers precision
(a false window). The payload detector is also scored frame by frame (``frames``: its flagged
frames against the attack frames), where a masquerade's every frame counts.

The payload detector (``can_payload``) holds the rules a masquerade meets: each id's own model
(values, steps, a crowded window), a changed sending clock confirming a payload break
(``canclock.py``), a state byte contradicting the ids that carry the same state
(``canstates.py``) and numeric fields off the line of their partners (``canfields.py``), all
learned from the benign part with their default thresholds; nothing here is tuned per capture.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from monitor.canbus.decode import decode_batch
from monitor.canbus.frames import MAX_DATA, FrameBatch
from monitor.canbus.plan import compile_plan
from monitor.config.model import Thresholds
from monitor.detect import threshold_sections
from monitor.detect.canpayload import PayloadModels
from monitor.detect.canside import CanRules, CanThresholds, frame_keys
from monitor.detect.canview import CanView
from monitor.errors import MonitorError
from monitor.state import VehicleState

from . import DEFAULT_CORPUS

RULES = ("timing", "unknown_id", "payload", "either", "all")
WINDOW_S = 0.5


class CellRecorder(CanRules):
    """The production CAN rules, keeping every (rule, bus, window, id) cell they flag."""

    def configure(self, thresholds) -> None:
        super().configure(thresholds)
        self.flagged_cells: list[tuple[str, str, int, int]] = []

    def flagged(self, rule: str, bus: str, windows: np.ndarray, keys: np.ndarray) -> None:
        self.flagged_cells += [(rule, bus, w, k) for w, k in set(zip(windows.tolist(), keys.tolist()))]


class ScoreRecorder(PayloadModels):
    """The production payload models, keeping every judged frame's score."""

    def configure(self, thresholds) -> None:
        super().configure(thresholds)
        self.frame_scores: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def scored(self, bus: str, ts: np.ndarray, keys: np.ndarray, scores: np.ndarray, flagged: np.ndarray) -> None:
        self.frame_scores.append((ts, keys, scores, flagged))


def read_road(path: Path) -> tuple[FrameBatch, np.ndarray, list[str]]:
    """Frames (times from 0), attack flags, and the label names per frame."""
    with gzip.open(path, "rt") as handle:
        header = handle.readline().strip().split(",")
        rows = [line.rstrip("\n").split(",") for line in handle if line.strip()]
    if header[:2] != ["Time", "Id"] or header[-1] != "Label":
        raise ValueError(f"{path}:1: not a ROAD CSV header: {header}")
    n = len(rows)
    batch = FrameBatch.empty(n, ("road",))
    times = np.array([float(r[0]) for r in rows])
    data = np.zeros((n, MAX_DATA), np.uint8)
    data[:, :8] = np.array([[int(x, 16) for x in r[2:10]] for r in rows], dtype=np.uint8)
    batch = replace(batch, timestamp=times - times[0], arbitration_id=np.array([int(r[1], 16) for r in rows], np.uint32),
                    dlc=np.full(n, 8, np.uint8), data=data)
    labels = [r[-1] for r in rows]
    return batch, np.array([label != "Benign" for label in labels]), labels


def benign_prefix_s(batch: FrameBatch, attack: np.ndarray) -> float:
    """The benign time before the first attack frame, floored to a whole window."""
    first = float(batch.timestamp[attack][0]) if attack.any() else float(batch.timestamp[-1])
    return float(np.floor(first / WINDOW_S) * WINDOW_S)


def evaluate(path: Path, learn_s: float | None = None, batch_size: int = 8192) -> dict:
    batch, attack, labels = read_road(path)
    learn_s = benign_prefix_s(batch, attack) if learn_s is None else learn_s
    rules, payload = _run(batch, learn_s, batch_size)
    windows = (batch.timestamp // WINDOW_S).astype(np.int64)
    keys = frame_keys(batch, np.arange(len(batch)))
    judged = batch.timestamp >= learn_s
    truth = set(zip(windows[attack & judged].tolist(), keys[attack & judged].tolist()))
    cells = sorted(set(zip(windows[judged].tolist(), keys[judged].tolist())))
    scores = _scores(rules, payload, batch, windows, keys, judged)
    flagged = {rule: {(w, k) for r, _, w, k in rules.flagged_cells if r == rule} for rule in ("timing", "unknown_id")}
    flagged["payload"] = {(int(t // WINDOW_S), int(k)) for ts, ks, _, marks in payload.frame_scores
                          for t, k in zip(ts[marks].tolist(), ks[marks].tolist())}
    flagged["either"] = flagged["timing"] | flagged["unknown_id"]
    flagged["all"] = flagged["either"] | flagged["payload"]
    frames = _frame_metrics(payload, batch, attack, judged)
    kind = next((label for label in labels if label != "Benign"), "none")
    out: dict = {"capture": path.name.replace(".csv.gz", ""), "attack": kind, "frames": len(batch), "learn_s": learn_s,
           "attack_frames": int(attack.sum()), "attack_cells": len(truth), "judged_cells": len(cells)}
    is_attack = np.array([cell in truth for cell in cells])
    for rule in RULES:
        metrics: dict = _metrics(flagged[rule], truth)
        out[rule] = metrics
        if rule in scores:
            metrics["auroc"] = auroc(np.array([scores[rule].get(c, 0.0) for c in cells]), is_attack)
    out["payload_frames"] = frames
    return out


def _frame_metrics(payload: ScoreRecorder, batch: FrameBatch, attack: np.ndarray, judged: np.ndarray) -> dict:
    """The payload detector's flagged frames against the judged attack frames (a frame is found by
    its time and id: the recorder sees the frames in order, with their ids)."""
    flagged = {(t, k) for ts, ks, _, marks in payload.frame_scores for t, k in zip(ts[marks].tolist(), ks[marks].tolist())}
    keys = frame_keys(batch, np.arange(len(batch)))
    truth = set(zip(batch.timestamp[attack & judged].tolist(), keys[attack & judged].tolist()))
    return _metrics(flagged, truth)


def _run(batch: FrameBatch, learn_s: float, batch_size: int) -> tuple[CellRecorder, ScoreRecorder]:
    thresholds = Thresholds.defaults(threshold_sections()).with_sections(can=CanThresholds(learn_s=learn_s, window_s=WINDOW_S))
    rules, payload = CellRecorder(), ScoreRecorder()
    rules.configure(thresholds)
    payload.configure(thresholds)
    plan, state = compile_plan([]), VehicleState()
    for start in range(0, len(batch), batch_size):
        part = batch.take(np.arange(start, min(start + batch_size, len(batch))))
        view = CanView(part, decode_batch(plan, part), plan)
        rules.on_can(view, state)
        payload.on_can(view, state)
    rules.finish(state)
    return rules, payload


def _scores(rules: CellRecorder, payload: ScoreRecorder, batch, windows, keys, judged) -> dict[str, dict]:
    """Each rule's score per judged cell, from what the rules learned (never from the labels)."""
    bus = rules.buses["road"]
    counts: dict = defaultdict(int)
    for cell in zip(windows[judged].tolist(), keys[judged].tolist()):
        counts[cell] += 1
    timing = {c: n / rules.learned_limit(bus, c[1]) if bus.learned_frames[c[1]] >= rules.t.min_learning_frames else 0.0
              for c, n in counts.items()}
    unknown = {c: 0.0 if c[1] in bus.learned_ids else 1.0 for c in counts}
    frame_score: dict = defaultdict(float)
    for ts, ks, ss, _ in payload.frame_scores:
        for cell, s in zip(zip((ts // WINDOW_S).astype(np.int64).tolist(), ks.tolist()), ss.tolist()):
            frame_score[cell] = max(frame_score[cell], s)
    return {"timing": timing, "unknown_id": unknown, "payload": dict(frame_score)}


def _metrics(flagged: set, truth: set) -> dict:
    hit = len(flagged & truth)
    precision = hit / len(flagged) if flagged else None
    recall = hit / len(truth) if truth else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if truth else None)
    return {"flagged": len(flagged), "precision": precision, "recall": recall, "f1": f1}


def auroc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half)."""
    pos, neg = int(positive.sum()), int((~positive).sum())
    if not pos or not neg:
        return None
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return float((ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


def format_table(results: list[dict]) -> str:
    lines = [("ROAD attack captures: rules learn the benign part before the attack, judge 0.5 s windows per id "
             "(P/R/F1 of flagged cells; AUROC of each rule's score)"),
             f"{'capture':<44}{'attack':<12}{'learn':>6}" + "".join(f"{r + ' P/R/F1':>21}" for r in RULES)
             + "".join(f"{r[:7] + ' AUROC':>14}" for r in RULES[:3]) + f"{'payload frames P/R/F1':>23}"]
    for r in results:
        cols = "".join(f"{_prf(r[rule]):>21}" for rule in RULES) + "".join(f"{_num(r[rule].get('auroc')):>14}" for rule in RULES[:3])
        lines.append(f"{r['capture']:<44}{r['attack']:<12}{r['learn_s']:>6.1f}{cols}{_prf(r['payload_frames']):>23}")
    return "\n".join(lines)


def _prf(m: dict) -> str:
    return f"{_num(m['precision'])}/{_num(m['recall'])}/{_num(m['f1'])}"


def _num(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.road", description=__doc__.split("\n", 1)[0])
    parser.add_argument("captures", nargs="*", type=Path, help="ROAD CSV(.gz) files (default: the corpus' can-ids captures)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"corpus folder with can-ids/ (default {DEFAULT_CORPUS})")
    parser.add_argument("--learn", type=float, default=None,
                        help="seconds of benign traffic to learn from (default: all of it before the first attack)")
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    args = parser.parse_args(argv)
    folder = args.corpus / "can-ids" / "road-processed"
    captures = args.captures or sorted(folder.glob("*.csv.gz"))
    if not captures:
        parser.error(f"no ROAD captures under {folder}: give CAPTURES or --corpus")
    try:
        results = [evaluate(path, learn_s=args.learn) for path in captures]
    except (MonitorError, OSError) as error:  # a missing or damaged capture: one line, as the gatewatch commands say it
        print(f"python -m lab.road: {error}", file=sys.stderr)
        return 2
    print(json.dumps(results) if args.json else format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
