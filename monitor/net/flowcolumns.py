"""Finishing flows as numpy columns for the compiled record writer (native/src/gw_flowjson.c).

The numpy path builds one Python list per field (flowbatch.FlowBatch) and formats the lines
from them (flowjson.py). With the native core, a sink that takes columns (``takes_columns``,
the flows command's JSON lines) gets a FlowColumns instead: the numbers, times, addresses and
TCP flags stay numpy arrays and C writes them; what only Python knows (Community IDs, names
and application learned by the parsers, the tunnel path, the sink's own suffix such as the
remote's country) goes in as tables of encoded JSON texts with an index per flow. The lines
are byte for byte those of ``flowjson.flow_lines`` (tests/native/test_flows_equivalence.py).
"""

from __future__ import annotations

import json
from itertools import repeat
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING

import numpy as np

from .flowbatch import DIRECTIONS

if TYPE_CHECKING:
    from .flowrecord import FlowRecorder
    from .flows import FlowTable

INBOUND = DIRECTIONS.index("inbound")  # the direction whose remote side is the originator
_DIRECTION_TEXTS = [encode_basestring_ascii(d) for d in DIRECTIONS]
ICMP_PROTOS = (1, 58)


def text_table(entries: list[str], index: np.ndarray | None = None) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A text column for the C writer: the encoded entries in one blob, their offsets, and the
    entry of each row (``index``; None: row i is entry i)."""
    lengths = np.fromiter(map(len, entries), dtype=np.int64, count=len(entries))
    offsets = np.zeros(len(entries) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if index is None:
        index = np.arange(len(entries), dtype=np.int64)
    return "".join(entries).encode("ascii"), offsets, np.ascontiguousarray(index, dtype=np.int64)


def sparse_table(n: int, default: str, rows: list[int], texts: list[str]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A text column that is ``default`` except at ``rows`` (each with its own text)."""
    index = np.zeros(n, dtype=np.int64)
    index[rows] = np.arange(1, len(rows) + 1)
    return text_table([default, *texts], index)


@dataclass
class FlowColumns:
    """Finishing flows oriented from each originator, ready for ``core.flowjson_lines``."""

    core: object
    reason: str
    numbers: dict[str, np.ndarray]
    texts: dict[str, tuple[bytes, np.ndarray, np.ndarray]]
    direction: np.ndarray  # index into DIRECTIONS per flow

    def __len__(self) -> int:
        return len(self.direction)

    @classmethod
    def build(cls, core, recorder: FlowRecorder, table: FlowTable, slots: np.ndarray, reason: str) -> FlowColumns:
        keys = table.key[slots]
        version, proto = keys["version"], keys["proto"]
        a_first = table.a_initiates[slots]
        a_in = recorder.networks.inside(version, np.stack([keys["a_hi"], keys["a_lo"]], 1))
        b_in = recorder.networks.inside(version, np.stack([keys["b_hi"], keys["b_lo"]], 1))
        pick = lambda a, b: (np.where(a_first, keys[a], keys[b]), np.where(a_first, keys[b], keys[a]))
        (orig_hi, resp_hi), (orig_lo, resp_lo), (orig_p, resp_p) = pick("a_hi", "b_hi"), pick("a_lo", "b_lo"), pick("a_port", "b_port")
        orig_p, resp_p = orig_p.astype(np.int64), resp_p.astype(np.int64)
        slot_list = slots.tolist()
        icmp_rows = np.flatnonzero(np.isin(proto, ICMP_PROTOS)).tolist()
        for row in icmp_rows:  # Zeek's convention: the first packet's ICMP type and code as ports
            if slot_list[row] in recorder.icmp:
                orig_p[row], resp_p[row] = recorder.icmp[slot_list[row]]
        direction = 2 * np.where(a_first, a_in, b_in).astype(np.int64) + np.where(a_first, b_in, a_in)
        numbers = {
            "first_ns": table.first_ns[slots], "last_ns": table.last_ns[slots], "flow_id": _flow_ids(recorder, slot_list),
            "proto": proto, "version": version, "orig_hi": orig_hi, "orig_lo": orig_lo, "resp_hi": resp_hi,
            "resp_lo": resp_lo, "orig_p": orig_p, "resp_p": resp_p, "vlan": keys["vlan"],
            "counts": np.stack([table.packets[slots, 0], table.bytes[slots, 0], table.packets[slots, 1],
                                table.bytes[slots, 1], table.payload[slots, 0], table.payload[slots, 1]], 1),
            "flags_orig": table.flags[slots, 0], "flags_resp": table.flags[slots, 1],
        }
        numbers = {name: np.ascontiguousarray(column) for name, column in numbers.items()}
        texts = {
            "community": _communities(core, recorder, keys, slot_list, icmp_rows),
            "direction": text_table(_DIRECTION_TEXTS, direction),
            "app_proto": _sparse(slot_list, recorder.app, "null", encode_basestring_ascii),
            "names": _names(core, recorder, slot_list, numbers),
            "tunnel": _sparse(slot_list, recorder.tunnel, "", lambda path: ', "tunnel": ' + json.dumps(path)),
        }
        return cls(core, reason, numbers, texts, direction)

    def remotes(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct remote addresses as text, the entry of each flow's remote among them)."""
        n = self.numbers
        orig = self.direction == INBOUND
        ends = np.zeros(len(self), dtype=[("version", "u1"), ("hi", "<u8"), ("lo", "<u8")])
        ends["version"] = n["version"]
        ends["hi"] = np.where(orig, n["orig_hi"], n["resp_hi"])
        ends["lo"] = np.where(orig, n["orig_lo"], n["resp_lo"])
        distinct, inverse = np.unique(ends, return_inverse=True)
        texts = self.core.flowjson_addresses(np.ascontiguousarray(distinct["version"]),
                                             np.ascontiguousarray(distinct["hi"]), np.ascontiguousarray(distinct["lo"]))
        return texts, inverse.ravel()

    def lines(self, suffixes: list[str] | None = None, suffix_index: np.ndarray | None = None) -> str:
        """The flows' JSON lines as one text; ``suffixes[suffix_index[i]]`` is appended to line i's record."""
        n = self.numbers
        texts = dict(self.texts)
        if suffixes is None:
            suffixes, suffix_index = [""], np.zeros(len(self), dtype=np.int64)
        texts["suffix"] = text_table(suffixes, suffix_index)
        text, _ = self.core.flowjson_lines(
            n["first_ns"], n["last_ns"], n["flow_id"], n["proto"], n["version"], n["orig_hi"], n["orig_lo"],
            n["resp_hi"], n["resp_lo"], n["orig_p"], n["resp_p"], n["vlan"], n["counts"], n["flags_orig"],
            n["flags_resp"], texts, encode_basestring_ascii(self.reason).encode("ascii"))
        return text


def _flow_ids(recorder: FlowRecorder, slot_list: list[int]) -> np.ndarray:
    """As the records have them: the flow's id while its slot is open, 0 after."""
    return np.fromiter(map(recorder.flow_id.get, slot_list, repeat(0)), dtype=np.int64, count=len(slot_list))


def _communities(core, recorder: FlowRecorder, keys: np.ndarray, slot_list: list[int], icmp_rows: list[int]):
    """Community IDs, as flowrecord's ``_communities`` has them: computed in C for the keys,
    an ICMP flow's fixed when it opened (from its first packet's type), null where none."""
    column = lambda name: np.ascontiguousarray(keys[name])
    blob, ok = core.flowjson_community_ids(column("version"), column("proto"), column("a_hi"), column("a_lo"),
                                           column("b_hi"), column("b_lo"), column("a_port"), column("b_port"))
    n, width = len(keys), len(blob) // max(len(keys), 1)
    index = np.arange(n, dtype=np.int64)
    index[ok == 0] = n  # "null"
    extra = []
    for row in icmp_rows:
        text = recorder.community.get(slot_list[row])
        if text is None:
            index[row] = n
        else:
            index[row] = n + 1 + len(extra)
            extra.append('"' + text + '"')
    tail = ("null" + "".join(extra)).encode("ascii")
    lengths = np.array([width] * n + [4] + [len(text) for text in extra], dtype=np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return blob + tail, offsets, index


def _sparse(slot_list: list[int], per_slot: dict, default: str, encode):
    """A column from a per-slot dict most flows are absent from."""
    if not per_slot:
        return text_table([default], np.zeros(len(slot_list), dtype=np.int64))
    rows = [row for row, slot in enumerate(slot_list) if slot in per_slot]
    return sparse_table(len(slot_list), default, rows, [encode(per_slot[slot_list[row]]) for row in rows])


def _names(core, recorder: FlowRecorder, slot_list: list[int], numbers: dict):
    """The names column as flowrecord's ``_name_column`` finds it; only flows with names cost Python."""
    n = len(slot_list)
    if not recorder.learned and not recorder.name_cache.entries:
        return text_table(["[]"], np.zeros(n, dtype=np.int64))
    responders = core.flowjson_addresses(numbers["version"], numbers["resp_hi"], numbers["resp_lo"])
    values = recorder._name_column(slot_list, responders, numbers["first_ns"].tolist())
    rows = [row for row, value in enumerate(values) if value]
    return sparse_table(n, "[]", rows, [json.dumps(values[row]) for row in rows])
