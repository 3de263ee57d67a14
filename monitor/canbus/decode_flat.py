"""A DecodePlan flattened into the integer tables the compiled decoder walks (gw_can_decode.h).

Each message becomes rows of node, signal, multiplexer and child tables; each distinct signal
name one value column (and one raw column if it has choices). A message the C decoder cannot
reproduce bit for bit is marked non-native and decoded by the numpy reference instead: Python
int arithmetic past int64 (object columns), a signal name in two places other than sibling
multiplexer branches, a multiplexer id past int64, a multiplexer tree deeper than 32, a NaN scale or offset.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np

from .plan import DecodePlan, MessagePlan, NodePlan, SignalPlan

# Column numbers of the C tables (gw_can_decode.h); the module checks the widths.
MSG_COLS, NODE_COLS, SIG_COLS, MUX_COLS, CHILD_COLS = 5, 5, 11, 3, 2
KIND = {"u": 0, "s": 1, "f": 2}
IDENTITY, INT, FLOAT, INT_PRODUCT = 0, 1, 2, 3
MAX_DEPTH = 32
_INT64 = (-(1 << 63), (1 << 63) - 1)


class NotNative(Exception):
    """This message is decoded by the numpy reference."""


@dataclass
class MessageLayout:
    """How a native message's output columns map back to names, in the reference's order."""

    names: list[str] = field(default_factory=list)  # value column -> signal name
    dtypes: list[np.dtype] = field(default_factory=list)
    raw_names: list[str] = field(default_factory=list)  # raw columns the C writes
    root: int = 0
    root_cols: int = 0  # the root node's signals own columns 0..root_cols-1
    # per node (flat index): its unpack_ok, its signals as (flat index, column, raw source),
    # its muxes as (children nodes in the plan's order); walked to order the dicts. A raw
    # source is None (no choices), ("value", dtype): the value column itself (identity
    # signals, whose raw value is their value, as in the reference), or ("raw", column, dtype).
    tree: dict[int, tuple] = field(default_factory=dict)
    mux_keys: dict[int, tuple[int, ...]] = field(default_factory=dict)  # mux row -> sorted ids


@dataclass
class FlatPlan:
    tables: dict[str, np.ndarray]
    layouts: list[MessageLayout | None]  # None: a numpy-decoded message


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[list[int]] = []
        self.signals: list[list[int]] = []
        self.scales: list[tuple[float, float]] = []
        self.muxes: list[list[int]] = []
        self.children: list[list[int]] = []

    def mark(self) -> tuple[int, ...]:
        return len(self.nodes), len(self.signals), len(self.muxes), len(self.children)

    def rollback(self, mark: tuple[int, ...]) -> None:
        for table, size in zip((self.nodes, self.signals, self.muxes, self.children), mark, strict=True):
            del table[size:]
        del self.scales[mark[1]:]


def flatten(plan: DecodePlan) -> FlatPlan:
    """The plan's tables, computed once per plan object and kept beside it."""
    key = id(plan)
    cached = _CACHE.get(key)
    if cached is not None and cached[0]() is plan:
        return cached[1]
    flat = _flatten(plan)
    _CACHE[key] = (weakref.ref(plan, _forget(key)), flat)
    return flat


def _forget(key: int):
    """The callback that drops a plan's tables when the plan is collected."""

    def forget(_ref: weakref.ref) -> None:
        _CACHE.pop(key, None)

    return forget


_CACHE: dict[int, tuple[weakref.ref, FlatPlan]] = {}


def _flatten(plan: DecodePlan) -> FlatPlan:
    builder = _Builder()
    messages, layouts = [], []
    for message in plan.messages:
        mark = builder.mark()
        try:
            layout = _flatten_message(builder, message)
        except NotNative:
            builder.rollback(mark)
            layout = None
        layouts.append(layout)
        if layout is None:
            messages.append([0, message.length, 0, 0, 0])
        else:
            messages.append([layout.root, message.length, 1, len(layout.names), len(layout.raw_names)])
    tables = {
        "messages": _table(messages, MSG_COLS),
        "nodes": _table(builder.nodes, NODE_COLS),
        "signals": _table(builder.signals, SIG_COLS),
        "scales": np.array(builder.scales, np.float64).reshape(-1, 2),
        "muxes": _table(builder.muxes, MUX_COLS),
        "children": _table(builder.children, CHILD_COLS),
        "standard_index": np.ascontiguousarray(plan.standard_index, np.int32),
        "keys": np.ascontiguousarray(plan.keys, np.uint64),
        "pgn_keys": np.ascontiguousarray(plan.pgn_keys, np.uint32),
        "pgn_index": np.ascontiguousarray(plan.pgn_index, np.int64),
    }
    return FlatPlan(tables=tables, layouts=layouts)


def _table(rows: list[list[int]], width: int) -> np.ndarray:
    return np.array(rows, np.int64).reshape(-1, width)


def _flatten_message(builder: _Builder, message: MessagePlan) -> MessageLayout:
    layout = MessageLayout()
    columns: dict[str, tuple[int, int, SignalPlan, tuple]] = {}  # name -> (col, rawcol, plan, place)
    layout.root = _flatten_node(builder, message.root, layout, columns, place=("root",), depth=0)
    layout.root_cols = len(message.root.signals) if message.root.unpack_ok else 0
    return layout


def _flatten_node(builder: _Builder, node: NodePlan, layout: MessageLayout, columns: dict, place: tuple,
                  depth: int) -> int:
    if depth > MAX_DEPTH:
        raise NotNative("multiplexer tree too deep")
    index = len(builder.nodes)
    row = [int(node.unpack_ok), len(builder.signals), len(node.signals), 0, len(node.muxes)]
    builder.nodes.append(row)
    names = [s.name for s in node.signals]
    entries = []
    for sig in node.signals:
        col, raw_source = _column(sig, layout, columns, place)
        entries.append((len(builder.signals), col, raw_source))
        rawcol = raw_source[1] if raw_source and raw_source[0] == "raw" else -1
        builder.signals.append(_signal_row(sig, col, rawcol))
        builder.scales.append(_float_factors(sig))
    # The mux rows of this node are contiguous: reserve them before the children add theirs.
    row[3] = len(builder.muxes)
    mux_rows = []
    for mux_name, _children in node.muxes:
        if names.count(mux_name) != 1:
            raise NotNative("multiplexer signal outside its node")
        mux_rows.append([row[1] + names.index(mux_name), 0, 0])
        builder.muxes.append(mux_rows[-1])
    tree_muxes = []
    for x, (mux_name, children) in enumerate(node.muxes):
        ids = sorted(children)
        if any(not _INT64[0] <= i <= _INT64[1] for i in ids):
            raise NotNative("multiplexer id past int64")
        child_nodes = {}
        for mux_id, child in children.items():  # the plan's order: the reference visits it so
            child_nodes[mux_id] = _flatten_node(builder, child, layout, columns, (index, x), depth + 1)
        mux_rows[x][1], mux_rows[x][2] = len(builder.children), len(ids)
        builder.children.extend([i, child_nodes[i]] for i in ids)
        layout.mux_keys[row[3] + x] = tuple(ids)
        tree_muxes.append(tuple(child_nodes.values()))
    layout.tree[index] = (node.unpack_ok, entries, tree_muxes)
    return index


def _column(sig: SignalPlan, layout: MessageLayout, columns: dict, place: tuple) -> tuple[int, tuple | None]:
    """The value column and raw source of a signal name. A name met again must be the same
    signal in a sibling branch of the same multiplexer, where at most one branch decodes any
    frame."""
    if sig.name in columns:
        col, raw_source, first, first_place = columns[sig.name]
        if first != sig or first_place != place or place == ("root",):
            raise NotNative(f"signal {sig.name} in two places")
        return col, raw_source
    col = len(layout.names)
    layout.names.append(sig.name)
    layout.dtypes.append(value_dtype(sig))
    raw_source = None
    if sig.choices:
        raw_dtype = np.dtype({"u": np.uint64, "s": np.int64, "f": np.float64}[sig.kind])
        if _mode(sig) == IDENTITY:
            raw_source = ("value", raw_dtype)
        else:
            raw_source = ("raw", len(layout.raw_names), raw_dtype)
            layout.raw_names.append(sig.name)
    columns[sig.name] = (col, raw_source, sig, place)
    return col, raw_source


def value_dtype(sig: SignalPlan) -> np.dtype:
    """The dtype decode._scale gives this signal's values."""
    mode = _mode(sig)
    if mode == IDENTITY:
        if sig.kind == "f":
            return np.dtype(np.float64)
        return np.dtype(np.uint64 if sig.kind == "u" and sig.length == 64 else np.int64)
    return np.dtype(np.int64 if mode == INT else np.float64)


def _mode(sig: SignalPlan) -> int:
    if sig.value == "identity":
        return IDENTITY
    if sig.value == "int":
        if sig.kind == "f" or not sig.exact_in_int64 or not _int64s(sig.scale, sig.offset):
            raise NotNative("int conversion outside int64")
        return INT
    if sig.kind == "f" or not sig.int_product:
        return FLOAT
    if not sig.exact_in_int64 or not _int64s(sig.scale):
        raise NotNative("int product outside int64")
    return INT_PRODUCT


def _int64s(*numbers) -> bool:
    return all(type(v) is int and _INT64[0] <= v <= _INT64[1] for v in numbers)


def _float_factors(sig: SignalPlan) -> tuple[float, float]:
    """scale and offset as the doubles numpy turns them into (unused by identity and int)."""
    if _mode(sig) not in (FLOAT, INT_PRODUCT):
        return 0.0, 0.0
    try:
        values = (float(sig.scale), float(sig.offset))
    except (OverflowError, TypeError, ValueError) as error:
        raise NotNative("scale or offset is no double") from error
    if type(sig.scale) not in (int, float) or type(sig.offset) not in (int, float):
        raise NotNative("scale or offset of another number type")
    if any(math.isnan(v) for v in values):  # a NaN factor meets NaN values: which NaN wins is numpy's loop order
        raise NotNative("NaN scale or offset")
    return values


def _signal_row(sig: SignalPlan, col: int, rawcol: int) -> list[int]:
    if not 1 <= sig.length <= 64 or (sig.kind == "f" and sig.length not in (16, 32, 64)):
        raise NotNative("signal length the reference rejects")
    if not 0 <= sig.window <= 1 << 20 or not 0 <= sig.shift <= 63:
        raise NotNative("signal position out of range")
    mode = _mode(sig)
    scale_i = int(sig.scale) if mode in (INT, INT_PRODUCT) else 0  # ints already (_mode checked)
    offset_i = int(sig.offset) if mode == INT else 0
    return [sig.length, KIND[sig.kind], int(sig.little_endian), sig.window, sig.shift, int(sig.spill), mode,
            col, rawcol, scale_i, offset_i]
