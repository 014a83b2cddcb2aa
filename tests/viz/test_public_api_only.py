"""viz reads the recorded graph through ``microgradnet.autograd.graph``'s public API only."""

from __future__ import annotations

import ast
from pathlib import Path

import microgradnet.viz

NODE_PRIVATE = {"_saved", "_out", "_out_meta", "_hooks", "_n_out", "_site", "_versions",
                "_release", "_retain", "_mark_dirty", "_state", "_scratch", "_FREED"}


def _viz_sources():
    return sorted(Path(microgradnet.viz.__file__).parent.glob("*.py"))


def test_viz_reads_no_private_node_fields():
    seen = {}
    for path in _viz_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for n in ast.walk(tree):
            if isinstance(n, ast.Attribute) and n.attr in NODE_PRIVATE:
                seen.setdefault(path.name, []).append((n.lineno, n.attr))
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith(
                    "microgradnet.autograd"):
                bad = [a.name for a in n.names if a.name in NODE_PRIVATE]
                if bad:
                    seen.setdefault(path.name, []).append((n.lineno, bad))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and \
                    n.func.id == "getattr" and len(n.args) >= 2 and \
                    isinstance(n.args[1], ast.Constant) and n.args[1].value in NODE_PRIVATE:
                seen.setdefault(path.name, []).append((n.lineno, n.args[1].value))
    assert not seen, f"viz reads private node fields: {seen}"
    assert len(_viz_sources()) >= 7
