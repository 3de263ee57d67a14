"""Precision and recall of the CAN timing and unknown-id rules on the labelled ROAD captures.

ROAD (Verma et al., PLoS ONE 2024) attack captures in the CSV conversion of the shared corpus:
``Time,Id,Byte1..Byte8,Label``. No DBC exists for the ROAD vehicle, so both rules learn from
the first ``learn_s`` seconds of each capture (benign in all eight) and judge 0.5 s windows.
A (window, id) cell is an attack cell when it holds at least one attack frame; a rule's
flagged cells are compared with them.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..canbus.decode import decode_batch
from ..canbus.frames import MAX_DATA, FrameBatch
from ..canbus.plan import compile_plan
from ..config.model import Thresholds
from ..detect import threshold_sections
from ..detect.canside import CanRules, CanThresholds, frame_keys
from ..detect.canview import CanView
from ..state import VehicleState

RULES = ("timing", "unknown_id", "either")


class CellRecorder(CanRules):
    """The production CAN rules, keeping every (rule, bus, window, id) cell they flag."""

    def configure(self, thresholds) -> None:
        super().configure(thresholds)
        self.flagged_cells: list[tuple[str, str, int, int]] = []

    def flagged(self, rule: str, bus: str, windows: np.ndarray, keys: np.ndarray) -> None:
        self.flagged_cells += [(rule, bus, w, k) for w, k in set(zip(windows.tolist(), keys.tolist()))]


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


def evaluate(path: Path, learn_s: float = 4.0, window_s: float = 0.5, batch_size: int = 8192) -> dict:
    batch, attack, labels = read_road(path)
    thresholds = Thresholds.defaults(threshold_sections()).with_sections(can=CanThresholds(learn_s=learn_s, window_s=window_s))
    rules = CellRecorder()
    rules.configure(thresholds)
    plan = compile_plan([])
    state = VehicleState()
    for start in range(0, len(batch), batch_size):
        part = batch.take(np.arange(start, min(start + batch_size, len(batch))))
        rules.on_can(CanView(part, decode_batch(plan, part), plan), state)
    rules.finish(state)
    windows = (batch.timestamp // window_s).astype(np.int64)
    keys = frame_keys(batch, np.arange(len(batch)))
    truth = set(zip(windows[attack].tolist(), keys[attack].tolist()))
    cells = {rule: {(w, k) for r, _, w, k in rules.flagged_cells if r == rule} for rule in RULES[:2]}
    cells["either"] = cells["timing"] | cells["unknown_id"]
    frame_cells = list(zip(windows.tolist(), keys.tolist()))
    kind = next((label for label in labels if label != "Benign"), "none")
    out = {"capture": path.name.replace(".csv.gz", ""), "attack": kind, "frames": len(batch),
           "attack_frames": int(attack.sum()), "attack_cells": len(truth)}
    for rule, flagged in cells.items():
        hit = len(flagged & truth)
        caught = sum(1 for i in np.flatnonzero(attack).tolist() if frame_cells[i] in flagged)
        out[rule] = {"flagged": len(flagged), "precision": hit / len(flagged) if flagged else None,
                     "recall": hit / len(truth) if truth else None,
                     "frame_recall": caught / int(attack.sum()) if attack.any() else None}
    return out


def format_table(results: list[dict]) -> str:
    lines = ["ROAD attack captures: rules learn the first 4 s, judge 0.5 s windows per id",
             f"{'capture':<46}{'attack':<12}" + "".join(f"{r + ' P/R':>18}" for r in RULES) + f"{'frame recall':>14}"]
    for r in results:
        cols = "".join(f"{_pr(r[rule]):>18}" for rule in RULES)
        lines.append(f"{r['capture']:<46}{r['attack']:<12}{cols}{_num(r['either']['frame_recall']):>14}")
    return "\n".join(lines)


def _pr(m: dict) -> str:
    return f"{_num(m['precision'])}/{_num(m['recall'])}"


def _num(x) -> str:
    return "-" if x is None else f"{x:.2f}"
