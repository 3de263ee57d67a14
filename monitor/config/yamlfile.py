"""YAML loading that remembers where each mapping key and list item was, for file:line:column
error messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from ..errors import PolicyError, where
from ..limits import MAX_INT_DIGITS, MAX_YAML_BYTES, MAX_YAML_DEPTH, read_at_most


class Located(dict):
    """A mapping from a YAML file; ``at(key)`` is "file:line:column" of the key (1-based)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.marks: dict = {}  # key -> (line, column)
        self.mark: tuple[int, int] = (1, 1)
        self.path = "<config>"
        self.key_paths: dict = {}  # key -> the file it came from, where not this one (``extends``)

    @property
    def line(self) -> int:
        return self.mark[0]

    def at(self, key=None) -> str:
        if key is None:
            return where(self.path, *self.mark)
        return where(self.key_paths.get(key, self.path), *self.marks.get(key, self.mark))


def known_keys(node: Located, keys, what: str) -> None:
    """Unknown keys are errors naming file:line:column and the keys that are known."""
    for key in node:
        if key not in keys:
            raise PolicyError(f"{node.at(key)}: unknown key {key!r} in {what} (known: {', '.join(keys)})")


def child(node: Located, key: str, kind: type, what: str):
    """``node[key]`` when it is a ``kind`` (an empty one when absent), else a file:line error
    saying it must be ``what``."""
    value = node.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise PolicyError(f"{node.at(key)}: {key} must be {what}")
    return value


def dbc_files(node: Located, key: str, config_path: Path) -> list[str]:
    """The DBC list under ``key``, each resolved against the file that names it; ``dbc/NAME``
    with no such file there names a DBC shipped with gatewatch. A missing file is an error at
    the line that names it, with the path as written."""
    from ..resources import shipped

    names = child(node, key, LocatedList, "a list of DBC file names")
    out = []
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise PolicyError(f"{names.at(i)}: a DBC file name must be a string, not {name!r}")
        path = Path(name) if Path(name).is_absolute() else config_path.parent / name
        if not path.is_file() and name.startswith("dbc/"):
            path = shipped(name, must_exist=False)
        if not path.is_file():
            raise PolicyError(f"{names.at(i)}: DBC file {name!r} not found (resolved against {config_path.parent})")
        out.append(os.path.normpath(path))
    return out


def existing_file(node: Located, key: str, config_path: Path, what: str, show_resolved: bool = False) -> str:
    """The file ``node[key]`` names, resolved against the configuration file; a missing one is
    an error at its line naming it as written (or as resolved)."""
    path = Path(str(node[key]))
    path = path if path.is_absolute() else config_path.parent / path
    if not path.is_file():
        raise PolicyError(f"{node.at(key)}: {what} {str(path) if show_resolved else str(node[key])!r} not found")
    return str(path)


class LocatedList(list):
    """A sequence from a YAML file; ``at(i)`` is "file:line:column" of item i."""

    marks: list
    mark: tuple[int, int]
    path: str

    def at(self, index: int | None = None) -> str:
        return where(self.path, *(self.marks[index] if index is not None else self.mark))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Loader(yaml.SafeLoader):
    path = "<config>"
    depth = 0

    def compose_node(self, parent, index):
        # PyYAML composes nested collections recursively: a document nested thousands deep
        # would end in RecursionError, so depth is capped here with the place it was passed.
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise PolicyError(f"{where(self.path, *_mark(self.peek_event()))}: nested deeper than "
                                  f"{MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    digits = sum(ch.isdigit() for ch in node.value)
    if digits > MAX_INT_DIGITS:
        raise PolicyError(f"{where(loader.path, *_mark(node))}: an integer of {digits} digits "
                          f"(at most {MAX_INT_DIGITS})")
    return loader.construct_yaml_int(node)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.marks, out.mark, out.path = {}, _mark(node), loader.path
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            raise PolicyError(f"{where(loader.path, *_mark(key_node))}: a mapping key must be a plain value, "
                              f"not a {'list' if isinstance(key, list) else 'mapping'}")
        if key in out:
            raise PolicyError(f"{where(loader.path, *_mark(key_node))}: duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.marks[key] = _mark(key_node)
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    out = LocatedList(loader.construct_object(item, deep=True) for item in node.value)
    out.marks, out.mark, out.path = [_mark(item) for item in node.value], _mark(node), loader.path
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(path: str | Path) -> Located:
    path = Path(path)
    text = _text_of(path)
    loader = _Loader(text)
    loader.path = str(path)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        position = (mark.line + 1, mark.column + 1) if mark else ()
        raise PolicyError(f"{where(path, *position)}: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: {error}") from None
    finally:
        loader.dispose()
    if not isinstance(document, Located):
        raise PolicyError(f"{path}:1:1: expected a mapping at the top level")
    return document


def _text_of(path: Path) -> str:
    """The file as text: at most MAX_YAML_BYTES of UTF-8 with no control characters YAML forbids."""
    try:
        data = read_at_most(path, MAX_YAML_BYTES)
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror or error}") from None
    if data is None:
        raise PolicyError(f"{path}: larger than {MAX_YAML_BYTES} bytes; not a configuration file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError(f"{where(path, *_position(data, error.start))}: not UTF-8 "
                          f"(byte 0x{data[error.start]:02x})") from None
    bad = _FORBIDDEN.search(text)
    if bad:
        raise PolicyError(f"{where(path, *_position(text, bad.start()))}: control character "
                          f"U+{ord(bad.group()):04X} is not allowed in YAML")
    return text


# What the YAML 1.1 reader refuses (it accepts tab, line feed, carriage return and NEL).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


def _position(data: bytes | str, offset: int) -> tuple[int, int]:
    before = data[:offset]
    newline = b"\n" if isinstance(before, bytes) else "\n"
    line = before.count(newline) + 1  # type: ignore[arg-type]
    return line, offset - (before.rfind(newline) + 1) + 1  # type: ignore[arg-type]
