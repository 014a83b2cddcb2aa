"""Small helpers shared by the viz tests: reading DOT source back and counting graph nodes."""

from __future__ import annotations

import re
import shutil

import pytest

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")

_NODE = re.compile(r"^\s*(\w+) \[(.*)\]$", re.MULTILINE)
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.MULTILINE)


def dot_nodes(source: str) -> dict[str, str]:
    """node id -> its attribute text, for every node statement in a DOT source."""
    return {m.group(1): m.group(2) for m in _NODE.finditer(source)
            if m.group(1) not in ("graph", "node", "edge")}


def dot_edges(source: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _EDGE.finditer(source)]


def op_ids(source: str) -> list[str]:
    return [k for k, v in dot_nodes(source).items() if "class=op" in v]


def label_of(attrs: str) -> str:
    m = re.match(r"label=(<.*?>>|\"(?:[^\"\\]|\\.)*\"|\S+)", attrs)
    assert m, attrs
    return m.group(1)


def function_nodes(*outputs):
    """Every recorded Function node behind ``outputs`` (independent of viz's own walk)."""
    seen, stack = {}, [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        for e in n.next_functions or ():
            if e is not None and not e[0]._is_tensor:
                stack.append(e[0])
    return list(seen.values())
