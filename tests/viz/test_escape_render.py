"""Every label is escaped; rendering falls back to graphviz-pure and fails with a clear message."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microgradnet as mg
from microgradnet.viz import escape, render
from tests.viz.helpers import dot_nodes, needs_dot

NASTY = ['say "hi"', "<b>bold</b>", "a & b", "{braces}", "back\\slash", "ends\\", "two\nlines",
         "\\N \\l \\G", "]]>", "tab\there", "nul\x00", "<>", '"', "-> edge", "é ∂ 🙂"]


def _graph_with_names(names):
    ts = [mg.tensor(float(i + 1), requires_grad=True, name=n) for i, n in enumerate(names)]
    out = ts[0] * 1.0
    for t in ts[1:]:
        out = out + t
    out.name = names[-1]
    return out, ts


def test_attr_text_never_leaves_an_unescaped_quote_or_odd_backslash():
    for name in NASTY:
        s = str(escape.attr_text(name))
        assert "\n" not in s
        assert not re.search(r'(?<!\\)(\\\\)*"', s)  # every quote escaped
        assert (len(s) - len(s.rstrip("\\"))) % 2 == 0  # no dangling escape at the end


def test_html_text_has_no_markup_left():
    for name in NASTY:
        s = escape.html_text(name, limit=None)
        assert "<" not in s.replace("<BR/>", "") and ">" not in s.replace("<BR/>", "")
        assert not re.search(r"&(?!amp;|lt;|gt;|quot;)", s)


def test_nasty_names_keep_the_source_well_formed():
    out, ts = _graph_with_names(NASTY)
    src = mg.viz.draw_graph(out, params={n: t for n, t in zip(NASTY, ts)}).source
    nodes = dot_nodes(src)  # every node statement is still one parseable line
    assert len(nodes) == 2 * len(NASTY) + len(NASTY)  # leaves + ops + tensors after each op
    assert "&lt;b&gt;bold&lt;/b&gt;" in src and "a &amp; b" in src


@needs_dot
def test_nasty_names_render_with_dot():
    out, ts = _graph_with_names(NASTY)
    g = mg.viz.draw_graph(out, params={n: t for n, t in zip(NASTY, ts)}, show_data=True)
    svg = g.pipe(format="svg").decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in svg and "{braces}" in svg


@needs_dot
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=3))
def test_any_name_renders(names):
    out, ts = _graph_with_names(names)
    modules = {f"{n}.w": t for n, t in zip(names, ts)}
    g = mg.viz.draw_graph(out, params=modules, show_data=True, show_grad=True)
    assert g.pipe(format="svg").lstrip().startswith(b"<?xml")
    assert g.copy().pipe(format="svg")  # the same source twice renders the same way


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=20))
def test_any_name_gives_one_statement_per_node(name):
    x = mg.tensor(1.0, requires_grad=True, name=name)
    src = mg.viz.draw_graph(x * 2.0).source
    assert len(dot_nodes(src)) == 3


def test_fallback_to_graphviz_pure(monkeypatch):
    pure = render._pure_binary()
    if pure is None:
        pytest.skip("graphviz-pure is not installed (pip install 'microgradnet[render]')")
    monkeypatch.setattr(render.shutil, "which", lambda name: None if name == "dot" else pure)
    assert render.find_renderer() == ("graphviz-pure", pure)
    x = mg.tensor(np.ones(2), requires_grad=True)
    g = mg.viz.draw_graph((x * x).sum())
    assert b"<svg" in g.pipe(format="svg")
    assert g.pipe(format="png").startswith(b"\x89PNG")
    with pytest.raises(render.RendererNotFound, match="SVG and PNG"):
        g.pipe(format="pdf")
    from graphviz.backend import dot_command

    assert str(dot_command.DOT_BINARY) == "dot"  # the graphviz package is left as it was


def test_no_renderer_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    monkeypatch.setattr(render, "_pure_binary", lambda: None)
    assert render.find_renderer() is None
    x = mg.tensor(1.0, requires_grad=True)
    g = mg.viz.draw_graph(x * x)
    assert "mul" in g.source  # building and the DOT source need no executable
    with pytest.raises(render.RendererNotFound, match="apt install graphviz") as info:
        g.pipe(format="svg")
    assert "microgradnet[render]" in str(info.value)
    import graphviz

    assert isinstance(info.value, graphviz.ExecutableNotFound)  # callers catching it still do
