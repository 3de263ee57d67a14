"""A received alert record, checked before the collector reads any field of it.

Anything on the collector's topic may come from anyone who can publish there, so a line is a
record only when it parses as JSON within fixed bounds (no NaN or Infinity, nesting at most
``MAX_DEPTH``, strings at most ``MAX_STRING`` characters of valid Unicode, arrays at most
``MAX_ITEMS``, numbers finite) and matches the record schema, alerts/detection-finding.schema.json,
tightened where the schema says only "integer": a time is milliseconds between 1970 and 2100 and
a sequence number is 1 .. 2^53. One bad field is enough to refuse the line; ``Invalid`` says which.

The schema file is the one rule (the writer's tests check records against it with jsonschema);
this module compiles the subset of JSON Schema it uses into closures once, at import, so the
collector needs no jsonschema at run time and checks a record in tens of microseconds. A keyword
it does not know is an error at import, never a rule silently skipped.

The chain's algorithm is not checked here: which one a vehicle must use is the collector's
configuration, and a record claiming another one (or none) is a tamper finding, not a malformed line.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..alerts.bounded import MAX_DEPTH
from ..alerts.bounded import MAX_INT as MAX_SEQ  # the largest integer every JSON reader keeps exactly

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "alerts" / "detection-finding.schema.json"
MAX_MS = 4_102_444_800_000  # 2100-01-01 in ms: past this a "time" is garbage, not a date
MAX_STRING = 16_384
MAX_ITEMS = 10_000

Check = Callable[[Any], None]


class Invalid(ValueError):
    """Why a line is not a record: ``where`` (a dotted path, or "line") and ``why``. The path is
    built only on the way out (each level adds its key), so a valid record builds none."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
        self.path: list[str | int] = []  # innermost first

    @property
    def where(self) -> str:
        text = ""
        for part in reversed(self.path):
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "line"

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


def _inside(error: Invalid, part: str | int) -> Invalid:
    error.path.append(part)
    return error


# ------------------------------------------------------------ bounds every value keeps


def _refuse_constant(name: str) -> None:
    raise Invalid(f"{name} is not a JSON number")


def parse(line: bytes) -> dict:
    """The line as a bounded JSON object, or ``Invalid``."""
    try:
        value = json.loads(line, parse_constant=_refuse_constant)
    except Invalid:
        raise
    except RecursionError:
        raise Invalid("nested too deep to parse") from None
    except ValueError as error:  # also bad UTF-8 and integers of more than 4300 digits
        raise Invalid(f"not JSON ({str(error)[:80]})") from None
    if not isinstance(value, dict):
        raise Invalid(f"a JSON {type(value).__name__}, not an object")
    _bounded(value, 0)
    return value


def _bounded(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Invalid(f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        _string(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("a number out of the float range")
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise Invalid(f"more than {MAX_ITEMS} keys")
        for key, item in value.items():
            try:
                _string(key)
                if isinstance(item, (dict, list, str, float)):
                    _bounded(item, depth + 1)
            except Invalid as error:
                raise _inside(error, key)
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise Invalid(f"more than {MAX_ITEMS} items")
        for index, item in enumerate(value):
            if isinstance(item, (dict, list, str, float)):
                try:
                    _bounded(item, depth + 1)
                except Invalid as error:
                    raise _inside(error, index)


def _string(text: str) -> None:
    if len(text) > MAX_STRING:
        raise Invalid(f"a string of {len(text)} characters (at most {MAX_STRING})")
    if not text.isascii():
        try:
            text.encode()  # a lone surrogate (an escaped "\ud800") cannot be hashed or written
        except UnicodeEncodeError:
            raise Invalid("a string that is not valid Unicode") from None


# ------------------------------------------------------------ the schema, compiled

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_IGNORED = {"$schema", "$id", "$defs", "title", "description"}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _compile(node: dict, root: dict) -> Check:
    checks: list[Check] = []
    for keyword, value in node.items():
        if keyword in _IGNORED:
            continue
        make = _KEYWORDS.get(keyword)
        if make is None:
            raise ValueError(f"{SCHEMA_PATH.name}: the collector's validator does not know {keyword!r}")
        checks.append(make(value, node, root))
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> None:
        for one in checks:
            one(value)

    return check


def _type(names: str | list[str], node: dict, root: dict) -> Check:
    tests = [_TYPES[name] for name in ([names] if isinstance(names, str) else names)]
    said = names if isinstance(names, str) else " or ".join(names)

    def check(value: Any) -> None:
        if not any(test(value) for test in tests):
            raise Invalid(f"{_show(value)} is not {said}")

    return check


def _enum(allowed: list, node: dict, root: dict) -> Check:
    def check(value: Any) -> None:
        if not any(_same(value, one) for one in allowed):
            raise Invalid(f"{_show(value)} is not one of {allowed}")

    return check


def _const(expected: Any, node: dict, root: dict) -> Check:
    return _enum([expected], node, root)


def _required(names: list[str], node: dict, root: dict) -> Check:
    def check(value: Any) -> None:
        if isinstance(value, dict):
            for name in names:
                if name not in value:
                    raise _inside(Invalid("missing"), name)

    return check


def _properties(schemas: dict, node: dict, root: dict) -> Check:
    compiled = {name: _compile(schema, root) for name, schema in schemas.items()}

    def check(value: Any) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                one = compiled.get(name)
                if one is not None:
                    try:
                        one(item)
                    except Invalid as error:
                        raise _inside(error, name)

    return check


def _additional(allowed: bool, node: dict, root: dict) -> Check:
    if allowed is not False:
        raise ValueError(f"{SCHEMA_PATH.name}: additionalProperties other than false")
    known = frozenset(node.get("properties", {}))

    def check(value: Any) -> None:
        if isinstance(value, dict) and not known.issuperset(value):
            raise _inside(Invalid("not a field of the record"), min(set(value) - known))

    return check


def _items(schema: dict, node: dict, root: dict) -> Check:
    one = _compile(schema, root)

    def check(value: Any) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                try:
                    one(item)
                except Invalid as error:
                    raise _inside(error, index)

    return check


def _count(limit: int, at_least: bool) -> Check:
    def check(value: Any) -> None:
        if isinstance(value, list) and (len(value) < limit if at_least else len(value) > limit):
            raise Invalid(f"{len(value)} items, {'at least' if at_least else 'at most'} {limit}")

    return check


def _bound(limit: float, at_least: bool) -> Check:
    def check(value: Any) -> None:
        if _TYPES["number"](value) and (value < limit if at_least else value > limit):
            raise Invalid(f"{_show(value)} is {'below' if at_least else 'above'} {limit}")

    return check


def _min_length(limit: int, node: dict, root: dict) -> Check:
    def check(value: Any) -> None:
        if isinstance(value, str) and len(value) < limit:
            raise Invalid(f"shorter than {limit} character(s)")

    return check


def _pattern(text: str, node: dict, root: dict) -> Check:
    regex = re.compile(text)

    def check(value: Any) -> None:
        if isinstance(value, str) and not regex.search(value):
            raise Invalid(f"{_show(value)} does not match {text}")

    return check


def _ref(pointer: str, node: dict, root: dict) -> Check:
    if not pointer.startswith("#/$defs/"):
        raise ValueError(f"{SCHEMA_PATH.name}: only local $defs references, not {pointer}")
    return _compile(root["$defs"][pointer.removeprefix("#/$defs/")], root)


_KEYWORDS: dict[str, Callable[[Any, dict, dict], Check]] = {
    "type": _type, "enum": _enum, "const": _const, "required": _required, "properties": _properties,
    "additionalProperties": _additional, "items": _items, "$ref": _ref, "minLength": _min_length, "pattern": _pattern,
    "minItems": lambda n, node, root: _count(n, True), "maxItems": lambda n, node, root: _count(n, False),
    "minimum": lambda n, node, root: _bound(n, True), "maximum": lambda n, node, root: _bound(n, False),
}


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, (dict, list)) else f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    return text if len(text) <= 40 else text[:37] + "..."


def collector_schema(schema: dict) -> dict:
    """The record schema as the collector applies it: times and sequence numbers bounded, a
    vehicle id not empty, the chain's algorithm left to the chain check."""
    schema = copy.deepcopy(schema)
    schema["$defs"]["ms"].update(minimum=0, maximum=MAX_MS)
    properties = schema["properties"]
    properties["metadata"]["properties"]["sequence"]["maximum"] = MAX_SEQ
    chain = properties["unmapped"]["properties"]["chain"]
    chain["properties"]["seq"]["maximum"] = MAX_SEQ
    chain["required"] = [name for name in chain["required"] if name != "alg"]
    chain["properties"]["alg"] = {"type": "string"}
    vehicle = properties["unmapped"]["properties"]["gatewatch"]["properties"]["vehicle"]
    vehicle["properties"]["id"]["minLength"] = 1
    return schema


_SCHEMA = collector_schema(json.loads(SCHEMA_PATH.read_text()))
_CHECK = _compile(_SCHEMA, _SCHEMA)


def record(line: bytes) -> dict:
    """The line as a record that every reader may trust the types and ranges of, or ``Invalid``."""
    value = parse(line)
    _CHECK(value)
    return value


def check(value: dict) -> dict:
    """A record already parsed (by a reader that kept NaN out): the same bounds and schema."""
    if not isinstance(value, dict):
        raise Invalid(f"a JSON {type(value).__name__}, not an object")
    _bounded(value, 0)
    _CHECK(value)
    return value


def vehicle_ids(record: dict) -> tuple[str, str]:
    """The vehicle a (validated) record names, twice: gatewatch's id and OCSF's device uid."""
    return record["unmapped"]["gatewatch"]["vehicle"]["id"], record["device"]["uid"]
