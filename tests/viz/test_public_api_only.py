"""viz reads the recorded graph through ``microgradnet.autograd.graph``'s public API and the
Tensor's public attributes only."""

from __future__ import annotations

import ast
from pathlib import Path

import microgradnet.viz

NODE_PRIVATE = {"_saved", "_out", "_out_meta", "_hooks", "_n_out", "_site", "_versions",
                "_release", "_retain", "_mark_dirty", "_state", "_scratch", "_FREED",
                "_is_tensor"}
# a Tensor's private fields: ``t.output_nr``, ``t.requires_grad``, ``t.name`` are public
TENSOR_PRIVATE = {"_output_nr", "_vc", "_meta", "_requires_grad", "_make"}
PRIVATE = NODE_PRIVATE | TENSOR_PRIVATE


def _viz_sources():
    return sorted(Path(microgradnet.viz.__file__).parent.glob("*.py"))


def _private_reads(source: str) -> list:
    """(line, name) for every private node or tensor field the source reads: attributes,
    names imported from microgradnet.autograd, and getattr with a constant name."""
    seen = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Attribute) and n.attr in PRIVATE:
            seen.append((n.lineno, n.attr))
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith(
                "microgradnet.autograd"):
            bad = [a.name for a in n.names if a.name in PRIVATE]
            if bad:
                seen.append((n.lineno, bad))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and \
                n.func.id == "getattr" and len(n.args) >= 2 and \
                isinstance(n.args[1], ast.Constant) and n.args[1].value in PRIVATE:
            seen.append((n.lineno, n.args[1].value))
    return sorted(seen, key=lambda s: s[0])


def test_viz_reads_no_private_node_fields():
    seen = {}
    for path in _viz_sources():
        found = _private_reads(path.read_text(encoding="utf-8"))
        if found:
            seen[path.name] = found
    assert not seen, f"viz reads private node or tensor fields: {seen}"
    assert len(_viz_sources()) >= 7


def test_the_check_flags_private_reads():
    src = ("k = (id(t.grad_fn), t._output_nr)\n"
           "leaf = target._is_tensor\n"
           "h = getattr(node, '_hooks', None)\n"
           "from microgradnet.autograd.function import _FREED\n"
           "ok = (t.output_nr, graph.hooks(node))\n")
    assert _private_reads(src) == [(1, "_output_nr"), (2, "_is_tensor"), (3, "_hooks"),
                                   (4, ["_FREED"])]
