"""The cantools reference oracle and frame factories: random frames of a plan's messages, payloads
cantools itself encoded, and cantools' decode of a batch to compare gatewatch's against."""

from __future__ import annotations

import math

import numpy as np

from ..canbus.decode import DecodedBatch
from ..canbus.frames import FrameBatch
from ..canbus.plan import DecodePlan


def random_frames(plan: DecodePlan, per_message: int, seed: int = 0, short_every: int = 10) -> FrameBatch:
    """``per_message`` frames of every message with random payloads; every ``short_every``-th
    frame gets a random (possibly shorter) length and CAN FD frames sometimes carry excess."""
    rng = np.random.default_rng(seed)
    n = per_message * len(plan.messages)
    batch = FrameBatch.empty(n, ("can0",))
    lengths = np.array([m.length for m in plan.messages]).repeat(per_message)
    batch.arbitration_id[:] = np.array([m.frame_id for m in plan.messages]).repeat(per_message)
    batch.is_extended[:] = np.array([m.is_extended for m in plan.messages]).repeat(per_message)
    odd = np.arange(n) % short_every == 0
    lengths = np.where(odd, rng.integers(0, np.minimum(lengths + 2, 64) + 1), lengths)
    batch.dlc[:] = np.minimum(lengths, 64)
    batch.is_fd[:] = batch.dlc > 8
    batch.data[:] = rng.integers(0, 256, (n, 64), dtype=np.uint8)
    batch.data[np.arange(64)[None, :] >= batch.dlc[:, None]] = 0
    batch.timestamp[:] = np.arange(n) * 1e-3
    order = rng.permutation(n)  # interleave messages as on a real bus
    return batch.take(order)


def encoded_payloads(message, rng: np.random.Generator, count: int) -> list[bytes]:
    """Payloads cantools itself encodes from random raw values on a random multiplexer branch,
    so they decode without error (random bytes rarely hit a valid multiplexer id)."""
    out = []
    for _ in range(count):
        raw = _random_raw_values(message._codecs, rng)
        try:
            out.append(message.encode(raw, scaling=False, padding=False, strict=False))
        except Exception:  # noqa: BLE001 - e.g. overlapping signals: cantools cannot encode
            out.append(bytes(message.length))
    return out


def valid_frames(db, plan: DecodePlan, per_message: int, seed: int = 0) -> FrameBatch:
    """``per_message`` frames of every message with cantools-encoded payloads."""
    rng = np.random.default_rng(seed)
    batch = FrameBatch.empty(per_message * len(plan.messages), ("can0",))
    row = 0
    for plan_message in plan.messages:
        message = db.get_message_by_frame_id(plan_message.key)
        for payload in encoded_payloads(message, rng, per_message):
            batch.arbitration_id[row] = plan_message.frame_id
            batch.is_extended[row] = plan_message.is_extended
            batch.dlc[row] = len(payload)
            batch.is_fd[row] = len(payload) > 8
            batch.data[row, : len(payload)] = np.frombuffer(payload, np.uint8)
            row += 1
    return batch


def _random_raw_values(node, rng) -> dict:
    values = {}
    for signal in node["signals"]:
        if signal.conversion.is_float:
            values[signal.name] = float(rng.normal())
        elif signal.is_signed:
            values[signal.name] = int(rng.integers(-(1 << (signal.length - 1)), 1 << (signal.length - 1)))
        else:
            values[signal.name] = int(rng.integers(0, 1 << signal.length, dtype=np.uint64))
    for name, children in node["multiplexers"].items():
        mux_id = int(rng.choice(sorted(children)))
        values[name] = mux_id
        values.update(_random_raw_values(children[mux_id], rng))
    return values


def cantools_results(db, batch: FrameBatch) -> list:
    """What cantools' decode_message(decode_choices=False) gives per data frame: a dict, or
    ("error", message) where it raises; None for frames with no DBC entry."""
    out = []
    for i in range(len(batch)):
        try:
            out.append(db.decode_message(int(batch.arbitration_id[i]), batch.payload(i), decode_choices=False,
                                         force_extended_id=bool(batch.is_extended[i])))
        except KeyError:
            out.append(None)
        except Exception as error:  # noqa: BLE001 - the oracle's exception text is the expectation
            out.append(("error", str(error)))
    return out


def gatewatch_results(decoded: DecodedBatch) -> list:
    """The same shape as cantools_results, from a DecodedBatch, with Python scalars."""
    out: list = [None] * len(decoded.batch)
    for columns in decoded.messages:
        lists = {name: columns.values[name].tolist() for name in columns.values}
        present = {name: None if m is None else m.tolist() for name, m in columns.present.items()}
        for i, row in enumerate(columns.rows.tolist()):
            reason = columns.reason(i)
            if reason is not None:
                out[row] = ("error", reason)
            else:
                out[row] = {name: lists[name][i] for name in lists if _present(present[name], i)}
    return out


def differences(expected: list, got: list, limit: int = 5) -> list[str]:
    """Frames where the two disagree in keys, value, or int-versus-float type (NaN equals NaN)."""
    problems = []
    for i, (want, have) in enumerate(zip(expected, got)):
        if not _same(want, have):
            problems.append(f"frame {i}: cantools {want!r} gatewatch {have!r}")
            if len(problems) >= limit:
                break
    return problems


def _same(want, have) -> bool:
    if not isinstance(want, dict) or not isinstance(have, dict):
        return want == have
    if list(want) != list(have) and set(want) != set(have):
        return False
    for key, value in want.items():
        other = have[key]
        if type(value) is not type(other):
            return False
        if value != other and not (isinstance(value, float) and math.isnan(value) and math.isnan(other)):
            return False
    return True


def _present(mask: list | None, i: int) -> bool:
    """A signal without a presence mask is in every frame; otherwise the mask says."""
    return mask is None or bool(mask[i])
