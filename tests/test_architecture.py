"""The package's shape: each layer imports only the layers below it, and no two subpackages import each other."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fer"

# Bottom to top. Subpackages on one rung are siblings and must not import each other.
LAYERS = [
    {"constants", "errors"},
    {"data", "models"},
    {"checkpoints"},
    {"evaluation"},
    {"training", "inference"},
    {"api"},
    {"live", "service"},
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
            elif base == "fer":
                found |= {f"fer.{a.name}" for a in node.names}
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


def test_the_checker_sees_a_planted_upward_import(tmp_path, monkeypatch):
    pkg = tmp_path / "fer"
    (pkg / "data").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for d in (pkg, pkg / "data", pkg / "cli"):
        (d / "__init__.py").write_text("")
    (pkg / "data" / "bad.py").write_text("def f():\n    from fer.cli import entrypoint\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert ("fer/data/bad.py", "data", "cli") in edges()
