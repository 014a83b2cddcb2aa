"""Imports point only down the stack: core -> functional -> nn -> optim -> data -> train -> viz
-> cli. optim never imports nn; nothing but the cli imports viz (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "microgradnet"

# Rank of each layer; a module may import only from its own rank or lower.
LAYERS = {
    "functional": 1,
    "integrate": 1,
    "nn": 2,
    "optimize": 2,
    "optim": 3,
    "data": 4,
    "train": 5,
    "compile": 5,
    "serialization": 1,
    "viz": 6,
    "cli": 7,
    "__main__": 7,
}
CORE = 0


def _layer(parts: tuple[str, ...]) -> int:
    return LAYERS.get(parts[0].removesuffix(".py"), CORE) if parts else CORE


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return [n for n in names if n.startswith("microgradnet.")]


def test_imports_point_down_the_stack() -> None:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).parts
        if rel == ("__init__.py",):
            continue  # the package root re-exports every layer
        own = _layer(rel)
        for name in _imports(path):
            target = tuple(name.split(".")[1:])
            if _layer(target) > own:
                bad.append(f"{'/'.join(rel)} imports {name}")
    assert not bad, "imports that point up the stack:\n" + "\n".join(bad)


def test_optim_never_imports_nn() -> None:
    for path in sorted((PKG / "optim").rglob("*.py")):
        assert not any(n.startswith("microgradnet.nn") for n in _imports(path)), path


def test_rule_is_enforced() -> None:
    """The check can fail: an nn module importing the cli is flagged."""
    assert _layer(("cli.py",)) > _layer(("nn", "module.py"))
    assert _layer(("nn",)) > _layer(("functional.py",))
