"""YAML loading that remembers where each mapping key was, for file:line error messages."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import PolicyError, where


class Located(dict):
    """A mapping from a YAML file; ``line_of(key)`` is the 1-based line the key is on."""

    lines: dict
    line: int
    path: str

    def line_of(self, key) -> int:
        return self.lines.get(key, self.line)

    def at(self, key=None) -> str:
        return where(self.path, self.line_of(key) if key is not None else self.line)


class _Loader(yaml.SafeLoader):
    path = "<config>"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.lines, out.line, out.path = {}, node.start_mark.line + 1, loader.path
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise PolicyError(f"{where(loader.path, key_node.start_mark.line + 1)}: duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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
        line = mark.line + 1 if mark else None
        raise PolicyError(f"{where(path, line)}: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: {error}") from None
    finally:
        loader.dispose()
    if not isinstance(document, Located):
        raise PolicyError(f"{path}:1: expected a mapping at the top level")
    return document
