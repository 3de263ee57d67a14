"""decode_batch on the compiled core: one C pass groups and decodes the batch (gw_can_decode),
then the per-message columns are views of its output buffers, named and ordered here exactly as
the numpy reference (decode.py) makes them. Messages the C cannot reproduce bit for bit
(decode_flat.NotNative) are decoded by the numpy reference with the rows the C grouped."""

from __future__ import annotations

import numpy as np

from .decode_flat import MessageLayout, flatten
from .decoded import DecodedBatch, MessageColumns
from .frames import MAX_DATA, FrameBatch
from .plan import DecodePlan

E_MUX = 3


def native_decodable(batch: FrameBatch) -> bool:
    """The C reads (N, 64) payloads; a batch of another width goes to the reference."""
    return batch.data.ndim == 2 and batch.data.shape[1] == MAX_DATA


def decode_batch_native(core, plan: DecodePlan, batch: FrameBatch, decode_message) -> DecodedBatch:
    """``decode_message`` is the numpy decode of one message (decode.py's), for the messages the
    C cannot reproduce exactly; handed in, so this module does not import the one that calls it."""
    flat = flatten(plan)
    out = core.can_decode_batch(
        flat.tables,
        np.ascontiguousarray(batch.arbitration_id, np.uint32),
        _flags(batch.is_extended), _flags(batch.is_remote), _flags(batch.is_error),
        np.ascontiguousarray(batch.dlc, np.uint8),
        np.ascontiguousarray(batch.data, np.uint8),
    )
    count = out["count"]
    messages = []
    for m in np.flatnonzero(count[:-1]).tolist():
        rows = out["rows"][m][: count[m]]
        layout = flat.layouts[m]
        if layout is None:
            messages.append(decode_message(plan.messages[m], batch, rows))
        else:
            messages.append(_columns(plan.messages[m], layout, out, m, rows))
    unknown = out["rows"][-1][: count[-1]]
    return DecodedBatch(batch=batch, messages=messages, unknown=unknown)


def _flags(column: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(column, np.bool_).view(np.uint8)


def _columns(message, layout: MessageLayout, out: dict, m: int, rows: np.ndarray) -> MessageColumns:
    n = len(rows)
    cols = MessageColumns(message=message, rows=rows, error=out["error"][m], error_arg=out["error_arg"][m])
    values, present, raw = out["values"][m], out["present"][m].view(bool), out["raw"][m]
    in_error = int(out["error_count"][m]) > 0
    signal_count, node_count = out["signal_count"], out["node_count"]

    root_present = None

    def presence(col: int, s: int) -> np.ndarray | None:
        nonlocal root_present
        if col >= layout.root_cols:  # a branch's column: the C wrote its mask
            return None if signal_count[s] == n and not in_error else present[col]
        if not in_error:
            return None
        if root_present is None:
            root_present = cols.error == 0
            return root_present
        return root_present.copy()  # one array per signal, as the reference makes them

    def visit(node: int, is_root: bool) -> None:
        unpack_ok, entries, muxes = layout.tree[node]
        if not unpack_ok or not (is_root or node_count[node] > 0):
            return
        for s, col, raw_source in entries:
            name = layout.names[col]
            if name not in cols.values:  # the first decoding branch places the name, as in _store
                cols.values[name] = values[col].view(layout.dtypes[col])
                cols.present[name] = presence(col, s)
            if raw_source is not None and name not in cols.raw:
                source = values[col] if raw_source[0] == "value" else raw[raw_source[1]]
                cols.raw[name] = source.view(raw_source[-1])
        for children in muxes:
            for child in children:
                visit(child, False)

    visit(layout.root, True)
    if in_error:
        mux_rows = out["error_mux"][m]
        for i in np.flatnonzero(cols.error == E_MUX).tolist():
            cols.error_keys[i] = layout.mux_keys[int(mux_rows[i])]
    return cols
