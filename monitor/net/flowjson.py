"""JSON lines of finished flows, written from a FlowBatch's columns: byte for byte what
``json.dumps(record) + "\\n"`` writes for each of ``FlowBatch.records()`` (the equivalence is
tested on the corpus and on generated records with hostile names).

``json.dumps`` walks each record's dict and types every value (about 5 us a record). Here one
``%`` template per batch holds the keys, encoded once, and each row's values go in as they are:
an int through ``%d`` and a float through ``%r`` (the ``repr`` json writes; the times are finite),
addresses and Community IDs between quotes (inet_ntop and base64 text never needs escaping).
Text that can hold anything (protocol, direction, application, names, the tunnel path) goes
through json's own encoder, once per distinct value. A column with one value in the whole batch
(a reason, ``"vlan": null``, ``"names": []`` on every flow) becomes part of the template.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii  # what json.dumps uses for str (ensure_ascii)

from .flowbatch import FIELDS, FlowBatch

INT, FLOAT, SAFE, TEXT, OBJECT, NAMES = "int", "float", "safe", "text", "object", "names"
KINDS = {
    "ts": FLOAT, "flow_id": INT, "community_id": SAFE, "proto": TEXT, "orig_h": SAFE, "orig_p": INT,
    "resp_h": SAFE, "resp_p": INT, "vlan": OBJECT, "direction": TEXT, "orig_pkts": INT, "orig_ip_bytes": INT,
    "resp_pkts": INT, "resp_ip_bytes": INT, "orig_bytes": INT, "resp_bytes": INT, "first_seen": FLOAT,
    "last_seen": FLOAT, "duration": FLOAT, "app_proto": TEXT, "names": NAMES,
}
TCP_FLAGS = ', "tcp_flags_orig": "%s", "tcp_flags_resp": "%s"'


def flow_lines(batch: FlowBatch, suffixes: list[str] | None = None) -> list[str]:
    """One line per flow, newline included. ``suffixes``: per flow, encoded fields to append
    (``', "country": null'``, from ``fields_text``), as if the record had been updated with them."""
    parts, columns = ["{"], []
    for i, name in enumerate(FIELDS[:-1]):
        spec, values = _column(KINDS[name], batch.columns[name])
        parts.append(f"{', ' if i else ''}{_key(name)}{spec}")
        if values is not None:
            columns.append(values)
    parts.append(f", {_key('reason')}{_escape(encode_basestring_ascii(batch.reason))}")
    for texts in (_tails(batch), suffixes):
        if texts is None:
            continue
        if texts and texts.count(texts[0]) == len(texts):  # the same for every flow (no tunnel, one country)
            parts.append(_escape(texts[0]))
        else:
            parts.append("%s")
            columns.append(texts)
    template = "".join(parts) + "}\n"
    if not columns:  # every value the same in every flow
        return [template % ()] * len(batch)
    return list(map(template.__mod__, zip(*columns, strict=True)))


def fields_text(fields: dict) -> str:
    """``fields`` as text to append to a line's record (``, "k": v`` each), as json.dumps writes them."""
    text = json.dumps(fields)[1:-1]
    return ", " + text if text else ""


def _key(name: str) -> str:
    return _escape(json.dumps(name)) + ": "


def _escape(text: str) -> str:
    """Constant text inside the % template."""
    return text.replace("%", "%%")


def _column(kind: str, values: list) -> tuple[str, list | None]:
    """(the template's part for a column, the values that fill it; None: the part is constant)."""
    if kind in (INT, FLOAT):
        spec = "%d" if kind == INT else "%r"
        # One value throughout (== on ints; on floats too, as -0.0 never occurs: times are int ns / 1e9).
        if values and values.count(values[0]) == len(values):
            return _escape(spec % values[0]), None
        return spec, values
    if kind == SAFE and None not in values:
        return '"%s"', values
    encode = _ENCODERS[kind]
    if kind in (OBJECT, NAMES):  # unhashable values (lists): encoded one by one unless all None
        if values and values.count(None) == len(values):
            return _escape(encode(None)), None
        return "%s", [encode(value) for value in values]
    distinct = set(values)
    if len(distinct) == 1:
        return _escape(encode(distinct.pop())), None
    texts = {value: encode(value) for value in distinct}
    return "%s", list(map(texts.__getitem__, values))


def _quoted(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


def _object(value: object) -> str:
    return "null" if value is None else json.dumps(value)


def _names(value: list[dict] | None) -> str:
    return json.dumps(value) if value else "[]"


_ENCODERS: dict[str, Callable] = {SAFE: _quoted, TEXT: _text, OBJECT: _object, NAMES: _names}


def _tails(batch: FlowBatch) -> list[str] | None:
    """Per flow: the fields after ``reason`` (the tunnel path, the TCP flags), or None when no
    flow of the batch has any."""
    n = len(batch)
    has_tunnel = batch.tunnel.count(None) != n
    if not has_tunnel and batch.tcp_flags_orig.count(None) == n:
        return None
    tails = [TCP_FLAGS % (o, r) if o is not None else ""
             for o, r in zip(batch.tcp_flags_orig, batch.tcp_flags_resp, strict=True)]
    if has_tunnel:
        for row, path in enumerate(batch.tunnel):
            if path is not None:
                tails[row] = f', "tunnel": {json.dumps(path)}{tails[row]}'
    return tails
