"""Vectorized DBC decoding of a FrameBatch with a DecodePlan.

One pass groups the batch's data frames by message (a lookup with searchsorted, then a stable
radix argsort of the small message indices); each message group is gathered into one
contiguous byte matrix, and every signal is a shift and a mask over the whole column, then
sign, float reinterpretation and scaling, following cantools' rules bit for bit:

* payload shorter than the DBC length: "Wrong data size: N instead of M bytes" (the frame gets
  no signals); longer: the excess is ignored (cantools' ``allow_excess``);
* a node whose bitstruct format cannot unpack (overlapping signals): "unpacking failed";
* a multiplexer value with no branch: "expected multiplexer id A, B or C, but got X";
* IdentityConversion and LinearIntegerConversion give ints, LinearConversion floats computed
  as Python computes ``raw * scale + offset``.

Where the compiled core is loaded, decode_batch runs it (decode_native.py over gw_can_decode);
this module's numpy code is the reference it is tested against, and the fallback.
"""

from __future__ import annotations

import numpy as np

from .. import native
from .decode_native import decode_batch_native, native_decodable
from .decoded import E_MUX, E_OK, E_SIZE, E_UNPACK, DecodedBatch, MessageColumns
from .frames import FrameBatch
from .plan import DecodePlan, MessagePlan, NodePlan, SignalPlan

__all__ = ["E_MUX", "E_OK", "E_SIZE", "E_UNPACK", "DecodedBatch", "MessageColumns", "decode_batch", "decode_message"]


def decode_batch(plan: DecodePlan, batch: FrameBatch) -> DecodedBatch:
    core = native.kernels  # read per call: native.use_numpy() switches it off for a block
    if core is not None:
        if native_decodable(batch):
            return decode_batch_native(core, plan, batch, decode_message)
    return decode_batch_numpy(plan, batch)


def decode_batch_numpy(plan: DecodePlan, batch: FrameBatch) -> DecodedBatch:
    """The numpy reference of decode_batch (and its fallback where the core is not built)."""
    data_rows = np.flatnonzero(batch.is_data)
    n_messages = len(plan.messages)
    if len(data_rows) == len(batch):
        index = plan.index_of(batch.arbitration_id, batch.is_extended)
    else:
        index = plan.index_of(batch.arbitration_id[data_rows], batch.is_extended[data_rows])
    order = np.argsort(index, kind="stable")  # radix sort for small ints: keeps time order
    bounds = np.concatenate(([0], np.cumsum(np.bincount(index, minlength=n_messages + 1))))
    out = []
    words = _WordColumns(batch.data)
    for m in np.flatnonzero(np.diff(bounds[:-1]) > 0):
        rows = data_rows[order[bounds[m] : bounds[m + 1]]]
        out.append(decode_message(plan.messages[m], batch, rows, words))
    unknown = data_rows[order[bounds[n_messages] :]]
    return DecodedBatch(batch=batch, messages=out, unknown=np.sort(unknown))


def decode_message(
    message: MessagePlan, batch: FrameBatch, rows: np.ndarray, words: _WordColumns | None = None
) -> MessageColumns:
    n = len(rows)
    cols = MessageColumns(message=message, rows=rows)
    cols.error = np.zeros(n, np.uint8)
    cols.error_arg = np.zeros(n, np.int64)
    dlc = batch.dlc[rows]
    short = dlc < message.length
    if short.any():
        cols.error[short] = E_SIZE
        cols.error_arg[short] = dlc[short]
        ok = np.flatnonzero(~short)
    else:
        ok = np.arange(n)
    words = words or _WordColumns(batch.data)
    _decode_node(message.root, _Windows(words, rows[ok], message.width), ok, cols, n)
    _clear_errored(cols)
    return cols


def _gather(data: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """The payload bytes of ``rows`` as a contiguous matrix, zero-padded past 64 bytes."""
    if width <= data.shape[1]:
        return data[rows, :width]
    out = np.zeros((len(rows), width), np.uint8)
    out[:, : data.shape[1]] = data[rows]
    return out


def _decode_node(node: NodePlan, windows: _Windows, where: np.ndarray, cols: MessageColumns, n: int) -> None:
    """Decode ``node`` for the group rows ``where``; ``windows`` reads their payloads."""
    if not node.unpack_ok:
        fresh = cols.error[where] == E_OK
        cols.error[where[fresh]] = E_UNPACK
        return
    all_rows = len(where) == n
    for sig in node.signals:
        raw = _extract(sig, windows)
        value = _scale(sig, raw)
        _store(cols.values, cols.present, sig.name, value, where, n, all_rows)
        if sig.choices:
            _store(cols.raw, {}, sig.name, raw, where, n, all_rows)
    for mux_name, children in node.muxes:
        selector = _mux_numbers(cols.values[mux_name][where] if not all_rows else cols.values[mux_name])
        handled = np.zeros(len(where), bool)
        for mux_id, child in children.items():
            hit = selector == mux_id
            if hit.any():
                handled |= hit
                _decode_node(child, windows.subset(hit), where[hit], cols, n)
        unhandled = ~handled
        missing = where[unhandled]
        fresh_mask = cols.error[missing] == E_OK
        fresh = missing[fresh_mask]
        cols.error[fresh] = E_MUX
        cols.error_arg[fresh] = selector[unhandled][fresh_mask]
        keys = tuple(sorted(children))
        for i in fresh.tolist():
            cols.error_keys[i] = keys


def _store(values: dict, present: dict, name: str, value: np.ndarray, where: np.ndarray, n: int,
           all_rows: bool) -> None:
    """Put a signal's values for rows ``where`` into its full-length column.

    A signal may sit in several multiplexer branches (cantools' ``multiplexer_ids`` lists), so a
    later branch adds its rows to the column an earlier branch made.
    """
    if all_rows:
        values[name], present[name] = value, None
        return
    if name not in values:
        values[name] = np.zeros(n, value.dtype)
        present[name] = np.zeros(n, bool)
    values[name][where] = value
    present[name][where] = True


def _mux_numbers(values: np.ndarray) -> np.ndarray:
    """cantools takes ``int(value)`` of the decoded multiplexer: truncation for floats."""
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        return np.where(finite, np.trunc(np.where(finite, values, 0)), -1).astype(np.int64)
    if values.dtype == object:
        return np.array([int(v) for v in values], np.int64)
    return values.astype(np.int64)


def _clear_errored(cols: MessageColumns) -> None:
    """Frames in error have no signals at all (cantools raises instead of returning any)."""
    bad = cols.error != E_OK
    if not bad.any():
        return
    for name, mask in cols.present.items():
        cols.present[name] = (np.ones(len(bad), bool) if mask is None else mask) & ~bad


class _WordColumns:
    """The batch payloads' k-th little-endian uint64 column, made contiguous once per batch:
    taking rows from it is a cache-friendly gather, unlike a stride-64 one per message."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = np.ascontiguousarray(data)
        self._view = self.data.view("<u8")
        self._columns: dict[int, np.ndarray] = {}

    def word(self, k: int) -> np.ndarray:
        if k not in self._columns:
            self._columns[k] = np.ascontiguousarray(self._view[:, k])
        return self._columns[k]


class _Windows:
    """64-bit little/big-endian words of the payloads of some batch rows, made on first use.

    Words at 8-byte-aligned offsets are gathered straight from the batch's (N, 8) uint64 view
    of its payload matrix: one 1-D take per word, no byte matrix (the common case: classic
    frames, whose signals all share the word at offset 0). Unaligned windows (CAN FD signals)
    gather a byte matrix of the message's width once.
    """

    def __init__(self, columns: _WordColumns, rows: np.ndarray, width: int) -> None:
        self.columns, self.data, self.rows, self.width = columns, columns.data, rows, width
        self._matrix: np.ndarray | None = None
        self._cache: dict[tuple[int, bool], np.ndarray] = {}

    def subset(self, hit: np.ndarray) -> _Windows:
        return _Windows(self.columns, self.rows[hit], self.width)

    def word(self, offset: int, little_endian: bool) -> np.ndarray:
        key = (offset, little_endian)
        if key not in self._cache:
            if not little_endian:
                self._cache[key] = self.word(offset, True).byteswap()
            elif offset % 8 == 0 and offset + 8 <= self.data.shape[1]:
                self._cache[key] = self.columns.word(offset // 8).take(self.rows)
            else:
                m = self.matrix()
                self._cache[key] = np.ndarray(
                    shape=(m.shape[0],), dtype="<u8", buffer=m, offset=offset, strides=(m.shape[1],)
                ).astype(np.uint64) if m.shape[0] else np.zeros(0, np.uint64)
        return self._cache[key]

    def byte(self, offset: int) -> np.ndarray:
        return self.matrix()[:, offset].astype(np.uint64)

    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = _gather(self.data, self.rows, self.width)
        return self._matrix


def _extract(sig: SignalPlan, windows: _Windows) -> np.ndarray:
    """The raw value of a signal for every row: uint64, int64 or float64."""
    word = windows.word(sig.window, sig.little_endian)
    length = sig.length
    mask = np.uint64((1 << length) - 1)
    if sig.little_endian:
        bits = word >> np.uint64(sig.shift)
        if sig.spill:
            bits |= windows.byte(sig.window + 8) << np.uint64(64 - sig.shift)
    elif not sig.spill:
        bits = word >> np.uint64(64 - sig.shift - length)
    else:
        extra = sig.shift + length - 64
        bits = (word << np.uint64(extra)) | (windows.byte(sig.window + 8) >> np.uint64(8 - extra))
    bits &= mask
    if sig.kind == "u":
        return bits
    if sig.kind == "s":
        if length == 64:
            return bits.view(np.int64)
        sign = np.uint64(1 << (length - 1))
        return (bits ^ sign).view(np.int64) - np.int64(1 << (length - 1))
    float_type = {16: np.float16, 32: np.float32, 64: np.float64}[length]
    int_type = {16: np.uint16, 32: np.uint32, 64: np.uint64}[length]
    with np.errstate(invalid="ignore"):  # signalling NaN payloads widen to quiet NaN, as in C
        return bits.astype(int_type).view(float_type).astype(np.float64)


def _scale(sig: SignalPlan, raw: np.ndarray) -> np.ndarray:
    if sig.value == "identity":
        return raw if raw.dtype != np.uint64 or sig.length == 64 else raw.view(np.int64)
    if sig.value == "int":
        if not sig.exact_in_int64:
            return raw.astype(object) * sig.scale + sig.offset
        return raw.astype(np.int64) * np.int64(sig.scale) + np.int64(sig.offset)
    if raw.dtype.kind == "f" or not sig.int_product:
        # Python float arithmetic: inf * 0 is nan and overflow is inf, silently.
        with np.errstate(invalid="ignore", over="ignore"):
            return raw.astype(np.float64) * sig.scale + sig.offset
    # Python multiplies int by int exactly and only then converts to float for the offset.
    if sig.exact_in_int64:
        product = raw.astype(np.int64) * np.int64(sig.scale)
        return product.astype(np.float64) + sig.offset
    return np.array([float(v) for v in raw.astype(object) * sig.scale], np.float64) + sig.offset
