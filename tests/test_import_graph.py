"""The stages' corridors run one way: read with the standard library's ast, every import in
monitor/ goes to the same package or one further down this order, and the module graph has no
circle.

Three kinds of import are read, because an upward one of any kind ties a lower stage to a
higher one:
- the import statements that run, lazy ones inside functions included;
- the ones under ``if TYPE_CHECKING:`` (an annotation naming a higher stage is still a
  dependency on it: a type checker, and the reader, must load that stage to understand this
  one). They never run, so they do not count for circles;
- the module strings of the registries loaded with ``importlib.import_module`` (cli's
  SUBCOMMANDS, canbus's BACKENDS and LOG_READERS): every string value in a module-level
  assignment of a module that calls import_module, written ``monitor.x.y`` or relative
  (``.decode``, resolved against the module's package). A registry is imported by name at call
  time, after its own module has loaded, so it does not count for circles either.

The self-tests plant an upward import of each kind in a copy of the package in a temporary
folder: the checkout itself is never written.
"""

from __future__ import annotations

import ast
import re
import shutil
from importlib.util import resolve_name
from pathlib import Path
from typing import NamedTuple

import pytest

from .conftest import PROJECT

#: Lowest first. Packages of equal rank (canbus, net) must not import each other.
ORDER = [
    ("errors",), ("resources", "source", "limits", "native"), ("timeline",), ("canbus", "net"), ("recordings",), ("config",), ("state",), ("detect",),
    ("policy",), ("alerts",), ("enforce", "fleet"), ("pipeline",), ("daemon",), ("testing", "scenarios"), ("bench",), ("cli",), ("__main__",),
]
RANK = {part: rank for rank, parts in enumerate(ORDER) for part in parts}
PACKAGE = PROJECT / "monitor"
DOCS = PROJECT / "docs" / "architecture.md"

#: A registry value that names a module: absolute in monitor, or relative to the package.
MODULE_STRING = re.compile(r"(monitor(\.\w+)*|\.+\w+(\.\w+)*)")


class Import(NamedTuple):
    target: str  # the monitor module (or package) imported
    line: int
    how: str  # "runs", "type" (under TYPE_CHECKING) or "registry" (a module string)


class Upward(NamedTuple):
    path: str  # relative to the root, with /
    line: int
    here: str
    target: str
    how: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: {self.here} imports {self.target} "
                f"({stage(self.here)} -> {stage(self.target)}, {self.how})")


def module_name(path: Path, root: Path = PROJECT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = PROJECT) -> list[Import]:
    """Every import of a monitor module in one file: statements (running or type-only) and
    registry strings."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = _type_checking_nodes(tree)
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        how = "type" if id(node) in type_only else "runs"
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] == "monitor":
                names = [f"{base}.{alias.name}" for alias in node.names]
                out += [Import(name if _is_module(name, root) else base, node.lineno, how) for name in names]
        elif isinstance(node, ast.Import):
            out += [Import(alias.name, node.lineno, how) for alias in node.names if alias.name.split(".")[0] == "monitor"]
    return out + _registry_imports(tree, ".".join(package))


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """The nodes under the body (not the else) of ``if TYPE_CHECKING:``."""
    guarded = [node for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)]
    return {id(inner) for node in guarded for statement in node.body for inner in ast.walk(statement)}


def _registry_imports(tree: ast.Module, package: str) -> list[Import]:
    calls_import_module = any(
        isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "import_module"
                                        or getattr(node.func, "id", None) == "import_module")
        for node in ast.walk(tree))
    if not calls_import_module:
        return []
    values = [node.value for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value]
    return [Import(resolve_name(text, package), line, "registry")
            for value in values for text, line in _strings(value) if MODULE_STRING.fullmatch(text)]


def _strings(node: ast.expr):
    """The string constants in a registry's values (a dict's keys are names, not modules)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value, node.lineno
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value)
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            yield from _strings(element)


def _is_module(name: str, root: Path = PROJECT) -> bool:
    relative = Path(*name.split("."))
    return (root / relative).with_suffix(".py").is_file() or (root / relative / "__init__.py").is_file()


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "errors"  # the package itself sits at the bottom


def upward_imports(root: Path = PROJECT) -> list[Upward]:
    found = []
    for path in sorted((root / "monitor").rglob("*.py")):
        here = module_name(path, root)
        for target, line, how in imports(path, root):
            a, b = stage(here), stage(target)
            assert a in RANK and b in RANK, f"{path}: add {a if a not in RANK else b!r} to ORDER"
            if a != b and RANK[b] >= RANK[a]:
                found.append(Upward(path.relative_to(root).as_posix(), line, here, target, how))
    return found


def circle(root: Path = PROJECT) -> list[str]:
    """One import circle among the imports that run at import time or lazily, or []."""
    graph = {module_name(p, root): {i.target for i in imports(p, root) if i.how == "runs" and i.target != module_name(p, root)}
             for p in (root / "monitor").rglob("*.py")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt]
            if nxt in graph and not state.get(nxt):
                if found := visit(nxt, trail + [nxt]):
                    return found
        state[node] = 2
        return []

    for module in sorted(graph):
        if not state.get(module) and (found := visit(module, [module])):
            return found
    return []


def test_every_import_goes_down_or_stays_in_its_package():
    assert not (upward := upward_imports()), "\n".join(map(str, upward))


def test_the_module_graph_has_no_circle():
    assert not (found := circle()), "import circle: " + " -> ".join(found)


def test_every_registry_string_names_a_module():
    """A registry entry is an import by name: a typo would only fail when that entry is used."""
    named = [(path, i) for path in PACKAGE.rglob("*.py") for i in imports(path) if i.how == "registry"]
    assert {"monitor.cli.decode", "monitor.canbus.rawsocket", "monitor.canbus.live", "monitor.canbus.candump"} <= {i.target for _, i in named}
    assert [f"{p}:{i.line}: {i.target}" for p, i in named if not _is_module(i.target)] == []


def lab_imports(root: Path = PROJECT) -> list[str]:
    """Where the package reaches into the development lab (lab/, outside the wheel): import
    statements of any kind and module strings naming it. An installed gatewatch has no lab."""
    found = []
    for path in sorted((root / "monitor").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else [])
            found += [f"{path.relative_to(root).as_posix()}:{node.lineno}: {name}"
                      for name in names if name == "lab" or name.startswith("lab.")]
    return found


def test_the_package_never_imports_the_lab():
    assert lab_imports() == []


def test_the_wheel_packages_monitor_only():
    """setuptools' packages.find includes monitor and its subpackages: never lab/ or tests/
    (tests/test_wheel.py lists a built wheel's files)."""
    section = (PROJECT / "pyproject.toml").read_text().split("[tool.setuptools.packages.find]", 1)[1].split("\n[", 1)[0]
    assert section.strip() == 'include = ["monitor*"]'


def test_the_lab_checker_sees_an_import_of_the_lab(copy):
    (copy / "monitor" / "cli" / "_probe.py").write_text('def later():\n    import lab.score\n\nMODULES = ["lab.fuzz"]\n')
    assert lab_imports(copy) == ["monitor/cli/_probe.py:2: lab.score", "monitor/cli/_probe.py:4: lab.fuzz"]


def docs_order() -> list[tuple[str, ...]]:
    """The order as docs/architecture.md draws it: the indented lines of '## The import order'."""
    section = DOCS.read_text().split("## The import order", 1)[1].split("\n## ", 1)[0]
    drawn = " ".join(line.strip() for line in section.splitlines() if line.startswith("    "))
    return [tuple(part.strip() for part in rank.split(",")) for rank in drawn.split("→")]


def test_the_docs_draw_the_same_order():
    assert docs_order() == ORDER


# The self-tests: each plants one upward import in a copy of the package and expects exactly it.

@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "monitor", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return tmp_path


def plant(root: Path, relative: str, anchor: str, text: str) -> int:
    """Insert ``text`` before ``anchor`` in a copied file; the line the text lands on."""
    path = root / "monitor" / relative
    source = path.read_text()
    assert source.count(anchor) == 1, f"{relative}: the anchor {anchor!r} moved; pick another"
    path.write_text(source.replace(anchor, text + anchor))
    return source[: source.index(anchor)].count("\n") + 1


def test_the_copy_starts_clean(copy):
    assert upward_imports(copy) == [] and circle(copy) == []


def test_the_checker_sees_an_upward_import_statement(copy):
    (copy / "monitor" / "canbus" / "_probe.py").write_text("def later():\n    from ..pipeline import Monitor\n")
    assert upward_imports(copy) == [Upward("monitor/canbus/_probe.py", 2, "monitor.canbus._probe", "monitor.pipeline", "runs")]


@pytest.mark.parametrize("guard", ["TYPE_CHECKING", "typing.TYPE_CHECKING"])
def test_the_checker_sees_an_upward_import_under_type_checking(copy, guard):
    (copy / "monitor" / "canbus" / "_probe.py").write_text(
        f"import typing\nfrom typing import TYPE_CHECKING\n\nif {guard}:\n    from ..alerts.log import AlertLog\n"
        "else:\n    AlertLog = None\n")
    assert upward_imports(copy) == [Upward("monitor/canbus/_probe.py", 5, "monitor.canbus._probe", "monitor.alerts.log", "type")]


@pytest.mark.parametrize(("relative", "anchor", "entry", "target"), [
    ("canbus/buses.py", '    "socketcan": (', '    "probe": ("monitor.pipeline", "Monitor"),\n', "monitor.pipeline"),
    ("canbus/buses.py", '    "socketcan": (', '    "probe": ("..detect.base", "Detector"),\n', "monitor.detect.base"),
    ("canbus/logs.py", '    ".log": (', '    ".probe": ("monitor.recordings", "CanLogSource"),\n', "monitor.recordings"),
    ("cli/__init__.py", '    "decode": (', '    "probe": ("monitor.__main__", "start it"),\n', "monitor.__main__"),
], ids=["buses", "buses-relative", "logs", "cli"])
def test_the_checker_sees_an_upward_import_in_a_registry_string(copy, relative, anchor, entry, target):
    line = plant(copy, relative, anchor, entry)
    here = module_name(copy / "monitor" / relative, copy)
    assert upward_imports(copy) == [Upward(f"monitor/{relative}", line, here, target, "registry")]


def test_the_checker_sees_a_circle_that_runs_and_not_one_that_only_types(copy):
    (copy / "monitor" / "net" / "_a.py").write_text("from . import _b\n")
    (copy / "monitor" / "net" / "_b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import _a\n")
    assert circle(copy) == []
    (copy / "monitor" / "net" / "_b.py").write_text("def later():\n    from . import _a\n")
    assert circle(copy) == ["monitor.net._a", "monitor.net._b", "monitor.net._a"]
