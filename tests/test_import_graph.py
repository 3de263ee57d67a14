"""The stages' corridors run one way: read with the standard library's ast, every import in
monitor/ (lazy ones inside functions included, TYPE_CHECKING-only ones excluded) goes to the
same package or one further down this order, and the module graph has no circle."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import PROJECT

#: Lowest first. Packages of equal rank (canbus, net) must not import each other.
ORDER = [
    ("errors",), ("resources", "source", "limits"), ("timeline",), ("canbus", "net"), ("recordings",), ("config",), ("state",), ("detect",),
    ("policy",), ("alerts",), ("enforce", "fleet"), ("pipeline",), ("daemon",), ("testing", "scenarios"), ("bench",), ("cli",), ("__main__",),
]
RANK = {part: rank for rank, parts in enumerate(ORDER) for part in parts}
PACKAGE = PROJECT / "monitor"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, int]]:
    """(imported monitor module, line) for every import that runs."""
    tree = ast.parse(path.read_text(), str(path))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.startswith("monitor"):
                names = [f"{base}.{alias.name}" for alias in node.names]
                out += [(name if _is_module(name) else base, node.lineno) for name in names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("monitor")]
    return out


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PROJECT / relative).with_suffix(".py").is_file() or (PROJECT / relative / "__init__.py").is_file()


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "errors"  # the package itself sits at the bottom


def test_every_import_goes_down_or_stays_in_its_package():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_name(path)
        for target, line in imports(path):
            a, b = stage(here), stage(target)
            assert a in RANK and b in RANK, f"{path}: add {a if a not in RANK else b!r} to ORDER"
            if a != b and RANK[b] >= RANK[a]:
                upward.append(f"{path.relative_to(PROJECT)}:{line}: {here} imports {target} ({a} -> {b})")
    assert not upward, "\n".join(upward)


def test_the_module_graph_has_no_circle():
    graph = {module_name(p): {t for t, _ in imports(p) if t != module_name(p)} for p in PACKAGE.rglob("*.py")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt in graph and not state.get(nxt):
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if not state.get(module):
            visit(module, [module])


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule is not vacuous: the same reading finds an import of the pipeline in canbus."""
    fake = PACKAGE / "canbus" / "_probe_upward.py"
    fake.write_text("from ..pipeline import Monitor\n")
    try:
        assert [t for t, _ in imports(fake)] == ["monitor.pipeline"]
        assert RANK[stage("monitor.pipeline")] > RANK[stage(module_name(fake))]
    finally:
        fake.unlink()
