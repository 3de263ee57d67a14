"""YAML loading that remembers where each mapping key and list item was, for file:line:column
error messages."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..errors import PolicyError, where


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

    def line_of(self, key) -> int:
        return self.marks.get(key, self.mark)[0]

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


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.marks, out.mark, out.path = {}, _mark(node), loader.path
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
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


def load_yaml(path: str | Path) -> Located:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror}") from None
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
