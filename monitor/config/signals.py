"""The DBC -> VSS signal map, compiled once at load (in the spirit of Eclipse Kuksa's dbc2vss).

A configuration maps VSS names to DBC signals (``Message.Signal``) with an optional ``math``
transform (x with + - * / and numbers only) or a ``mapping`` value table, and a VIN assembled
from multiplexed frames. Compiling checks every entry against the loaded DBCs, so a signal no
DBC defines is a file:line error at load (``gatewatch policy check`` finds it), and turns each
``math`` text into a function once.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..canbus.plan import DecodePlan
from ..errors import PolicyError
from ..limits import MAX_MATH_CHARS
from .model import SignalSource, VinSource

Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class MappedSignal:
    vss: str
    source: SignalSource
    transform: Transform


@dataclass(frozen=True)
class SignalMap:
    """For each DBC message name: the signals that feed VSS names, and the VIN sources."""

    by_message: dict[str, tuple[MappedSignal, ...]] = field(default_factory=dict)
    vin_sources: dict[str, VinSource] = field(default_factory=dict)


def compile_signal_map(signals: dict, plans: Iterable[DecodePlan]) -> SignalMap:
    """Check every source against the messages of the plans (the top-level DBCs and each bus's
    own) and compile it."""
    by_message: dict[str, list[MappedSignal]] = {}
    vin_sources: dict[str, VinSource] = {}
    names = {m.name: m for plan in plans for m in plan.messages}
    for vss, sources in signals.items():
        for source in sources:
            message = names.get(source.message)
            if message is None:
                raise PolicyError(f"{source.where}: no DBC message {source.message!r} (for {vss})")
            if isinstance(source, VinSource):
                if source.index not in message.signal_names:
                    raise PolicyError(f"{source.where}: message {source.message} has no signal {source.index!r}")
                vin_sources[source.message] = source
                continue
            if source.signal not in message.signal_names:
                raise PolicyError(f"{source.where}: message {source.message} has no signal {source.signal!r}")
            by_message.setdefault(source.message, []).append(
                MappedSignal(vss, source, _transform(source)))
    return SignalMap({k: tuple(v) for k, v in by_message.items()}, vin_sources)


def _transform(source: SignalSource) -> Transform:
    if source.mapping:
        table = dict(source.mapping)  # a later entry for the same value wins, as it always did

        def mapped(values: np.ndarray) -> np.ndarray:
            # Once per distinct value, not once per entry and frame.
            distinct, inverse = np.unique(values, return_inverse=True)
            lookup = np.empty(len(distinct), object)
            for i, value in enumerate(distinct.tolist()):
                lookup[i] = table.get(value)
            return lookup[inverse.ravel()]

        return mapped
    if source.math:
        math = compile_math(source.math, source.where)
        return lambda values: math(values.astype(float))
    return lambda values: values


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def compile_math(text: str, where: str) -> Callable:
    """A transform over x with + - * / and numbers only (no names, no calls). Its length is
    capped before Python's parser (recursive) sees it, which also bounds the tree's depth."""
    if len(text) > MAX_MATH_CHARS:
        raise PolicyError(f"{where}: transform math of {len(text)} characters (at most {MAX_MATH_CHARS})")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise PolicyError(f"{where}: transform math {text!r} is not an expression") from None

    def build(node):
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right, op = build(node.left), build(node.right), _OPS[type(node.op)]
            return lambda x: op(left(x), right(x))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = build(node.operand)
            return lambda x: -inner(x)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return lambda x, v=node.value: v
        if isinstance(node, ast.Name) and node.id == "x":
            return lambda x: x
        raise PolicyError(f"{where}: transform math {text!r}: only x, numbers and + - * / are allowed")

    return build(tree)
