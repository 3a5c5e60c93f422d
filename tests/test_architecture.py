"""The package's shape: each layer imports only the layers below it, and no import circles at all: not between
subpackages, nor between the files of one package (imports inside functions and under TYPE_CHECKING count)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fer"

# Bottom to top. Subpackages on one rung are siblings and must not import each other.
LAYERS = [
    {"constants", "errors"},
    {"numbers", "outputs", "signals", "progress", "schedule"},
    {"data", "models"},
    {"checkpoints"},
    {"evaluation"},
    {"training", "inference"},
    {"api"},
    {"live", "service", "corpus"},
    {"cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def part_of(module: str) -> str | None:
    """'fer.data.load' -> 'data'; the root package itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "fer" else None


def imports(path: Path) -> set[str]:
    """Every fer module a file imports, at module level or inside functions."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fer.")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            if base.startswith("fer."):
                found.add(base)
            elif base == "fer":  # `from fer import data` names a subpackage; `from fer import __version__` does not
                found |= {f"fer.{a.name}" if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").is_file()
                          else "fer" for a in node.names}
    return found


def edges() -> list[tuple[str, str, str]]:
    """(importing file, its subpackage, imported subpackage) for every cross-subpackage import."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        src = part_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if src is None or src == "__init__":
            continue  # the root package only re-exports, lazily
        for target in imports(path):
            dst = part_of(target)
            if dst and dst != src:
                out.append((str(path.relative_to(PACKAGE.parent)), src, dst))
    return out


def test_every_subpackage_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}
    assert parts <= set(RANK), f"place these in LAYERS: {sorted(parts - set(RANK))}"


def test_imports_only_go_down():
    bad = [f"{f}: {src} (layer {RANK[src]}) imports {dst} (layer {RANK[dst]})"
           for f, src, dst in edges() if RANK[dst] >= RANK[src]]
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_no_cycles_between_subpackages():
    graph: dict[str, set[str]] = {}
    for _, src, dst in edges():
        graph.setdefault(src, set()).add(dst)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    cycles = sorted(s for s in graph if reaches(s, s, set()))
    assert not cycles, f"subpackages in an import cycle: {cycles}"


def module_of(path: Path) -> str:
    """fer/data/load.py -> 'fer.data.load'; fer/data/__init__.py -> 'fer.data'."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def file_graph() -> dict[str, set[str]]:
    """Module -> the fer modules (files) it imports, anywhere in it. `from fer.x import y` points at the file
    fer/x/y.py where there is one, else at fer/x/__init__.py, whose name y is."""
    files = {module_of(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names}
        graph[name] = {m for m in found if m in files and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_circles_between_files():
    found = circles(file_graph())
    assert not found, "modules that import each other, directly or round a circle:\n" + \
        "\n".join(" <-> ".join(group) for group in found)


def test_the_checker_sees_a_planted_circle_inside_one_package(tmp_path, monkeypatch):
    pkg = tmp_path / "fer" / "training"
    pkg.mkdir(parents=True)
    (pkg.parent / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "fit.py").write_text("from fer.training.budget import plan\n")
    (pkg / "budget.py").write_text("from . import warmup\n")
    (pkg / "warmup.py").write_text("def measure():\n    from fer.training.fit import build\n")
    (pkg / "report.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .plot import x\n")
    (pkg / "plot.py").write_text("from fer.training import report\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "fer")
    assert circles(file_graph()) == [["fer.training.budget", "fer.training.fit", "fer.training.warmup"],
                                     ["fer.training.plot", "fer.training.report"]]


def test_the_checker_sees_a_planted_upward_import(tmp_path, monkeypatch):
    pkg = tmp_path / "fer"
    (pkg / "data").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for d in (pkg, pkg / "data", pkg / "cli"):
        (d / "__init__.py").write_text("")
    (pkg / "data" / "bad.py").write_text("def f():\n    from fer.cli import entrypoint\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert ("fer/data/bad.py", "data", "cli") in edges()
