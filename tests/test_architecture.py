"""The import contract (issue 12), checked by walking the source with :mod:`ast`.

Every ``import`` counts, wherever it is: at module level, inside a function or under
``TYPE_CHECKING``.  The contract:

1. no cycles among the modules of ``hashfleet``;
2. the engine kernel (``hashfleet.engine``) imports no domain package;
3. domain packages import none of ``runner``, ``studies``, ``cli`` nor the composition root;
4. only the composition root, the runner, studies, the CLI and the package facade import
   the composition root (``hashfleet.model``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hashfleet"

DOMAIN = ("fleet", "market", "network", "policies", "finance", "results", "hpc")
ABOVE_DOMAIN = ("runner", "studies", "cli", "model")


def _modules() -> dict[str, Path]:
    out = {}
    for f in SRC.rglob("*.py"):
        parts = f.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of ``hashfleet`` a dotted name refers to (a module or a name in one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, source: str | None = None) -> set[str]:
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for name in names:
            if name == "hashfleet" or name.startswith("hashfleet."):
                owner = _owner(name)
                if owner is not None and owner != module:
                    found.add(owner)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components: every one is a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) == "engine"))
def test_engine_imports_no_domain(module: str) -> None:
    bad = sorted(i for i in GRAPH[module] if _layer(i) in (*DOMAIN, *ABOVE_DOMAIN, "day"))
    assert not bad, f"{module} imports {bad}: the engine kernel knows no domain"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) in DOMAIN))
def test_domain_imports_nothing_above_it(module: str) -> None:
    bad = sorted(i for i in GRAPH[module] if _layer(i) in ABOVE_DOMAIN or i == "hashfleet")
    assert not bad, f"{module} imports {bad}: domain packages sit below runner/studies/cli"


def test_the_walker_sees_imports_inside_functions() -> None:
    """A function-level import is an edge (the walker is not fooled by lazy imports)."""
    source = "def f():\n    from hashfleet.runner import simulate\n"
    probe = SRC / "probe.py"
    assert "hashfleet.runner" in _imports("hashfleet.probe", probe, source)
