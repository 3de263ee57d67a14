"""The report's one path to HTML: every value from a record goes through ``el`` (or ``escape``)
and comes out as text, never as markup.

``Markup`` is a string known to be safe HTML: only ``el``, ``escape``, ``number`` and ``join``
make one, and ``el`` escapes every child and attribute value that is not. There is no other
context: the report builds no URL, no script, no style attribute and no event handler from
data: ``el`` refuses ``on*``, ``style``, ``href``, ``src`` and ``srcset`` attributes outright and
takes only a colour or a number in SVG's url()-capable ones (``fill``, ``stroke`` ...), so a record's text can only ever land in escaped HTML or
SVG text or in a double-quoted attribute. Numbers are formatted from validated finite numbers
(``number``), never interpolated from a record's text.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable

#: Attributes that could carry script or fetch something: never written, whatever the value.
FORBIDDEN = ("style", "href", "src", "srcset", "xlink:href", "action", "formaction", "background", "poster", "data")
#: SVG attributes that take url(...): only a colour, a number or none (the report's own constants).
PAINT = ("fill", "stroke", "filter", "mask", "clip-path", "marker-start", "marker-mid", "marker-end", "cursor")
_PAINT_VALUE = re.compile(r"#[0-9a-fA-F]{3,8}|none|[0-9.]+")


class Markup(str):
    """Safe HTML (made here only)."""


def escape(value: object) -> Markup:
    """Any value as HTML text (also safe inside a double-quoted attribute): & < > " ' escaped;
    None is empty; numbers through ``number``."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return Markup(html.escape(str(value), quote=True))


def number(value: object, spec: str = "") -> Markup:
    """A finite int or float, formatted (``spec`` as in format()); anything else is a bug here."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"not a finite number: {type(value).__name__}")
    return Markup(format(value, spec))


def join(parts: Iterable[object], separator: str = "") -> Markup:
    return Markup(escape(separator).join(escape(part) for part in parts))


def el(name: str, *children: object, **attributes: object) -> Markup:
    """<name attr="value">children</name>. Attribute names come from code (``class_`` is class,
    ``data_x`` is data-x); values and children are escaped unless Markup; None attributes are left out."""
    parts = [name]
    for key, value in attributes.items():
        attribute = key.rstrip("_").replace("_", "-")
        if attribute.lower().startswith("on") or attribute.lower() in FORBIDDEN:
            raise ValueError(f"the report writes no {attribute} attribute")
        if attribute.lower() in PAINT and not _PAINT_VALUE.fullmatch(str(value)):
            raise ValueError(f"{attribute} takes a colour or a number here, not {str(value)[:40]!r}")
        if value is not None:
            parts.append(f'{attribute}="{escape(value)}"')
    return Markup(f"<{' '.join(parts)}>{join(children)}</{name}>")


def void(name: str, **attributes: object) -> Markup:
    """An element without content (<meta ...>)."""
    return Markup(el(name, **attributes)[: -len(f"</{name}>")])
