"""A frozen decode plan compiled from cantools' parsed DBC objects.

Nothing here reads DBC text: every number comes from cantools' ``Message`` / ``Signal``
objects and from the codec tree cantools itself decodes with (``Message._codecs``: signals,
bitstruct formats and the multiplexer tree per node), so multiplexing, overlap failures and
int-versus-float results follow cantools exactly.

Each signal is located as a shift inside one little- or big-endian 64-bit *window* of the
payload. Signals in the first 8 bytes share the window at byte 0; others (CAN FD) get a window
at their first byte, plus one spill byte when a wide unaligned signal covers 9 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import DecodeError

EXTENDED_KEY = 1 << 31  # cantools' own key flag for 29-bit ids


@dataclass(frozen=True)
class SignalPlan:
    name: str
    length: int
    kind: str  # 'u' unsigned, 's' two's complement, 'f' IEEE float
    little_endian: bool
    window: int  # byte offset of the 64-bit window
    shift: int  # LE: bit offset of the LSB in the window; BE: offset of the MSB from the top
    spill: bool  # the signal needs the byte after the window too
    value: str  # 'identity' | 'int' | 'float'  (cantools' result type)
    scale: int | float
    offset: int | float
    int_product: bool  # scale is a Python int: Python multiplies exactly, then adds offset
    exact_in_int64: bool  # the int arithmetic cannot overflow int64
    choices: Mapping[int, str] | None
    minimum: float | None = None  # the DBC's [min|max]; None where it states none ([0|0])
    maximum: float | None = None
    unit: str = ""  # the DBC's unit ("km/h"): signals of one quantity may be compared

    @property
    def width(self) -> int:
        """Payload bytes this signal's window reads."""
        return self.window + 8 + int(self.spill)


@dataclass(frozen=True)
class NodePlan:
    """One node of cantools' codec tree: its signals, and multiplexers with child nodes."""

    signals: tuple[SignalPlan, ...]
    unpack_ok: bool  # False where cantools' bitstruct format cannot unpack (overlaps)
    muxes: tuple[tuple[str, Mapping[int, NodePlan]], ...]

    def walk(self) -> Iterable[NodePlan]:
        yield self
        for _, children in self.muxes:
            for child in children.values():
                yield from child.walk()


@dataclass(frozen=True)
class MessagePlan:
    name: str
    frame_id: int
    is_extended: bool
    length: int
    root: NodePlan
    width: int  # payload bytes the kernel gathers per frame
    source: str  # the DBC it came from
    cycle_time_ms: int | None = None  # GenMsgCycleTime, where the DBC gives one
    j1939: bool = False  # a J1939 parameter group (VFrameFormat J1939PG): matched by PGN too

    @property
    def pgn(self) -> int:
        return int(pgn_of(np.array([self.frame_id], np.uint32))[0])

    @property
    def key(self) -> int:
        return self.frame_id | (EXTENDED_KEY if self.is_extended else 0)

    @property
    def frames_per_cycle(self) -> int:
        """A multiplexed message sends one frame per multiplexer value each cycle (a VIN in
        three frames every second); a plain one, one frame."""
        return max([len(children) for _, children in self.root.muxes] or [1])

    def signal(self, name: str) -> SignalPlan:
        for node in self.root.walk():
            for sig in node.signals:
                if sig.name == name:
                    return sig
        raise KeyError(name)

    @property
    def signal_names(self) -> tuple[str, ...]:
        return tuple(s.name for node in self.root.walk() for s in node.signals)


@dataclass(frozen=True)
class DecodePlan:
    """All messages of one or more DBCs, keyed like cantools keys them, sorted for lookup."""

    messages: tuple[MessagePlan, ...]  # sorted by key
    keys: np.ndarray  # uint64, sorted
    standard_index: np.ndarray  # 2048 entries: message index of each 11-bit id, or len(messages)
    pgn_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))  # J1939 messages' PGNs, sorted
    pgn_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # their message indices

    def index_of(self, arbitration_id: np.ndarray, is_extended: np.ndarray) -> np.ndarray:
        """Message index per frame (len(messages) where the DBC has no such id).

        11-bit ids go through a 2048-entry table; 29-bit ids through a binary search.
        """
        n = len(self.messages)
        index = self.standard_index[arbitration_id & 0x7FF]
        extended = np.flatnonzero(is_extended)
        if len(extended):
            keys = arbitration_id[extended].astype(np.uint64) | np.uint64(EXTENDED_KEY)
            found = np.searchsorted(self.keys, keys)
            hit = found < n
            hit[hit] = self.keys[found[hit]] == keys[hit]
            index[extended] = np.where(hit, found, n)
            if len(self.pgn_keys) and not hit.all():
                index[extended[~hit]] = self._by_pgn(arbitration_id[extended[~hit]])
        return index

    def _by_pgn(self, frame_ids: np.ndarray) -> np.ndarray:
        """J1939 messages by PGN: the same parameter group from another source address or at
        another priority is the same message (what cantools' J1939 frame id masking does)."""
        pgns = pgn_of(frame_ids)
        at = np.minimum(np.searchsorted(self.pgn_keys, pgns), len(self.pgn_keys) - 1)
        return np.where(self.pgn_keys[at] == pgns, self.pgn_index[at], len(self.messages))

    def lookup(self, frame_id: int, is_extended: bool) -> MessagePlan | None:
        i = int(self.index_of(np.array([frame_id], np.uint32), np.array([is_extended]))[0])
        return self.messages[i] if i < len(self.messages) else None


def compile_plan(databases: Iterable[tuple[Any, str]]) -> DecodePlan:
    """Compile (cantools Database, source name) pairs. A later DBC's message replaces an
    earlier one with the same id, as cantools' ``add_dbc_file`` does."""
    by_key: dict[int, MessagePlan] = {}
    for db, source in databases:
        for message in db.messages:
            if message.is_container:
                continue  # AUTOSAR containers never occur in DBC files
            plan = compile_message(message, source)
            by_key[plan.key] = plan
    ordered = tuple(by_key[k] for k in sorted(by_key))
    dtype = np.int16 if len(ordered) < 32767 else np.int32
    standard = np.full(2048, len(ordered), dtype)
    for i, m in enumerate(ordered):
        if not m.is_extended:
            standard[m.frame_id] = i
    j1939 = sorted((m.pgn, i) for i, m in enumerate(ordered) if m.is_extended and m.j1939)
    return DecodePlan(messages=ordered, keys=np.array([m.key for m in ordered], np.uint64), standard_index=standard,
                      pgn_keys=np.array([p for p, _ in j1939], np.uint32), pgn_index=np.array([i for _, i in j1939], np.int64))


def compile_message(message, source: str = "") -> MessagePlan:
    codecs = getattr(message, "_codecs", None)
    if codecs is None:
        raise DecodeError(f"{source}: message {message.name} has no codec (cantools refused it)")
    root = _compile_node(codecs, message.length)
    width = max([8] + [s.width for node in root.walk() for s in node.signals])
    return MessagePlan(
        name=message.name,
        frame_id=int(message.frame_id),
        is_extended=bool(message.is_extended_frame),
        length=int(message.length),
        root=root,
        width=width,
        source=source,
        cycle_time_ms=int(message.cycle_time) if message.cycle_time else None,
        j1939=getattr(message, "protocol", None) == "j1939",
    )


def pgn_of(frame_ids: np.ndarray) -> np.ndarray:
    """SAE J1939 parameter group numbers of 29-bit ids: priority and source address dropped,
    and for PDU1 (PF < 240) the destination address too."""
    pgn = (frame_ids.astype(np.uint32) >> np.uint32(8)) & np.uint32(0x3FFFF)
    pdu1 = ((pgn >> np.uint32(8)) & np.uint32(0xFF)) < 240
    return np.where(pdu1, pgn & np.uint32(0x3FF00), pgn)


def _compile_node(node: Mapping, length: int) -> NodePlan:
    muxes = tuple(
        (name, MappingProxyType({int(v): _compile_node(child, length) for v, child in children.items()}))
        for name, children in node["multiplexers"].items()
    )
    return NodePlan(
        signals=tuple(_compile_signal(s) for s in node["signals"]),
        unpack_ok=_unpacks(node["formats"], length),
        muxes=muxes,
    )


def _unpacks(formats, length: int) -> bool:
    """Whether cantools' bitstruct formats unpack a payload of the message length.

    Overlapping or oversized signals make the format longer than the payload; bitstruct then
    fails for every payload of that length, which cantools reports as 'unpacking failed'.
    """
    data = bytes(length)
    try:
        formats.big_endian.unpack(data)
        formats.little_endian.unpack(data[::-1])
    except Exception:  # noqa: BLE001 - bitstruct raises different types in C and Python
        return False
    return True


def _compile_signal(signal) -> SignalPlan:
    conversion = signal.conversion
    inner = getattr(conversion, "_conversion", conversion)  # NamedSignalConversion wraps one
    kind = "f" if conversion.is_float else ("s" if signal.is_signed else "u")
    length = int(signal.length)
    window, shift, spill = _locate(signal.start, length, signal.byte_order == "little_endian")
    cls = type(inner).__name__
    value = {"IdentityConversion": "identity", "LinearIntegerConversion": "int"}.get(cls, "float")
    scale, offset = inner.scale, inner.offset
    int_product = isinstance(scale, int) and kind != "f"
    choices = conversion.choices
    return SignalPlan(
        name=signal.name,
        length=length,
        kind=kind,
        little_endian=signal.byte_order == "little_endian",
        window=window,
        shift=shift,
        spill=spill,
        value=value,
        scale=scale,
        offset=offset,
        int_product=int_product,
        exact_in_int64=_fits_int64(kind, length, scale, offset),
        choices=MappingProxyType({int(k): str(v) for k, v in choices.items()}) if choices else None,
        **_range(signal),
        unit=(signal.unit or "").strip(),
    )


def _range(signal) -> dict:
    """The DBC's physical range; DBC writers put [0|0] to mean "none stated"."""
    low, high = signal.minimum, signal.maximum
    if low is None or high is None or (low == 0 and high == 0):
        return {}
    return {"minimum": float(low), "maximum": float(high)}


def _locate(start: int, length: int, little_endian: bool) -> tuple[int, int, bool]:
    """(window byte, shift, spill) for a signal; see the module docstring."""
    if little_endian:
        first = start  # bit number in the little-endian integer of the payload
    else:
        first = 8 * (start // 8) + 7 - start % 8  # network (MSB-first) bit number of the MSB
    if first + length <= 64:
        return 0, first, False
    window = first // 8
    shift = first - 8 * window
    return window, shift, shift + length > 64


def _fits_int64(kind: str, length: int, scale, offset) -> bool:
    if kind == "f":
        return True
    if kind == "s":
        biggest = 1 << (length - 1)
    else:
        biggest = (1 << length) - 1
    try:
        bound = biggest * abs(scale) + abs(offset)
    except TypeError:
        return False
    return bound < (1 << 63) - 1 and (kind == "s" or length < 64 or scale == 1 and offset == 0)
